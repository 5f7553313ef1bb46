"""Vision transformers (DINOv2, ViT, ViT-MAE, any HF ViT-family model) behind the backbone interface.

Two ways in: ``forward(inputs_embeds)`` feeds reprogrammed tokens straight to the encoder (CLS token and the model's
own position table added, as its patch embeddings would get them); ``encode_images(pixels)`` runs the whole model
on images. The "vocabulary" the text prototypes mix is the patch-embedding filter bank (one row per input pixel of
a patch), so reprogrammed tokens start in the span of what the model's patch embedding can produce.
"""

from __future__ import annotations

import torch
from torch import nn

from tsreprog.backbones.base import Backbone, find_blocks

VISION_TYPES = ("dinov2", "vit", "vit_mae", "deit", "beit", "dinov2_with_registers")


class VisionBackbone(Backbone):
    def __init__(self, model: nn.Module, name: str) -> None:
        super().__init__(model, tokenizer=None, name=name, kind="vision", causal=False)  # type: ignore[arg-type]

    @property
    def base(self) -> nn.Module:
        """The encoder model (ViTMAEForPreTraining keeps it under ``.vit``)."""
        return getattr(self.model, "vit", self.model)

    @property
    def word_embeddings(self) -> torch.Tensor:
        weight = self.base.embeddings.patch_embeddings.projection.weight  # (d, C, p, p)
        return weight.reshape(weight.shape[0], -1).T

    @property
    def image_size(self) -> int:
        size = self.base.config.image_size
        return size if isinstance(size, int) else size[0]

    @property
    def patch_size(self) -> int:
        size = self.base.config.patch_size
        return size if isinstance(size, int) else size[0]

    @property
    def dtype(self) -> torch.dtype:
        return self.word_embeddings.dtype

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor | None = None,
                prefix: None = None, keep_last: int | None = None) -> torch.Tensor:
        """Hidden states of the class token and the tokens; ``keep_last`` as in ``Backbone.forward`` (here
        computed in full, then sliced). A vision model has no prompt, so no prefix."""
        if prefix is not None:
            raise ValueError(f"{self.name}: a vision backbone takes no prompt prefix")
        hidden = self._hidden(inputs_embeds)
        return hidden if keep_last is None else hidden[:, -keep_last:]

    def _hidden(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        embeddings = self.base.embeddings
        n, length, _ = inputs_embeds.shape
        table = embeddings.position_embeddings  # (1, 1 + grid, d)
        if table.shape[1] < length + 1:
            raise ValueError(f"{self.name}: {length} tokens exceed its {table.shape[1] - 1} positions")
        cls = embeddings.cls_token.expand(n, -1, -1)
        tokens = torch.cat([cls, inputs_embeds.to(self.dtype)], dim=1) + table[:, : length + 1]
        hidden = tokens
        for block in find_blocks(self.base)[2]:  # the same blocks `truncate` keeps
            hidden = block(hidden)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        return self.base.layernorm(hidden)

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        kwargs = {"interpolate_pos_encoding": True} if self.base.config.model_type == "vit_mae" else {}
        return self.base(pixel_values=pixels.to(self.dtype), **kwargs).last_hidden_state
