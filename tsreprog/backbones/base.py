"""One small interface over any frozen transformer that the reprogramming layers talk to."""

from __future__ import annotations

import functools
import inspect

import torch
from torch import nn

from tsreprog.backbones.tokenizer import PromptTokenizer
from tsreprog.errors import BackboneError

# Where the block list lives in common Hugging Face models (BERT, GPT-2, Llama/SmolLM2, ViT/DINOv2, ViT-MAE, ...).
_BLOCK_PATHS = ("encoder.layer", "h", "layers", "model.layers", "transformer.h", "vit.layers", "vit.encoder.layer",
                "decoder.layers", "encoder.layers")


def find_blocks(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """Return (parent, attribute, ModuleList) of the transformer blocks."""
    for path in _BLOCK_PATHS:
        parent: nn.Module | None = model
        parts = path.split(".")
        for part in parts[:-1]:
            parent = getattr(parent, part, None)
            if parent is None:
                break
        blocks = getattr(parent, parts[-1], None) if parent is not None else None
        if isinstance(blocks, nn.ModuleList) and len(blocks) > 0:
            return parent, parts[-1], blocks
    raise BackboneError(f"cannot find the transformer blocks of {type(model).__name__}")


class Backbone(nn.Module):
    """A frozen Hugging Face model fed with ``inputs_embeds``.

    Frozen means: no parameter requires grad and the model stays in eval mode (no dropout) even when the
    surrounding forecaster is put in training mode; gradients still flow back to the inputs.
    """

    def __init__(self, model: nn.Module, tokenizer: PromptTokenizer, name: str, kind: str = "language",
                 causal: bool = False) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.kind = kind
        self.causal = causal
        self.adaptation = "none"  # set by backbones.adapt: which part of the backbone trains (none: it is frozen)
        self.model.requires_grad_(False)
        self.model.eval()
        # See forward(keep_last=...): off only to measure against the whole last block. The structure check runs
        # once here, not on every forward (truncate keeps blocks of the same kind).
        self.prune_last_block = True
        self._prunable = prunable_encoder(model)

    @property
    def embed_dim(self) -> int:
        return int(self.word_embeddings.shape[1])

    @property
    def word_embeddings(self) -> torch.Tensor:
        """The frozen (vocab × width) input embedding matrix."""
        return self.model.get_input_embeddings().weight

    @property
    def dtype(self) -> torch.dtype:
        return self.word_embeddings.dtype

    @property
    def embedding_rms(self) -> float:
        """Mean root-mean-square of the word-embedding rows: the scale of the tokens the blocks were trained on."""
        return float(self.word_embeddings.detach().float().pow(2).mean(dim=1).sqrt().mean())

    @property
    def normalises_inputs(self) -> bool:
        """Whether a norm layer sits on the embeddings before the first block (BERT's ``embeddings.LayerNorm``,
        BLOOM's ``word_embeddings_layernorm``, BART's ``layernorm_embedding``), so the backbone itself removes the
        scale of whatever tokens it is fed. Llama/SmolLM2 and GPT-2 have none: their input enters the residual
        stream as it is."""
        return any("norm" in type(module).__name__.lower() and "emb" in name.lower()
                   for name, module in self.model.named_modules())

    @property
    def max_positions(self) -> int | None:
        """How many tokens one sequence may hold: a learned table of absolute positions (BERT's, GPT-2's) ends at
        its size; rotary positions (Llama/SmolLM2) and interpolated ones (ViT/DINOv2) have no such end (None)."""
        for name, module in self.model.named_modules():
            if name.split(".")[-1] in ("position_embeddings", "wpe") and isinstance(module, nn.Embedding):
                return int(module.num_embeddings)
        return None

    @property
    def n_layers(self) -> int:
        return len(find_blocks(self.model)[2])

    def truncate(self, n_layers: int) -> "Backbone":
        """Keep the first ``n_layers`` blocks (in place)."""
        parent, attribute, blocks = find_blocks(self.model)
        if not 1 <= n_layers <= len(blocks):
            raise BackboneError(f"backbone '{self.name}' has {len(blocks)} blocks; cannot keep {n_layers}")
        setattr(parent, attribute, nn.ModuleList(list(blocks)[:n_layers]))
        config = getattr(self.model, "config", None)
        if config is not None:
            if hasattr(config, "num_hidden_layers"):
                config.num_hidden_layers = n_layers
            if hasattr(config, "n_layer"):
                config.n_layer = n_layers
            if getattr(config, "layer_types", None) is not None:
                config.layer_types = list(config.layer_types)[:n_layers]
        return self

    def train(self, mode: bool = True) -> "Backbone":
        super().train(mode)
        self.model.eval()
        return self

    def prefix_states(self, prefix_embeds: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-block keys and values of a constant prefix (1, T0, width), computed once without gradient.

        Only for causal backbones: there a token never sees what follows it, so the states of a prefix shared by
        every series are the same whatever comes after, and the rest of the sequence can run on top of them."""
        if not self.causal:
            raise ValueError(f"backbone '{self.name}' is bidirectional: its prefix states depend on what follows")
        with torch.no_grad():
            out = self.model(inputs_embeds=prefix_embeds.to(self.dtype), use_cache=True)
        cache = getattr(out, "cache", None) or out.past_key_values
        return [(layer.keys, layer.values) for layer in cache.layers]

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor | None = None,
                prefix: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
                keep_last: int | None = None) -> torch.Tensor:
        """Hidden states of ``inputs_embeds``; with ``prefix`` (from :meth:`prefix_states`), of the tokens that
        follow that prefix (positions continue after it). ``keep_last``: only the last that many positions are
        wanted (the forecaster reads the patch positions), which lets a BERT-family backbone skip the rest of its
        last block (see :func:`last_block_pruned`); other backbones compute everything and slice."""
        inputs_embeds = inputs_embeds.to(self.dtype)
        if not self.causal:
            if keep_last is not None and attention_mask is None and self.prune_last_block and self._prunable:
                return last_block_pruned(self.model, inputs_embeds, keep_last)
            hidden = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            return hidden if keep_last is None else hidden[:, -keep_last:]
        if prefix is None:
            hidden = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                                use_cache=False).last_hidden_state
        else:
            from transformers import DynamicCache

            n = inputs_embeds.shape[0]
            cache = DynamicCache([(k.expand(n, *k.shape[1:]), v.expand(n, *v.shape[1:])) for k, v in prefix],
                                 config=getattr(self.model, "config", None))
            hidden = self.model(inputs_embeds=inputs_embeds, use_cache=True,
                                **{cache_keyword(type(self.model)): cache}).last_hidden_state
        return hidden if keep_last is None else hidden[:, -keep_last:]


@functools.lru_cache(maxsize=None)
def cache_keyword(model_class: type) -> str:
    """The name a causal model class's forward takes its key/value cache under: transformers 5 renamed
    ``past_key_values`` to ``cache`` (the old name warns, then goes), and the oldest supported release knows only it.
    Read once per class, not on every forward."""
    return "cache" if "cache" in inspect.signature(model_class.forward).parameters else "past_key_values"


def prunable_encoder(model: nn.Module) -> bool:
    """A BERT-family encoder (BERT, MiniLM, RoBERTa) with absolute positions: embeddings, then blocks of
    self-attention (query/key/value), its output, an intermediate and an output layer, with no norm after the last."""
    try:
        block = find_blocks(model)[2][-1]
    except BackboneError:
        return False
    attention = getattr(block, "attention", None)
    self_attention = getattr(attention, "self", None)
    position = getattr(getattr(model, "config", None), "position_embedding_type", "absolute")
    return (hasattr(model, "embeddings") and position == "absolute"
            and all(hasattr(self_attention, name) for name in ("query", "key", "value", "num_attention_heads"))
            and all(hasattr(block, name) for name in ("intermediate", "output"))
            and hasattr(attention, "output"))


def last_block_pruned(model: nn.Module, inputs_embeds: torch.Tensor, keep: int) -> torch.Tensor:
    """The last ``keep`` positions of a BERT-family encoder's output, computing only those in its last block.

    In an encoder every block's output at one position is a function of all positions of the block's input, so all
    but the last block must run in full; the last block needs keys and values of every position, but queries,
    the attention output and the feed-forward layers only where the output is read. With a prompt of 95 tokens
    before 64 patches that is half the last block's work (forward and backward). Eval mode only: the frozen
    backbone never drops out."""
    blocks = find_blocks(model)[2]
    hidden = model.embeddings(inputs_embeds=inputs_embeds)
    for block in list(blocks)[:-1]:
        out = block(hidden)
        hidden = out[0] if isinstance(out, tuple) else out  # transformers < 5 returns a tuple
    block = blocks[-1]
    attention = block.attention.self
    n, length, _ = hidden.shape
    heads = attention.num_attention_heads
    kept = hidden[:, -keep:]

    def split(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(n, x.shape[1], heads, -1).transpose(1, 2)

    query, key, value = split(attention.query(kept)), split(attention.key(hidden)), split(attention.value(hidden))
    context = nn.functional.scaled_dot_product_attention(query, key, value).transpose(1, 2).reshape(n, keep, -1)
    attended = block.attention.output(context, kept)
    return block.output(block.intermediate(attended), attended)
