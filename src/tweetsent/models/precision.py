"""Mixed precision for serving, as a classifier applies it to itself (`float64_head`).

The embedder and the encoder stay float32 (oneDNN's fast LSTM); the pooling and the head run in
float64, so that the width-dependent reductions over the time axis (attention softmax, A H) round
the same whatever else is in the batch. A contextual embedder (ELMo) also runs in float64 and
hands float32 on (its float16-rounded output is exact in float32). See `serve.precision`.
"""

from __future__ import annotations

import torch
from torch import nn


def float64_head(embedder: nn.Module, pooling: nn.Module, head: nn.Module) -> None:
    """Put a classifier's pooling and head (and a contextual embedder) in float64."""
    pooling.double()
    head.double()
    pooling.register_forward_pre_hook(_float64_inputs)
    if getattr(embedder, "needs_words", False):  # ELMo: its biLM in float64, output float32
        embedder.double()
        embedder.register_forward_hook(_float32_output)


def _float64_inputs(module: nn.Module, args: tuple) -> tuple:
    return tuple(
        a.double() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args
    )


def _float32_output(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
    return output.float()
