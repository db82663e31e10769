"""A model over an encoded set: class probabilities in input order, mean loss, attention.

The one scoring loop, shared by prediction (`Predictor`) and training (validation each epoch);
it knows nothing of worker processes (those are `runs.inference`).
"""

from __future__ import annotations

import numpy as np
import torch

from tweetsent.data.batching import batch_inputs, length_batches, pad_batch
from tweetsent.data.prepare import EncodedSet


@torch.inference_mode()
def run_model(
    model: torch.nn.Module,
    data: EncodedSet,
    batch_size: int,
    device: torch.device,
    with_attention: bool = False,
) -> tuple[np.ndarray, float, list[np.ndarray | None]]:
    """Class probabilities (n, C) in input order, mean loss where labels are known, attention.

    Rows are processed in length-grouped batches (most without padding, see `length_batches`)
    and put back in order.
    """
    model.eval()
    n = len(data)
    probs: np.ndarray | None = None
    attention: list[np.ndarray | None] = [None] * n
    total_loss, labelled = 0.0, 0
    for index in length_batches(data.lengths, batch_size):
        tokens, lengths, labels = pad_batch(data, index)
        known = bool((labels >= 0).all())
        targets = labels.to(device) if known else None
        out = model(tokens.to(device), lengths, targets, **batch_inputs(data, index))
        batch_probs = torch.softmax(out.logits.float(), dim=-1).cpu().numpy()
        if probs is None:
            probs = np.zeros((n, batch_probs.shape[1]), dtype=np.float32)
        probs[index] = batch_probs
        if known and out.loss is not None:
            total_loss += float(out.loss) * len(index)
            labelled += len(index)
        if with_attention and out.attention is not None:
            weights = out.attention.float().cpu().numpy()  # (B, hops, T)
            for row, i in enumerate(index):
                attention[i] = weights[row, :, : int(lengths[row])]
    if probs is None:
        probs = np.zeros((0, 0), dtype=np.float32)
    return probs, (total_loss / labelled if labelled else float("nan")), attention
