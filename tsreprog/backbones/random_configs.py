"""Tiny randomly initialised configs (``random:bert``, ``random:gpt2``, ``random:llama``) for fast tests."""

from __future__ import annotations

from transformers import BertConfig, Dinov2Config, GPT2Config, LlamaConfig, PretrainedConfig, ViTConfig, ViTMAEConfig

TINY_VOCAB = 128


def tiny_config(arch: str, width: int = 32, layers: int = 2, heads: int = 4) -> PretrainedConfig | None:
    if arch == "bert":
        return BertConfig(vocab_size=TINY_VOCAB, hidden_size=width, num_hidden_layers=layers,
                          num_attention_heads=heads, intermediate_size=2 * width, max_position_embeddings=1024)
    if arch == "gpt2":
        return GPT2Config(vocab_size=TINY_VOCAB, bos_token_id=0, eos_token_id=0, n_embd=width, n_layer=layers,
                          n_head=heads, n_positions=1024)
    if arch == "llama":
        return LlamaConfig(vocab_size=TINY_VOCAB, hidden_size=width, num_hidden_layers=layers,
                           num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
                           intermediate_size=2 * width, max_position_embeddings=1024)
    vision = dict(hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=2 * width,
                  image_size=32, patch_size=4, num_channels=3)
    if arch == "vit":
        return ViTConfig(**vision)
    if arch == "dinov2":
        vision.pop("intermediate_size")
        return Dinov2Config(**vision)
    if arch == "vit-mae":
        return ViTMAEConfig(**vision, decoder_hidden_size=width, decoder_num_hidden_layers=1,
                            decoder_num_attention_heads=heads, decoder_intermediate_size=2 * width, mask_ratio=0.5)
    return None


TINY_ARCHS = ("bert", "gpt2", "llama", "vit", "dinov2", "vit-mae")
VISION_ARCHS = ("vit", "dinov2", "vit-mae")
