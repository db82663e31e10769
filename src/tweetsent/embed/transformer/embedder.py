"""A frozen transformer encoder as a classifier's embedder: ELMo's design, a transformer's layers.

    h_{k,j}  = layer j's state of classifier token k (the mean of its piece's word pieces)
    e_k      = dropout(gamma * sum_j softmax(w)_j h_{k,j})      over the chosen layers j
    e_k      = P e_k                     with `embed.transformer_proj` (a learned D -> p map,
                                         so that the head reads p columns, not the encoder's D)

The encoder is frozen and not in the classifier's state dict (the run directory keeps a copy
of its files under `encoder/`, checked by SHA-256); its layers reach the embedder from the
feature cache (training) or are computed on the fly from the pieces (prediction), rounded to
float16 either way, exactly as `ElmoEmbedder` does for a biLM, whose code this reuses.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tweetsent.data.features import FeatureBatch
from tweetsent.embed.elmo.embedder import ElmoEmbedder
from tweetsent.embed.transformer.encoder import PieceEncoder
from tweetsent.embed.transformer.source import TransformerSource
from tweetsent.errors import ConfigError
from tweetsent.text.align import ElmoInput


class TransformerEmbedder(ElmoEmbedder):
    """tokens (B, T) + words (`ElmoInput`s of the encoder, or a cached `FeatureBatch`)
    -> (B, T, hidden size)."""

    def __init__(
        self,
        encoder: PieceEncoder,
        layers: Sequence[int] | None = None,
        dropout: float = 0.1,
        source: TransformerSource | None = None,
        proj: int = 0,
    ) -> None:
        num = encoder.num_output_layers
        if layers is not None and any(not 0 <= i < num for i in layers):
            raise ConfigError(
                f"embed.transformer_layers: {list(layers)} must lie in 0..{num - 1} (this "
                f"encoder has {num} hidden states: the embeddings and {num - 1} layers)"
            )
        # ElmoEmbedder's machinery (frozen encoder out of the state dict, scalar mix, feature
        # cache) over a PieceEncoder, which has the biLM's interface (num_output_layers,
        # output_dim, features) but is not an ElmoBiLm; nor is a TransformerSource an ElmoSource
        super().__init__(encoder, layers, dropout, None, source)  # type: ignore[arg-type]  # see above
        self.proj = nn.Linear(self.elmo_dim, proj) if proj else None
        self.output_dim = proj or self.elmo_dim

    def forward(self, tokens: torch.Tensor, words=None) -> torch.Tensor:
        """tokens (B, T) -> (B, T, D), or (B, T, proj) with a projection."""
        if self.proj is not None and self._one_layer_training():
            return self._project_one_layer(tokens, words)
        mixed = super().forward(tokens, words)  # (B, T, D)
        return mixed if self.proj is None else self.proj(mixed)

    def _one_layer_training(self) -> bool:
        one_layer = len(self.mix.layers) == 1 and not self.mix.layer_norm
        return one_layer and self.training and torch.is_grad_enabled()

    def _project_one_layer(self, tokens: torch.Tensor, words) -> torch.Tensor:
        """Training with one layer and a projection: P(dropout(g x)) + b = g P(dropout(x)) + b
        (g = gamma * softmax(w), a scalar), the same numbers in the order that needs no
        gradient over the encoder's D columns, only over the projection's: a third of the time
        of mixing first. Padding features are zeros in the cache and on the fly alike."""
        assert self.proj is not None  # the caller checks
        layers, _, picked = self.held_layers(tokens, words)  # (L, B, T, D) float16
        x = layers[0 if picked else self.mix.layers[0]].to(self.proj.weight.dtype, copy=True)
        dropout = self.mix.dropout
        scale = 1.0
        if dropout.threshold:
            x.mul_(dropout.keep(x))  # x is a fresh copy that needs no gradient
            scale = dropout.scale
        g = self.mix.weights() * self.mix.gamma * scale  # (1,)
        return torch.addcmul(self.proj.bias, F.linear(x, self.proj.weight), g)  # (B, T, p)

    @property
    def encoder(self) -> PieceEncoder:
        return self._frozen[0]  # type: ignore[return-value]  # the PieceEncoder given to __init__

    def features(self, words: Sequence[Sequence[str] | ElmoInput]) -> FeatureBatch:
        return self.encoder.features(words)  # type: ignore[arg-type]  # pieces: ElmoInputs only

    def to_meta(self) -> dict:
        source = self.source.to_meta() if self.source is not None else {}
        encoder = self.encoder
        sizes = {"layers": encoder.num_output_layers, "dim": encoder.output_dim}
        return {**source, **sizes, "mixed_layers": self.mix.layers}
