"""The study's feed-forward baseline: average of the word vectors -> MLP -> logits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from tweetsent.models.inputs import checked_inputs, embed, lengths_mask
from tweetsent.models.outputs import ClassifierOutput, classifier_output
from tweetsent.models.pooling import MeanPooling
from tweetsent.models.precision import float64_head


def mlp_head(input_dim: int, hidden: int, num_labels: int, dropout: float) -> nn.Sequential:
    """Linear(input_dim, hidden) -> ReLU -> Dropout -> Linear(hidden, num_labels)."""
    return nn.Sequential(
        nn.Linear(input_dim, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_labels),
    )


class FeedForwardClassifier(nn.Module):
    """x = (1 / n) sum_t e_t over the n real tokens; logits = W2 dropout(relu(W1 x + b1)) + b2.

    Word order is ignored: the bag-of-embeddings baseline the recurrent models are compared to.
    """

    def __init__(
        self,
        embedder: nn.Module,
        head: nn.Module,
        class_weights: Sequence[float] | torch.Tensor | None = None,
        tweet_features: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.embedder = embedder
        # every embedder has an int output_dim (embed.base.Embedder); nn.Module does not say so
        self.pooling = MeanPooling(cast(int, embedder.output_dim))
        self.head = head
        self.tweet_features = tweet_features  # (tokens, mask) -> (B, F) beside the pooled vector
        weights = None if class_weights is None else torch.as_tensor(class_weights).float()
        self.class_weights: torch.Tensor | None
        self.register_buffer("class_weights", weights, persistent=False)

    @property
    def has_attention(self) -> bool:
        """Whether outputs carry attention weights (self-attention pooling)."""
        return False

    def float64_head(self) -> None:
        """Serving's mixed precision: pooling and head in float64 (`models.precision`)."""
        float64_head(self.embedder, self.pooling, self.head)

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        words: Sequence[Sequence[str]] | None = None,
    ) -> ClassifierOutput:
        """tokens (B, T) with 0 = padding, lengths (B,), labels (B,) -> ClassifierOutput."""
        tokens, lengths = checked_inputs(tokens, lengths)  # lengths (B,) on the CPU
        mask = lengths_mask(lengths, tokens.shape[1], tokens.device)  # (B, T)
        embedded = embed(self.embedder, tokens, words)  # (B, T, D)
        pooled, _, _ = self.pooling(embedded, mask)  # (B, D)
        if self.tweet_features is not None:
            extra = self.tweet_features(tokens, mask).to(pooled.dtype)  # (B, F)
            pooled = torch.cat([pooled, extra], dim=-1)  # (B, D + F)
        return classifier_output(self.head(pooled), labels, self.class_weights)
