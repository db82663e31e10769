"""Turning token lists into padded tensors, in length-bucketed batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from tweetsent.data.prepare import EncodedSet


def pad_batch(
    data: EncodedSet, index: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded tokens (B, T), lengths (B,) and labels (B,) for the rows in `index`.

    An empty tweet gets length 1 with the padding id, so every row has a defined output.
    """
    starts, ends = data.offsets[index], data.offsets[index + 1]
    lengths = np.maximum(ends - starts, 1)
    tokens = np.zeros((len(index), int(lengths.max())), dtype=np.int64)  # (B, T)
    for row, (start, end) in enumerate(zip(starts, ends, strict=True)):
        tokens[row, : end - start] = data.ids[start:end]
    return torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(data.labels[index])


def batch_inputs(data: EncodedSet, index: np.ndarray) -> dict[str, Any]:
    """Keyword arguments for the model beyond tokens and lengths: `words=` the cached features
    (`FeatureBatch`) or the token strings of the rows in `index`, for a contextual embedder
    (ELMo); nothing for word-level models."""
    if data.features is not None:
        return {"words": data.features.batch(index)}
    if data.words is not None:
        return {"words": [data.words[i] for i in index]}
    return {}


def bucketed_batches(
    lengths: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0, bucket_factor: int = 50
) -> Iterator[np.ndarray]:
    """Batches of similar-length rows: less padding, same examples.

    With shuffle, rows are shuffled, sorted by length within chunks of `bucket_factor` batches,
    cut into batches, and the batches shuffled again. Without shuffle, rows are sorted by length.
    """
    n = len(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]
        return
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    chunk = batch_size * bucket_factor
    batches = []
    for start in range(0, n, chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    for b in rng.permutation(len(batches)):
        yield batches[b]
