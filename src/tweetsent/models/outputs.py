"""What every classifier returns, and the loss they share."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class ClassifierOutput:
    """logits (B, C); loss: scalar when labels were given; attention (B, hops, T) and penalty
    (scalar, already in `loss`) when the pooling is self-attention, else None."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None
    attention: torch.Tensor | None = None
    penalty: torch.Tensor | None = None


def classifier_output(
    logits: torch.Tensor,
    labels: torch.Tensor | None,
    class_weights: torch.Tensor | None = None,
    attention: torch.Tensor | None = None,
    penalty: torch.Tensor | None = None,
) -> ClassifierOutput:
    """Package logits; with labels, loss = cross-entropy (class-weighted if given) + penalty."""
    loss = None
    if labels is not None:
        loss = F.cross_entropy(logits, labels.to(logits.device), weight=class_weights)
        if penalty is not None:
            loss = loss + penalty
    return ClassifierOutput(logits=logits, loss=loss, attention=attention, penalty=penalty)
