"""The sequence classifier: embedder -> encoder (recurrent or convolutional) -> pooling -> head.

`build_model` composes it for `model.kind` "rnn" (`models.rnn.RNNEncoder`: LSTM/GRU, uni- or
bidirectional) and "cnn" (`models.cnn.CNNEncoder`, Kim 2014); both encoders keep the same
contract, so the pooling and head are shared. Its parameter names (`embedder.*`, `encoder.*`,
`pooling.*`, `head.*`) are the attribute names here: the class name is in no weights file.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tweetsent.models.attention import SelfAttentionPooling
from tweetsent.models.inputs import checked_inputs, embed, lengths_mask
from tweetsent.models.outputs import ClassifierOutput, classifier_output
from tweetsent.models.precision import float64_head


class SequenceClassifier(nn.Module):
    """Composed of an embedder (`output_dim`, `forward(tokens)`), an encoder of the token
    sequence (`models.rnn.RNNEncoder` or `models.cnn.CNNEncoder`: `forward(embedded, lengths)
    -> states (B, T, H)`, `output_dim`), a pooling
    module (`forward(states, mask, lengths) -> (pooled, attention, penalty)`) and a head
    mapping the pooled vector to logits (dropout + linear, built by `build_model`).

    Class weights for the loss are a non-persistent buffer: they are not saved with the weights.
    """

    def __init__(
        self,
        embedder: nn.Module,
        encoder: nn.Module,
        pooling: nn.Module,
        head: nn.Module,
        class_weights: Sequence[float] | torch.Tensor | None = None,
        tweet_features: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.embedder = embedder
        self.encoder = encoder
        self.pooling = pooling
        self.head = head
        self.tweet_features = tweet_features  # (tokens, mask) -> (B, F) beside the pooled vector
        weights = None if class_weights is None else torch.as_tensor(class_weights).float()
        self.class_weights: torch.Tensor | None
        self.register_buffer("class_weights", weights, persistent=False)

    @property
    def has_attention(self) -> bool:
        """Whether outputs carry attention weights (self-attention pooling)."""
        return isinstance(self.pooling, SelfAttentionPooling)

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
        """tokens (B, T) with 0 = padding, lengths (B,), labels (B,) -> ClassifierOutput.

        A length of 0 (an empty tweet) is read as one padding token. `words`, the token
        strings, is passed on to embedders that need them (ELMo).
        """
        tokens, lengths = checked_inputs(tokens, lengths)  # lengths (B,) on the CPU
        mask = lengths_mask(lengths, tokens.shape[1], tokens.device)  # (B, T)
        embedded = embed(self.embedder, tokens, words)  # (B, T, D)
        states = self.encoder(embedded, lengths)  # (B, T, H)
        pooled, attention, penalty = self.pooling(states, mask, lengths)  # (B, P)
        if self.tweet_features is not None:
            extra = self.tweet_features(tokens, mask).to(pooled.dtype)  # (B, F)
            pooled = torch.cat([pooled, extra], dim=-1)  # (B, P + F)
        logits = self.head(pooled)  # (B, C)
        return classifier_output(logits, labels, self.class_weights, attention, penalty)
