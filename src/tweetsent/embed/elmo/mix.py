"""The learned ELMo combination of biLM layers (Peters et al. 2018, equation 1):

    ELMo_k = gamma * sum_j s_j * h_{k,j},     s = softmax(w)

over a chosen subset of the layers j (default: all), optionally with each layer normalised
first (mean and variance over the unmasked positions, as in the reference), followed by the
usual dropout on the result (`WideDropout`: the same inverted dropout, its mask drawn from
random bits, because torch's Bernoulli draw was a fifth of a frozen-feature epoch's time).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tweetsent.errors import ConfigError


class ScalarMix(nn.Module):
    """layers (L, B, T, D) [+ mask (B, T)] -> (B, T, D). Learned w (one per chosen layer), gamma.

    `layers` picks which of the L biLM layers to mix (0 = char CNN, 1.. = LSTM layers);
    float16 inputs (the feature cache) are mixed in the parameters' dtype (float32, or float64
    after `.double()`).
    """

    def __init__(
        self,
        num_layers: int,
        layers: Sequence[int] | None = None,
        dropout: float = 0.5,
        layer_norm: bool = False,
        trainable: bool = True,
    ) -> None:
        super().__init__()
        chosen = list(range(num_layers)) if layers is None else [int(i) for i in layers]
        if not chosen or len(set(chosen)) != len(chosen):
            raise ConfigError(f"elmo layers: {chosen} must be distinct and non-empty")
        if any(not 0 <= i < num_layers for i in chosen):
            raise ConfigError(f"elmo layers: {chosen} must lie in 0..{num_layers - 1}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"elmo dropout: {dropout} must be in [0, 1)")
        self.num_layers = num_layers
        self.layers = chosen
        self.layer_norm = layer_norm
        self.scalars = nn.Parameter(torch.zeros(len(chosen)), requires_grad=trainable)  # w
        self.gamma = nn.Parameter(torch.ones(1), requires_grad=trainable)
        self.dropout = WideDropout(dropout)

    def weights(self) -> torch.Tensor:
        """s = softmax(w), one weight per chosen layer."""
        return torch.softmax(self.scalars, dim=0)

    def forward(
        self, layers: torch.Tensor, mask: torch.Tensor | None = None, picked: bool = False
    ) -> torch.Tensor:
        """layers: all L layers, or with `picked` only the chosen ones, in their order (what a
        feature batch of `FeatureRows.pick(mix.layers)` holds)."""
        count = len(self.layers) if picked else self.num_layers
        if layers.dim() != 4 or layers.size(0) != count:
            shape = tuple(layers.shape)
            raise ValueError(f"expected layers ({count}, B, T, D), got {shape}")
        if self.layer_norm and mask is None:
            raise ValueError("ScalarMix(layer_norm=True) needs the mask")
        weights = self.weights() * self.gamma  # (L',): gamma * s_j
        chosen = list(range(len(self.layers))) if picked else self.layers
        if not self.layer_norm:  # one conversion and one matrix-vector product each way
            source = layers if chosen == list(range(layers.size(0))) else layers[chosen]
            flat = torch.empty(source.shape, dtype=weights.dtype, device=layers.device)
            flat.copy_(source)  # (L', B, T, D) in the mix's dtype, each layer contiguous
            mixed = (weights @ flat.view(len(chosen), -1)).view(layers.shape[1:])
            return self.dropout(mixed, mask)  # (B, T, D), zeros at padding
        assert mask is not None  # layer_norm needs it (checked above)
        mixed_ln: torch.Tensor | None = None
        for k, index in enumerate(chosen):  # layer by layer, each normalised on its own
            layer = _masked_layer_norm(layers[index].to(weights.dtype)[None], mask)[0]
            term = weights[k] * layer  # (B, T, D)
            mixed_ln = term if mixed_ln is None else mixed_ln + term
        assert mixed_ln is not None  # self.layers is never empty (checked at __init__)
        return self.dropout(mixed_ln, mask)


class WideDropout(nn.Module):
    """Inverted dropout over wide per-token features, with the padding mask in the same product:
    x (B, T, D) [, mask (B, T)] -> x * keep * mask / (1 - p).

    Each element is kept when 15 random bits (4 per 64-bit draw of torch's generator, so seeded
    by `torch.manual_seed` like `nn.Dropout`) reach round(p * 2^15): the drop rate is p to within
    2^-16, and the draw costs a tenth of torch's Bernoulli sampling on the CPU. No parameters: a
    run saved with `nn.Dropout` here loads unchanged. Evaluation multiplies by the mask only.
    """

    BITS = 15

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ConfigError(f"dropout: {p} must be in [0, 1)")
        self.p = p
        self.threshold = round(p * 2**self.BITS)  # drop when the bits fall below it

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        padding = None if mask is None else mask[..., None]  # (B, T, 1)
        if not self.training or self.threshold == 0:
            return x if padding is None else x * padding
        keep = self.keep(x)
        if padding is not None:
            keep &= padding
        return (x * keep).mul_(self.scale)

    @property
    def scale(self) -> float:
        """What a kept element is multiplied by in training: 1 / (1 - p)."""
        return 2**self.BITS / (2**self.BITS - self.threshold)

    def keep(self, x: torch.Tensor) -> torch.Tensor:
        """A fresh (x's shape) bool mask, True where an element is kept."""
        count = x.numel()
        draws = torch.empty((count + 3) // 4, dtype=torch.int64, device=x.device).random_()
        bits = draws.view(torch.int16)[:count].view(x.shape) & (2**self.BITS - 1)  # 4 a draw
        return bits >= self.threshold


def _masked_layer_norm(layers: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(h - mean) / sqrt(var + eps) per layer, statistics over unmasked positions only."""
    weight = mask[None, :, :, None].to(layers.dtype)  # (1, B, T, 1)
    count = (weight.sum() * layers.size(-1)).clamp(min=1.0)
    mean = (layers * weight).sum(dim=(1, 2, 3), keepdim=True) / count  # (L, 1, 1, 1)
    var = (((layers - mean) * weight) ** 2).sum(dim=(1, 2, 3), keepdim=True) / count
    return (layers - mean) / torch.sqrt(var + 1e-12)
