"""The small tokenizer surface the prompt needs: encode fixed text once, and one token id per character.

Numbers in prompts are written character by character (``+1.23``), each character mapped to its own token, so every
prompt in a batch has the same length and numbers can be rendered with tensor arithmetic instead of Python strings.
"""

from __future__ import annotations

from typing import Protocol

from tsreprog.errors import BackboneError


class PromptTokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...

    def char_id(self, char: str) -> int: ...


class HFPromptTokenizer:
    """Wraps a Hugging Face tokenizer."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def char_id(self, char: str) -> int:
        ids = self.encode(char)
        if not ids:
            raise BackboneError(f"the backbone's tokenizer has no token for {char!r}")
        # SentencePiece-style tokenizers may prepend a word-boundary piece; the character itself comes last.
        return ids[-1]


class CharTokenizer:
    """A deterministic character tokenizer for tiny random backbones that ship no vocabulary."""

    def __init__(self, vocab_size: int) -> None:
        if vocab_size < 2:
            raise BackboneError("a character tokenizer needs a vocabulary of at least 2 tokens")
        self.vocab_size = vocab_size

    def char_id(self, char: str) -> int:
        return 1 + ord(char) % (self.vocab_size - 1)

    def encode(self, text: str) -> list[int]:
        return [self.char_id(c) for c in text]
