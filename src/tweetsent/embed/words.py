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

    `features` (V, K), fixed per-word columns such as sentiment-lexicon scores
    (`embed.lexicon`), are appended to each (dropped-out) vector: output dim D + K. They are a
    buffer, saved in the state dict; `num_features` = K builds zeros for a saved model to fill.

    `clusters` (V, P) int ids of each word's Twitter word cluster and its bit-string prefixes
    (`models.tables.cluster_ids`, 0 = none; a buffer) add the sum of their trainable embeddings,
    `cluster_dim` columns, so words without a pretrained vector still carry their cluster's
    meaning: output dim D + K + cluster_dim. `num_clusters` ids besides 0; `cluster_width` = P
    builds zeros for a saved model to fill.
    """

    def __init__(
        self,
        num_embeddings: int,
        dim: int,
        *,
        weights: np.ndarray | torch.Tensor | None = None,
        freeze: bool = False,
        dropout: float = 0.0,
        features: np.ndarray | torch.Tensor | None = None,
        num_features: int = 0,
        clusters: np.ndarray | torch.Tensor | None = None,
        cluster_width: int = 0,
        num_clusters: int = 0,
        cluster_dim: int = 16,
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
        if features is not None:
            features = torch.as_tensor(np.asarray(features, dtype=np.float32))
            if features.ndim != 2 or features.shape[0] != num_embeddings:
                raise ValueError(
                    f"word features are {tuple(features.shape)}, expected ({num_embeddings}, K)"
                )
            num_features = int(features.shape[1])
        elif num_features:
            features = torch.zeros(num_embeddings, num_features)
        self.features: torch.Tensor | None
        self.register_buffer("features", features if num_features else None)
        self.output_dim = dim + num_features
        self.clusters: torch.Tensor | None
        self.cluster_embedding: nn.Embedding | None = None
        if not num_clusters:
            self.register_buffer("clusters", None)
        else:
            if clusters is None:
                clusters = torch.zeros(num_embeddings, cluster_width, dtype=torch.int64)
            clusters = torch.as_tensor(np.asarray(clusters, dtype=np.int64))
            if clusters.ndim != 2 or clusters.shape[0] != num_embeddings:
                raise ValueError(f"cluster ids are {tuple(clusters.shape)}, expected (V, P)")
            self.register_buffer("clusters", clusters)
            self.cluster_embedding = nn.Embedding(num_clusters + 1, cluster_dim, padding_idx=0)
            self.output_dim += cluster_dim

    @classmethod
    def from_matrix(
        cls,
        matrix: np.ndarray | torch.Tensor,
        *,
        freeze: bool = False,
        dropout: float = 0.0,
        features: np.ndarray | torch.Tensor | None = None,
    ) -> WordEmbedder:
        num_embeddings, dim = matrix.shape
        return cls(
            num_embeddings, dim, weights=matrix, freeze=freeze, dropout=dropout, features=features
        )

    def forward(
        self, tokens: torch.Tensor, words: Sequence[Sequence[str]] | None = None
    ) -> torch.Tensor:
        """tokens (B, T) -> (B, T, D + K); `words` is accepted for the `Embedder` protocol only."""
        vectors = self.dropout(self.embedding(tokens))  # (B, T, D)
        parts = [vectors]
        if self.features is not None:
            parts.append(self.features[tokens])  # (B, T, K)
        if self.cluster_embedding is not None and self.clusters is not None:
            ids = self.clusters[tokens]  # (B, T, P)
            parts.append(self.dropout(self.cluster_embedding(ids).sum(dim=2)))  # (B, T, C)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)  # (B, T, D + K + C)
