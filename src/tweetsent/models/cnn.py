"""The convolutional encoder: Kim 2014, "Convolutional Neural Networks for Sentence Classification".

For each width w in `widths`, `filters` feature maps over windows of w tokens, centred on each
token (zero padding around the tweet), ReLU:

    c_t^w = relu(W_w [x_{t - l}; ...; x_{t + r}] + b_w),   l = (w - 1) // 2, r = w - 1 - l

and the states are the concatenation [c_t^w1; c_t^w2; ...] of shape (B, T, filters * widths),
zero at padding. It takes the place of `RNNEncoder` in `SequenceClassifier` (same contract: the
pooling and head that follow are shared), so max pooling over time gives Kim's model and
attention pooling works too. Positions after a tweet's length are zeroed before every
convolution, so a tweet gets the same states alone or in a batch of longer tweets.

A different kind of model over the same inputs as the BiLSTM: in an ensemble it errs
differently (the SemEval-2017 winner, BB_twtr, mixed CNNs and BiLSTMs).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tweetsent.models.inputs import lengths_mask, unpadded


class CNNEncoder(nn.Module):
    """`filters` feature maps per width in `widths` -> states (B, T, filters * len(widths))."""

    def __init__(self, input_dim: int, filters: int, widths: Sequence[int]) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if not widths or min(widths) < 1 or filters < 1:
            raise ValueError(f"need widths >= 1 and filters >= 1, got {widths}, {filters}")
        self.widths = widths
        self.convs = nn.ModuleList(nn.Conv1d(input_dim, filters, w) for w in widths)
        self.output_dim = filters * len(widths)

    def forward(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """embedded (B, T, D), lengths (B,) each in 1..T -> states (B, T, H), 0 at padding."""
        width = embedded.shape[1]
        mask = None
        if not unpadded(lengths, width):
            mask = lengths_mask(lengths, width, embedded.device)[:, None, :]  # (B, 1, T)
        x = embedded.transpose(1, 2)  # (B, D, T)
        if mask is not None:
            x = x.masked_fill(~mask, 0.0)  # padding reads as the zero padding around a tweet
        maps = []
        for w, conv in zip(self.widths, self.convs, strict=True):
            left = (w - 1) // 2
            padded = nn.functional.pad(x, (left, w - 1 - left))  # (B, D, T + w - 1)
            maps.append(torch.relu(conv(padded)))  # (B, F, T)
        states = torch.cat(maps, dim=1)  # (B, H, T)
        if mask is not None:
            states = states.masked_fill(~mask, 0.0)
        return states.transpose(1, 2)  # (B, T, H)
