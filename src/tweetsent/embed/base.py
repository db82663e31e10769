"""What the classifiers need from an embedder (word vectors now, ELMo later)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Embedder(Protocol):
    """Maps token ids (B, T), 0 = padding, to vectors (B, T, output_dim).

    A classifier calls `embedder(tokens)`, or `embedder(tokens, words=words)` when its caller
    passed the token strings (B lists of str, unpadded): a character-level embedder such as
    ELMo needs them, a word-level one accepts and ignores them. The classifier passes `words`
    on unread, so it may also be precomputed features (`data.features.FeatureBatch`, the ELMo
    cache at training time). Modules are expected to be `nn.Module`s, so that their weights
    are part of the classifier's state dict.
    """

    output_dim: int

    def __call__(
        self, tokens: torch.Tensor, words: Sequence[Sequence[str]] | None = None
    ) -> torch.Tensor: ...
