"""A fine-tuned transformer encoder with a pooled linear head (`model.kind = "transformer"`).

    h      = encoder(word pieces of the tweet's pieces)          (B, S, D), last layer
    x      = mean (or max) of h over the real word pieces ([CLS] and [SEP] included)
    logits = W dropout([x; f]) + b

f: with `model.tweet_features`, the tweet-level lexicon features of tweetsent's own tokens
(`models.lexfeatures.NormalizedTweetFeatures`, as the sequence heads read them), else nothing.

The encoder is a submodule: its weights train with the head and are saved in the run's
model.safetensors (the run keeps the encoder's config and tokenizer under `encoder/`). It reads
the same pieces as a frozen transformer embedder (`text.align.encoder_input`), passed as
`words=`, and ignores the token ids beyond their count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from tweetsent.models.inputs import checked_inputs, lengths_mask
from tweetsent.models.lexfeatures import NormalizedTweetFeatures
from tweetsent.models.outputs import ClassifierOutput, classifier_output
from tweetsent.models.precision import _float64_inputs

if TYPE_CHECKING:
    from tweetsent.embed.transformer import PieceEncoder, TransformerSource
    from tweetsent.text.align import ElmoInput


class TransformerClassifier(nn.Module):
    """The encoder (as `embedder`, so that callers find `needs_words`) + pooling + head."""

    has_attention = False

    def __init__(
        self,
        encoder: PieceEncoder,
        num_labels: int,
        pooling: str = "mean",
        dropout: float = 0.1,
        class_weights: Sequence[float] | torch.Tensor | None = None,
        source: TransformerSource | None = None,
        tweet_features: NormalizedTweetFeatures | None = None,
    ) -> None:
        super().__init__()
        if pooling not in ("mean", "max"):
            raise ValueError(f"pooling {pooling!r}: a transformer pools with mean or max")
        self.embedder = encoder
        self.pooling = pooling
        self.tweet_features = tweet_features  # (tokens, mask) -> (B, F) beside the pooled vector
        extra = tweet_features.output_dim if tweet_features is not None else 0
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(encoder.output_dim + extra, num_labels)
        )
        self.source = source
        weights = None if class_weights is None else torch.as_tensor(class_weights).float()
        self.class_weights: torch.Tensor | None
        self.register_buffer("class_weights", weights, persistent=False)

    def to_meta(self) -> dict:
        encoder = self.embedder
        source = self.source.to_meta() if self.source is not None else {}
        return {**source, "layers": encoder.num_output_layers, "dim": encoder.output_dim}

    def float64_head(self) -> None:
        """Serving's mixed precision: the head in float64 (the encoder stays float32)."""
        self.head.double()
        self.head.register_forward_pre_hook(_float64_inputs)

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        words: Sequence[ElmoInput] | None = None,
    ) -> ClassifierOutput:
        if words is None:
            raise ValueError("TransformerClassifier needs words=: the encoder's pieces")
        if len(words) != tokens.shape[0]:
            raise ValueError(f"{len(words)} tweets of pieces for a batch of {tokens.shape[0]}")
        ids, mask, _ = self.embedder.encode(words)  # (B, S) word pieces, on the CPU
        device = next(self.head.parameters()).device  # the linear layer's weight
        extra = None
        if self.tweet_features is not None:
            tokens, lengths = checked_inputs(tokens, lengths)
            token_mask = lengths_mask(lengths, tokens.shape[1], tokens.device)  # (B, T)
            extra = self.tweet_features(tokens.to(device), token_mask.to(device))  # (B, F)
        logits = self.piece_logits(ids.to(device), mask.to(device), extra)
        return classifier_output(logits, labels, self.class_weights)

    def piece_logits(
        self, ids: torch.Tensor, mask: torch.Tensor, extra: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Word-piece ids (B, S) and attention mask (B, S) -> logits (B, C): the part of the
        model that `runs.export` writes to ONNX (tokenizing stays with the consumer).
        `extra` (B, F): the tweet features, when the head reads them."""
        states = self.embedder.model(input_ids=ids, attention_mask=mask).last_hidden_state
        real = mask.bool()[:, :, None]  # (B, S, 1)
        if self.pooling == "mean":
            pooled = (states * real).sum(1) / real.sum(1).clamp_min(1)  # (B, D)
        else:
            pooled = states.masked_fill(~real, float("-inf")).amax(1)  # (B, D)
        if extra is not None:
            pooled = torch.cat([pooled, extra.to(pooled.dtype)], dim=-1)  # (B, D + F)
        return self.head(pooled)
