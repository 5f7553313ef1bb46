"""Empirical neural tangent kernel with respect to trainable parameters only.

Two paths share the feature engine (:mod:`tsreprog.ntk.features`):

- generic: any ``nn.Module`` and parameter filter (default: ``requires_grad``); f(x) flattened to O outputs.
- structured, for :class:`~tsreprog.models.ReprogrammedForecaster` (exact same kernel, far cheaper):
  * the text prototypes reach the model only through their keys and values Z = S·Bᵀ + c (V' × 2hk, B = [W_k; W_v],
    2hk = 64 by default), with S = W·E + b. Differentiating at Z gives A = ∂f/∂Z, and then
    ∂f/∂W = A·B·Eᵀ, ∂f/∂b = A·B·1, ∂f/∂(B, c) = Aᵀ·[S, 1]. Their kernel terms are ⟨A_i·R, A_j·R⟩ with
    R Rᵀ = B(EᵀE + 11ᵀ)Bᵀ (2hk × 2hk, computed once) and ⟨A_iᵀ[S,1], A_jᵀ[S,1]⟩: the V' × V Jacobian of the
    prototype map (30.5M columns for MiniLM) is never formed, and each feature costs O(V'·2hk·(2hk + d));
  * the linear head f = σ·(W_h·h + b_h) + μ (σ, μ from RevIN) contributes O·σ_iσ_j(⟨h_i, h_j⟩ + 1) to the traced
    kernel in closed form, and the upstream layers are differentiated with the probe pulled back through the head,
    so backward passes start at h instead of at the O outputs.

Modes: ``exact`` (one-hot probes over every output: the exact traced kernel), ``sketch`` (``n_probes`` Rademacher
probes: unbiased for the traced kernel, cost independent of O), and ``full=True`` for the (N·O) × (N·O) kernel.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch
from einops import rearrange
from torch import nn
from torch.func import functional_call

from tsreprog.ntk.features import probe_features, rademacher


@dataclass
class NTKResult:
    kernel: torch.Tensor | None  # (N, N) traced, or (N·O, N·O) full; None in matrix-free mode
    outputs: torch.Tensor  # f(x) at the current parameters, (N, O)
    n_parameters: int
    mode: str
    n_probes: int
    operator: "KernelOperator | None" = None
    # With ``blocks=True``: the traced kernel split by parameter tensor (Σ of the blocks = ``kernel``), and each
    # block's true number of parameters — what an optimiser that normalises per tensor (Adam-like) needs.
    block_kernels: dict[str, torch.Tensor] | None = None
    block_sizes: dict[str, int] | None = None


@dataclass
class NTKOptions:
    mode: str = "exact"
    n_probes: int = 8
    full: bool = False
    matrix_free: bool = False
    seed: int = 0
    chunk: int = 16
    probe_chunk: int = 8
    dtype: torch.dtype = torch.float32
    progress: bool = False
    blocks: bool = False


class KernelOperator:
    """Matrix-free traced NTK: K·v = scale·Σ_k Φ_k(Φ_kᵀ v) (+ a low-rank closed-form part), K never formed.

    Memory is that of the features (N × probes × D), not N²; with :func:`tsreprog.ntk.lanczos_extremes` this gives
    the extreme eigenvalues for N far beyond what an N × N eigendecomposition allows."""

    def __init__(self, features: torch.Tensor, scale: float, low_rank: tuple[torch.Tensor, float] | None = None):
        self.features = features.reshape(features.shape[0], -1)  # (N, k·D)
        self.scale = scale
        self.low_rank = low_rank  # (U, c): adds c·U Uᵀ

    @property
    def size(self) -> int:
        return self.features.shape[0]

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """K·v, on the device ``v`` came from (the features may sit on a GPU, the Lanczos basis on the CPU)."""
        device = v.device
        v = v.to(self.features)
        out = self.scale * (self.features @ (self.features.T @ v))
        if self.low_rank is not None:
            u, c = self.low_rank
            out = out + c * (u @ (u.T @ v.to(u.dtype))).to(out.dtype)
        return out.to(device)


def _split_params(model: nn.Module, param_filter: Callable[[str, nn.Parameter], bool] | None):
    keep = param_filter or (lambda name, p: p.requires_grad)
    params = {n: p.detach() for n, p in model.named_parameters() if keep(n, p)}
    rest = {n: t.detach() for n, t in model.state_dict(keep_vars=True).items() if n not in params}
    return params, rest


def _probes(mode: str, n_outputs: int, n_probes: int, seed: int, dtype: torch.dtype,
            device: torch.device | str = "cpu") -> torch.Tensor:
    """(k, O) probe directions on ``device``: identity rows for exact mode, Rademacher rows for sketch mode (drawn
    on the CPU, so a seed gives the same probes on every device)."""
    if mode == "exact":
        return torch.eye(n_outputs, dtype=dtype, device=device)
    if mode != "sketch":
        raise ValueError(f"unknown NTK mode '{mode}' (exact or sketch)")
    return rademacher((n_probes, n_outputs), torch.Generator().manual_seed(seed), dtype).to(device)


def _accumulate(feature_blocks, n: int, n_out: int, full: bool, scale: float,
                progress: Callable | None, keep: bool = False,
                splits: dict[str, tuple[int, int]] | None = None) -> torch.Tensor | dict[str, torch.Tensor]:
    """Traced: Σ_k Φ_k Φ_kᵀ · scale over probe blocks (N, k, D). Full (exact probes only): block (o, o') = Φ_o Φ_o'ᵀ.
    ``splits`` (name → feature columns [start, stop)): one traced kernel per parameter group instead of their sum."""
    kernel, blocks, grams = None, [], {}
    covered = max(stop for _, stop in splits.values()) if splits else 0
    for features in feature_blocks:
        if full or keep:
            blocks.append(features)
        elif splits is not None:
            if covered != features.shape[-1]:
                raise RuntimeError(f"parameter groups cover {covered} feature columns, the features have "
                                   f"{features.shape[-1]}")
            for name, (start, stop) in splits.items():
                flat = features[..., start:stop].reshape(n, -1)
                grams[name] = flat @ flat.T + grams[name] if name in grams else flat @ flat.T
        else:
            flat = features.reshape(n, -1)
            kernel = flat @ flat.T if kernel is None else kernel + flat @ flat.T
        if progress:
            progress(features.shape[1])
    if keep:
        return torch.cat(blocks, dim=1)
    if splits is not None:
        return {name: gram * scale for name, gram in grams.items()}
    if not full:
        return kernel * scale
    stacked = torch.cat(blocks, dim=1).reshape(n * n_out, -1)  # rows ordered (sample, output)
    return stacked @ stacked.T


def _probe_blocks(probes: torch.Tensor, size: int):
    return [probes[i:i + size] for i in range(0, len(probes), size)]


@contextmanager
def vmap_friendly_attention():
    """SDPA's math backend while the kernel is computed: the fused kernels (flash on CPU, some CUDA kernels) have no
    vmap batching rule and would run once per sample. Every attention here goes through SDPA (ours, torch's layers,
    HF's "sdpa" implementation), so one switch covers them all; restored on exit."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(SDPBackend.MATH):
        yield


@torch.no_grad()  # torch.func's vjp still differentiates inside; nothing outside builds a graph
def empirical_ntk(model: nn.Module, x: torch.Tensor, mode: str = "exact", n_probes: int = 8, full: bool = False,
                  seed: int = 0, chunk: int = 16, dtype: torch.dtype = torch.float32,
                  param_filter: Callable[[str, nn.Parameter], bool] | None = None,
                  structured: bool = True, progress: bool = False, probe_chunk: int = 8,
                  matrix_free: bool = False, memory_mb: float | None = None, blocks: bool = False) -> NTKResult:
    """NTK of ``model`` on inputs ``x`` (N, ...) w.r.t. its trainable (or filtered) parameters.

    ``matrix_free`` returns a :class:`KernelOperator` instead of the N × N matrix; ``memory_mb`` caps the size of
    one batch of per-sample features by choosing the sample chunk (overrides ``chunk``); ``blocks`` also returns
    the traced kernel of each parameter tensor (``block_kernels``, summing to ``kernel``)."""
    if full and mode != "exact":
        raise ValueError("the full (N·O) kernel needs mode='exact'")
    if full and matrix_free:
        raise ValueError("matrix-free mode gives the traced kernel; the full kernel is formed explicitly")
    if blocks and (full or matrix_free):
        raise ValueError("block kernels are traced N × N matrices: not with full=True or matrix_free=True")
    options = NTKOptions(mode, n_probes, full, matrix_free, seed, chunk, probe_chunk, dtype, progress, blocks)
    was_training = model.training
    model.eval()
    try:
        with vmap_friendly_attention():
            from tsreprog.models.reprogrammed import ReprogrammedForecaster

            # The structured path differentiates at the prototypes' keys and values and through a frozen
            # backbone; an adapted backbone (adapt: layernorm | lora) trains weights inside it: the generic path.
            frozen = getattr(getattr(model, "backbone", None), "adaptation", "none") == "none"
            if structured and isinstance(model, ReprogrammedForecaster) and param_filter is None and frozen:
                return _reprogrammed_ntk(model, x, options, memory_mb)
            return _generic_ntk(model, x, options, param_filter, memory_mb)
    finally:
        model.train(was_training)


def _chunk_for_budget(options: NTKOptions, feature_dim: int, memory_mb: float | None) -> int:
    """Samples per vmapped batch so that one batch of features (samples × probes × D) fits ``memory_mb``; the
    backward passes need about as much again, hence the factor 3."""
    if memory_mb is None:
        return options.chunk
    per_sample = 3 * min(options.probe_chunk, options.n_probes if options.mode == "sketch" else 10**9) \
        * feature_dim * torch.finfo(options.dtype).bits / 8
    return max(1, int(memory_mb * 2**20 // per_sample))


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None, None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="NTK probes", leave=False)
    return bar, bar.update


def _finish(blocks, n, n_out, options, scale, tick, low_rank=None, splits=None):
    """Traced or full kernel from the feature blocks, or the matrix-free operator over them; with ``splits``, the
    traced kernel's per-group parts as a dict."""
    if options.matrix_free:
        return None, KernelOperator(_accumulate(blocks, n, n_out, False, scale, tick, keep=True), scale, low_rank)
    return _accumulate(blocks, n, n_out, options.full, scale, tick, splits=splits), None


def _column_splits(dims: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Consecutive feature-column ranges, in the order the features are concatenated."""
    splits, start = {}, 0
    for name, dim in dims.items():
        splits[name] = (start, start + dim)
        start += dim
    return splits


def _generic_ntk(model, x, options: NTKOptions, param_filter, memory_mb) -> NTKResult:
    dtype = options.dtype
    params, rest = _split_params(model, param_filter)
    chunk = _chunk_for_budget(options, sum(p.numel() for p in params.values()), memory_mb)

    def fn(p, sample):
        return functional_call(model, {**p, **rest}, (sample[None],)).reshape(-1).to(dtype)

    with torch.no_grad():
        outputs = torch.cat([functional_call(model, {**params, **rest}, (x[i:i + chunk],)).reshape(
            len(x[i:i + chunk]), -1) for i in range(0, len(x), chunk)]).to(dtype)
    n, n_out = outputs.shape
    probes = _probes(options.mode, n_out, options.n_probes, options.seed, dtype, outputs.device)
    scale = 1.0 if options.mode == "exact" else 1.0 / len(probes)
    bar, tick = _progress_bar(len(probes), options.progress)
    features = (probe_features(fn, params, x, block.expand(n, -1, -1), chunk=chunk)
                for block in _probe_blocks(probes, options.probe_chunk))
    sizes = {name: p.numel() for name, p in params.items()}
    splits = _column_splits(sizes) if options.blocks else None
    kernel, operator = _finish(features, n, n_out, options, scale, tick, splits=splits)
    if bar:
        bar.close()
    n_params = sum(sizes.values())
    if options.blocks:
        return NTKResult(sum(kernel.values()), outputs, n_params, options.mode, len(probes),
                         block_kernels=kernel, block_sizes=sizes)
    return NTKResult(kernel, outputs, n_params, options.mode, len(probes), operator)


def gram_root(embeddings: torch.Tensor, dtype: torch.dtype, projection: torch.Tensor | None = None) -> torch.Tensor:
    """R with R Rᵀ = B(EᵀE + 11ᵀ)Bᵀ (B = ``projection``, identity when None): the metric in which the prototype
    map's gradient (weights and bias) is measured once it is pulled back through B."""
    e = embeddings.to(torch.float64)
    gram = e.T @ e + torch.ones(e.shape[1], e.shape[1], dtype=torch.float64, device=e.device)
    if projection is not None:
        b = projection.to(torch.float64)
        gram = b @ gram @ b.T
    values, vectors = torch.linalg.eigh(gram)
    return (vectors * values.clamp_min(0).sqrt()).to(dtype)


class _PatchHidden(nn.Module):
    """Exposes ``model.patch_hidden`` as a module forward, so torch.func.functional_call can drive it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.m = model

    def forward(self, series: torch.Tensor, keys_values: torch.Tensor) -> torch.Tensor:
        return self.m.patch_hidden(series, keys_values, prefix_cache=False)[0]


def _reprogrammed_ntk(model, x, options: NTKOptions, memory_mb) -> NTKResult:
    head = model.head
    if not isinstance(head.reduce, nn.Identity) or (options.full or options.matrix_free) and x.shape[-1] > 1 \
            or model.quantiles:
        return _generic_ntk(model, x, options, None, memory_mb)
    dtype, full = options.dtype, options.full
    params, rest = _split_params(model, None)
    head_names = {"head.proj.weight", "head.proj.bias"}
    kv_names = {"prototypes.mix.weight", "prototypes.mix.bias", "reprogramming.key.weight",
                "reprogramming.key.bias", "reprogramming.value.weight", "reprogramming.value.bias"}
    upstream = {k: v for k, v in params.items() if k not in head_names | kv_names}
    attention = model.reprogramming
    embeddings = model.prototypes._embeddings[0].index_select(0, model.prototypes.rows).to(dtype)
    with torch.no_grad():
        prototypes = model.prototypes().detach().to(dtype)
        upstream["__kv__"] = attention.project(prototypes.to(attention.key.weight.dtype)).detach()
    projection = torch.cat([attention.key.weight, attention.value.weight]).detach().to(dtype)  # B: (2hk, d)
    root = gram_root(embeddings, dtype, projection)
    prototypes_1 = torch.cat([prototypes, prototypes.new_ones(len(prototypes), 1)], dim=1)  # [S, 1]
    frozen = {**rest, **{k: v for k, v in params.items() if k in head_names | kv_names}}

    def kv_features(a: torch.Tensor) -> torch.Tensor:
        """A = ∂f/∂Z (..., V', 2hk) → features of the prototype map and of the key/value projections."""
        a = a.to(dtype)
        return torch.cat([(a @ root).flatten(-2), (a.transpose(-1, -2) @ prototypes_1).flatten(-2)], dim=-1)

    wrapper = _PatchHidden(model)

    def hidden(p, sample):
        """One univariate sample (L,) → flattened head input h (P·d)."""
        state = {f"m.{k}": v for k, v in {**p, **frozen}.items() if k != "__kv__"}
        out = functional_call(wrapper, state, (sample[None], p["__kv__"]))
        return out.reshape(-1).to(dtype)

    # Feature columns per parameter group, in probe_features' order (upstream tensors, then the two __kv__ parts).
    dims = {k: v.numel() for k, v in upstream.items() if k != "__kv__"}
    dims["prototypes.mix"] = len(prototypes) * root.shape[1]
    dims["reprogramming.key_value"] = upstream["__kv__"].shape[1] * prototypes_1.shape[1]
    chunk = _chunk_for_budget(options, sum(dims.values()), memory_mb)
    # Univariate rows: the model is channel independent, so (N, L, C) becomes N·C independent samples.
    series = rearrange(x, "n l c -> (n c) l")
    with torch.no_grad():
        _, (mean, std) = model.revin.normalize(series)
        std = std.to(dtype)
        hs = torch.cat([torch.vmap(lambda s: hidden(upstream, s))(series[i:i + chunk])
                        for i in range(0, len(series), chunk)])
        w = head.proj.weight.detach().to(dtype)
        outputs = (hs @ w.T + head.proj.bias.detach().to(dtype)) * std + mean.to(dtype)
    n, n_out = outputs.shape
    probes = _probes(options.mode, n_out, options.n_probes, options.seed, dtype, outputs.device)
    scale = 1.0 if options.mode == "exact" else 1.0 / len(probes)
    transforms = {"__kv__": kv_features}
    bar, tick = _progress_bar(len(probes), options.progress)
    features = (probe_features(hidden, upstream, series, (block @ w)[None] * std[:, :, None], transforms, chunk)
                for block in _probe_blocks(probes, options.probe_chunk))
    probe_mass = float(n_out)  # Σ (probe entries)² · scale: O for one-hot and for Rademacher probes alike
    # Head term O·σσᵀ∘(H Hᵀ + 1) = O·U Uᵀ with U = σ∘[H, 1]: low rank, kept as a factor in matrix-free mode.
    head_factor = torch.cat([hs, hs.new_ones(len(hs), 1)], dim=1) * std
    splits = _column_splits(dims) if options.blocks else None
    kernel, operator = _finish(features, n, n_out, options, scale, tick, (head_factor, probe_mass), splits)
    if bar:
        bar.close()
    n_params = sum(p.numel() for p in params.values())
    if operator is not None:
        return NTKResult(None, outputs, n_params, options.mode, len(probes), operator)
    head_gram = head_factor @ head_factor.T
    if full:
        eye = torch.eye(n_out, dtype=dtype, device=head_gram.device)
        kernel = kernel + torch.kron(head_gram, eye)
    elif options.blocks:
        kernel["head.proj"] = probe_mass * head_gram
    else:
        kernel = kernel + probe_mass * head_gram
    channels = x.shape[-1]
    block_kernels = kernel if options.blocks else {"all": kernel}
    if channels > 1:  # back to the generic convention: K(i, j) = Σ_c K((i, c), (j, c)), outputs (N, H·C)
        block_kernels = {name: torch.diagonal(k.reshape(len(x), channels, len(x), channels), dim1=1, dim2=3).sum(-1)
                         for name, k in block_kernels.items()}
        outputs = rearrange(outputs, "(n c) h -> n (h c)", c=channels)
    if not options.blocks:
        return NTKResult(block_kernels["all"], outputs, n_params, options.mode, len(probes))
    sizes = {k: v.numel() for k, v in params.items() if k not in head_names | kv_names}
    sizes["prototypes.mix"] = params["prototypes.mix.weight"].numel() + params["prototypes.mix.bias"].numel()
    sizes["reprogramming.key_value"] = sum(params[f"reprogramming.{a}.{b}"].numel()
                                           for a in ("key", "value") for b in ("weight", "bias"))
    sizes["head.proj"] = params["head.proj.weight"].numel() + params["head.proj.bias"].numel()
    return NTKResult(sum(block_kernels.values()), outputs, n_params, options.mode, len(probes),
                     block_kernels=block_kernels, block_sizes=sizes)
