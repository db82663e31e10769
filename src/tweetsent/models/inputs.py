"""The input side of the model contract: `forward(tokens (B, T), lengths (B,), ...)`.

Tokens are padded with id 0 after the real tokens; lengths count the real tokens (on any
device). Shared by every classifier so that they read a batch the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def checked_lengths(lengths: torch.Tensor | Sequence[int], max_len: int) -> torch.Tensor:
    """Lengths as a CPU int64 tensor, 0 raised to 1; a length beyond the padded width fails."""
    lengths = torch.as_tensor(lengths).detach().to("cpu", torch.int64)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1-D, got shape {tuple(lengths.shape)}")
    if lengths.numel() and int(lengths.max()) > max_len:
        raise ValueError(f"a length of {int(lengths.max())} exceeds the {max_len} token columns")
    return lengths.clamp(min=1)


def lengths_mask(lengths: torch.Tensor, max_len: int, device: torch.device) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool mask, True at real tokens."""
    positions = torch.arange(max_len, device=device)  # (T,)
    return positions[None, :] < lengths.to(device)[:, None]  # (B, T)


def embed(
    embedder: nn.Module, tokens: torch.Tensor, words: Sequence[Sequence[str]] | None
) -> torch.Tensor:
    """Call an embedder, passing the token strings (for ELMo) only when there are some."""
    return embedder(tokens) if words is None else embedder(tokens, words=words)
