"""The input side of the model contract: `forward(tokens (B, T), lengths (B,), ...)`.

Tokens are padded with id 0 after the real tokens; lengths count the real tokens (on any
device). Shared by every classifier so that they read a batch the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def checked_inputs(
    tokens: torch.Tensor, lengths: torch.Tensor | Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens at least one column wide, lengths as a CPU int64 tensor with 0 raised to 1 (an
    empty tweet is read as one padding token); a length beyond the padded width fails."""
    if tokens.ndim != 2:
        raise ValueError(f"tokens must be (batch, time), got shape {tuple(tokens.shape)}")
    if tokens.shape[1] == 0:
        tokens = tokens.new_zeros(tokens.shape[0], 1)  # (B, 1): a batch of empty tweets
    lengths = torch.as_tensor(lengths).detach().to("cpu", torch.int64)
    if lengths.shape != tokens.shape[:1]:
        raise ValueError(f"{tuple(lengths.shape)} lengths for {tokens.shape[0]} tweets")
    width = tokens.shape[1]
    if lengths.numel() and int(lengths.max()) > width:
        raise ValueError(f"a length of {int(lengths.max())} exceeds the {width} token columns")
    return tokens, lengths.clamp(min=1)


def lengths_mask(lengths: torch.Tensor, max_len: int, device: torch.device) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool mask, True at real tokens."""
    positions = torch.arange(max_len, device=device)  # (T,)
    return positions[None, :] < lengths.to(device, non_blocking=True)[:, None]  # (B, T)


def unpadded(lengths: torch.Tensor, width: int) -> bool:
    """Whether a batch has no padding: every length reaches the padded width `width`.

    Modules choose their unpadded fast path with this, from the CPU lengths of
    `checked_inputs`, never from a mask: on CUDA, reading a device value (`bool(mask.all())`)
    would stall every step until the device catches up."""
    return bool((lengths >= width).all())


def embed(
    embedder: nn.Module, tokens: torch.Tensor, words: Sequence[Sequence[str]] | None
) -> torch.Tensor:
    """Call an embedder, passing the token strings (for ELMo) only when there are some."""
    return embedder(tokens) if words is None else embedder(tokens, words=words)
