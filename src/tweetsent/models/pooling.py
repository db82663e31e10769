"""Pooling: turn RNN states (B, T, H) into one vector per tweet, ignoring padding.

Every pooling module has `output_dim` and `forward(states, mask, lengths=None) -> (pooled
(B, D), attention (B, hops, T) | None, penalty (scalar) | None)`, so that self-attention pooling
(Lin et al. 2017), which also returns its weights and penalty, plugs in beside these three.
`mask` is (B, T) bool, True at real tokens; real tokens come first in every row. `lengths`, the
(B,) CPU lengths the mask was made from (`models.inputs.checked_inputs`), is optional: a module
may choose a fast path for a batch without padding from it (`unpadded`), never from the mask,
whose values on CUDA could only be read by waiting for the device.
"""

from __future__ import annotations

import torch
from torch import nn

from tweetsent.models.attention import SelfAttentionPooling
from tweetsent.models.inputs import unpadded

PoolingResult = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]


class LastPooling(nn.Module):
    """The final hidden state(s): h_fwd at the last real token; for a bidirectional encoder
    concatenated with h_bwd at position 0 (where the backward pass ends), i.e. [h_n_fwd; h_n_bwd].
    """

    def __init__(self, input_dim: int, bidirectional: bool = False) -> None:
        super().__init__()
        if bidirectional and input_dim % 2:
            raise ValueError(f"bidirectional states need an even size, got {input_dim}")
        self.bidirectional = bidirectional
        self.output_dim = input_dim

    def forward(
        self, states: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> PoolingResult:
        batch = torch.arange(states.shape[0], device=states.device)  # (B,)
        last = (mask.sum(dim=1) - 1).clamp(min=0)  # (B,) index of the last real token
        if not self.bidirectional:
            return states[batch, last], None, None  # (B, H)
        half = states.shape[-1] // 2
        forward = states[batch, last, :half]  # (B, H/2)
        backward = states[:, 0, half:]  # (B, H/2)
        return torch.cat([forward, backward], dim=-1), None, None  # (B, H)


class MeanPooling(nn.Module):
    """Average of the states at real tokens: sum_t m_t h_t / sum_t m_t."""

    def __init__(self, input_dim: int) -> None:
        super().__init__()
        self.output_dim = input_dim

    def forward(
        self, states: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> PoolingResult:
        weights = mask.to(states.dtype).unsqueeze(-1)  # (B, T, 1)
        total = (states * weights).sum(dim=1)  # (B, H)
        return total / weights.sum(dim=1).clamp(min=1.0), None, None  # (B, H)


class MaxPooling(nn.Module):
    """Element-wise max over real tokens; padding is -inf, so it never wins (0 if no token).
    Given `lengths` that show no padding, the plain max (the same values, less work)."""

    def __init__(self, input_dim: int) -> None:
        super().__init__()
        self.output_dim = input_dim

    def forward(
        self, states: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> PoolingResult:
        if lengths is not None and unpadded(lengths, states.shape[1]):  # nothing to mask
            return states.amax(dim=1), None, None  # (B, H)
        filled = states.masked_fill(~mask.unsqueeze(-1), float("-inf"))  # (B, T, H)
        pooled = filled.amax(dim=1)  # (B, H); amax: no argmax indices, ~30x faster on CPU
        empty = ~mask.any(dim=1, keepdim=True)  # (B, 1)
        return pooled.masked_fill(empty, 0.0), None, None


POOLINGS = ("last", "mean", "max", "attention")


def build_pooling(
    kind: str,
    input_dim: int,
    *,
    bidirectional: bool = False,
    attention_dim: int = 10,
    hops: int = 5,
    penalty: float = 0.1,
) -> SelfAttentionPooling | LastPooling | MeanPooling | MaxPooling:
    """A pooling module by name (see POOLINGS); `bidirectional` matters to 'last' only,
    `attention_dim` (d_a), `hops` (r) and `penalty` (coefficient) to 'attention' only."""
    if kind == "attention":
        return SelfAttentionPooling(input_dim, attention_dim, hops, penalty)
    if kind == "last":
        return LastPooling(input_dim, bidirectional)
    if kind == "mean":
        return MeanPooling(input_dim)
    if kind == "max":
        return MaxPooling(input_dim)
    raise ValueError(f"unknown pooling {kind!r}, expected one of {', '.join(POOLINGS)}")
