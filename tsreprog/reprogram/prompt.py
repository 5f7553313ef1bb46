"""Prompt-as-prefix, built for a whole batch with tensor operations.

The template's fixed text is tokenised once (cached ids). Statistics are computed for the batch at once and
written character by character (``+1.23``, lags as zero-padded integers), each character mapped to its own token,
so every prompt has the same length and no Python string is formatted in the forward pass. Values are on the
RevIN-normalised scale, clipped to ±9.99: three significant digits are all a frozen language model can use, and
short numbers keep the prompt (a cost paid by every backbone layer) small.

Two forms. ``full`` is Time-LLM's (dataset description, task sentence, every statistic; ~95 tokens on MiniLM, 60%
of the backbone's tokens at look-back 512). ``compact`` carries the same kinds of information in at most
``COMPACT_MAX_TOKENS``: the description's first tokens, "next H:", min, max and trend to one decimal and the top two
lags (the median is left out: min and max already place the level).
"""

from __future__ import annotations

import torch
from torch import nn

from tsreprog.backbones.tokenizer import PromptTokenizer

STATISTICS = ("min", "max", "median", "trend", "lags")
PROMPT_FORMS = ("full", "compact", "none")
COMPACT_MAX_TOKENS = 32
_COMPACT_STATISTICS = ("min", "max", "trend", "lags")
_COMPACT_LAGS = 2
_COMPACT_DESCRIPTION_TOKENS = 4
_CHARS = "0123456789+-.,"
_VALUE_CLIP = 9.99


def series_statistics(x: torch.Tensor, n_lags: int = 5) -> dict[str, torch.Tensor]:
    """Statistics of each row of x (N, L): min, max, median, trend (slope of the least-squares line times L-1,
    i.e. the fitted rise over the window) and the top ``n_lags`` lags of the linear autocorrelation (lag ≥ 1)."""
    n, length = x.shape
    ordered = x.sort(dim=-1).values
    median = 0.5 * (ordered[:, (length - 1) // 2] + ordered[:, length // 2])
    t = torch.arange(length, dtype=x.dtype, device=x.device)
    t = t - t.mean()
    centred = x - x.mean(dim=-1, keepdim=True)
    slope = (centred * t).sum(-1) / (t * t).sum()
    spectrum = torch.fft.rfft(centred.float(), n=2 * length, dim=-1)
    acf = torch.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=2 * length, dim=-1)[:, 1:length]
    k = min(n_lags, length - 1)
    lags = acf.topk(k, dim=-1).indices + 1
    return {"min": ordered[:, 0], "max": ordered[:, -1], "median": median, "trend": slope * (length - 1),
            "lags": lags}


def value_chars(values: torch.Tensor, decimals: int = 2) -> torch.Tensor:
    """(N,) floats → (N, 3 + decimals) indices into ``_CHARS`` spelling sign, d, '.', then the decimals."""
    scale = 10 ** decimals
    clipped = values.clamp(-_VALUE_CLIP, _VALUE_CLIP)
    units = torch.round(clipped.abs() * scale).long().clamp(max=10 * scale - 1)  # 9.99 stays one integer digit
    sign = torch.where(clipped < 0, _CHARS.index("-"), _CHARS.index("+"))
    dot = torch.full_like(sign, _CHARS.index("."))
    fraction = [(units // 10 ** k) % 10 for k in range(decimals - 1, -1, -1)]
    return torch.stack([sign, units // scale, dot, *fraction], dim=-1)


def integer_chars(values: torch.Tensor, width: int) -> torch.Tensor:
    """(N, k) non-negative ints → (N, k, width) digit indices, zero-padded."""
    powers = 10 ** torch.arange(width - 1, -1, -1, device=values.device)
    return (values.unsqueeze(-1) // powers) % 10


class PromptPrefix(nn.Module):
    """Turns a batch of normalised series into prompt token ids (N, T) with T fixed for the configuration."""

    def __init__(self, tokenizer: PromptTokenizer, description: str, lookback: int, horizon: int,
                 statistics: tuple[str, ...] = STATISTICS, n_lags: int = 5, form: str = "full") -> None:
        super().__init__()
        from tsreprog.errors import ConfigError

        unknown = set(statistics) - set(STATISTICS)
        if unknown:
            raise ConfigError(f"unknown prompt statistic(s) {', '.join(sorted(unknown))} (use {', '.join(STATISTICS)})")
        if form not in ("full", "compact"):
            raise ConfigError(f"unknown prompt form '{form}' (use full or compact)")
        self.form = form
        compact = form == "compact"
        self.statistics = tuple(s for s in (_COMPACT_STATISTICS if compact else STATISTICS) if s in statistics)
        self.n_lags = min(_COMPACT_LAGS if compact else n_lags, lookback - 1)
        self.lag_width = len(str(lookback - 1))
        self.decimals = 1 if compact else 2
        pieces: list[tuple[str, str]] = []  # ("text", ...) or ("slot", statistic name)
        if compact:
            pieces.append(("text", f" next {horizon}:"))
        else:
            head = f"Dataset description: {description.strip()} " if description.strip() else ""
            head += (f"Task description: forecast the next {horizon} steps given the previous {lookback} steps; "
                     "Input statistics:")
            pieces.append(("text", head))
        for name in self.statistics:
            label = f" top {self.n_lags} lags" if name == "lags" and not compact else f" {name}"
            pieces.append(("text", label))
            pieces.append(("slot", name))
        if not compact:
            pieces.append(("text", "."))

        char_ids = torch.tensor([tokenizer.char_id(c) for c in _CHARS])
        ids: list[int] = []
        slots: dict[str, list[int]] = {}
        for kind, value in pieces:
            if kind == "text":
                ids.extend(tokenizer.encode(value))
                continue
            width = self.n_lags * (self.lag_width + 1) - 1 if value == "lags" else 3 + self.decimals
            slots[value] = list(range(len(ids), len(ids) + width))
            ids.extend([0] * width)
        if compact:  # the description's first words fill what the budget leaves, at most a few tokens
            room = max(0, min(_COMPACT_DESCRIPTION_TOKENS, COMPACT_MAX_TOKENS - len(ids)))
            domain = tokenizer.encode(description.strip())[:room] if description.strip() else []
            ids = domain + ids
            slots = {name: [p + len(domain) for p in positions] for name, positions in slots.items()}
        # The leading tokens before the first statistic are the same for every series (causal backbones run them
        # once, as a cached prefix).
        self.constant_length = min((p for positions in slots.values() for p in positions), default=len(ids))
        self.register_buffer("template", torch.tensor(ids, dtype=torch.long), persistent=False)
        self.register_buffer("char_ids", char_ids, persistent=False)
        for name, positions in slots.items():
            self.register_buffer(f"slot_{name}", torch.tensor(positions, dtype=torch.long), persistent=False)

    @property
    def length(self) -> int:
        return int(self.template.numel())

    def _lag_chars(self, lags: torch.Tensor) -> torch.Tensor:
        digits = integer_chars(lags, self.lag_width)  # (N, k, w)
        comma = torch.full((*digits.shape[:2], 1), _CHARS.index(","), device=lags.device, dtype=digits.dtype)
        return torch.cat([digits, comma], dim=-1).flatten(1)[:, :-1]

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: normalised series (N, L) → token ids (N, T)."""
        stats = series_statistics(x.float(), self.n_lags)
        chars = [self._lag_chars(stats["lags"]) if name == "lags" else value_chars(stats[name], self.decimals)
                 for name in self.statistics]
        positions = torch.cat([getattr(self, f"slot_{name}") for name in self.statistics])
        dynamic = self.char_ids[torch.cat(chars, dim=-1)]
        # Out-of-place scatter (not index_put_), so the prompt also works under torch.func.vmap (the NTK).
        template = self.template.expand(x.shape[0], -1)
        return template.scatter(1, positions.expand(x.shape[0], -1), dynamic)
