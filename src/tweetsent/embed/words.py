"""Word-level embedder: one trainable (or frozen) vector per vocabulary id."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


class WordEmbedder(nn.Module):
    """`nn.Embedding` (row 0 = padding, kept at zero) followed by dropout on the vectors.

    Built either random, N(0, 1) like `nn.Embedding`, or from a (V, D) matrix such as
    `embedding_matrix(...)` returns. `freeze=True` keeps the vectors fixed during training;
    they are still part of the state dict, so a saved model carries its embedding.
    """

    def __init__(
        self,
        num_embeddings: int,
        dim: int,
        *,
        weights: np.ndarray | torch.Tensor | None = None,
        freeze: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_embeddings < 1 or dim < 1:
            raise ValueError(f"embedding size must be positive, got ({num_embeddings}, {dim})")
        self.embedding = nn.Embedding(num_embeddings, dim, padding_idx=0)
        if weights is not None:
            weights = torch.as_tensor(np.asarray(weights, dtype=np.float32))
            if tuple(weights.shape) != (num_embeddings, dim):
                raise ValueError(
                    f"embedding weights are {tuple(weights.shape)}, "
                    f"expected ({num_embeddings}, {dim})"
                )
            with torch.no_grad():
                self.embedding.weight.copy_(weights)
                self.embedding.weight[0].zero_()
        self.embedding.weight.requires_grad_(not freeze)
        self.dropout = nn.Dropout(dropout)
        self.output_dim = dim

    @classmethod
    def from_matrix(
        cls, matrix: np.ndarray | torch.Tensor, *, freeze: bool = False, dropout: float = 0.0
    ) -> WordEmbedder:
        num_embeddings, dim = matrix.shape
        return cls(num_embeddings, dim, weights=matrix, freeze=freeze, dropout=dropout)

    def forward(
        self, tokens: torch.Tensor, words: Sequence[Sequence[str]] | None = None
    ) -> torch.Tensor:
        """tokens (B, T) -> (B, T, D); `words` is accepted for the `Embedder` protocol only."""
        return self.dropout(self.embedding(tokens))  # (B, T, D)
