"""Turning token lists into padded tensors, in length-bucketed batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from tweetsent.data.encoded import EncodedSet

if TYPE_CHECKING:
    import torch


def pad_batch(
    data: EncodedSet, index: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded tokens (B, T), lengths (B,) and labels (B,) for the rows in `index`, as tensors.

    An empty tweet gets length 1 with the padding id, so every row has a defined output.
    """
    import torch  # lazy: `pad_ids` and the batch order serve torch-free scoring (runs.onnxrt)

    tokens, lengths = pad_ids(data, index)
    return torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(data.labels[index])


def pad_ids(data: EncodedSet, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Padded tokens (B, T) int64 (0 at padding) and lengths (B,) int64 of the rows in
    `index`; an empty tweet is one padding token (length 1)."""
    starts, ends = data.offsets[index], data.offsets[index + 1]
    lengths = np.maximum(ends - starts, 1)
    steps = np.arange(int(lengths.max()) if len(index) else 1)  # (T,)
    real = steps[None, :] < (ends - starts)[:, None]  # (B, T): True at real tokens
    tokens = np.zeros(real.shape, dtype=np.int64)  # (B, T)
    tokens[real] = data.ids[(starts[:, None] + steps[None, :])[real]]
    return tokens, lengths


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
    batches: list[np.ndarray] = []
    for start in range(0, n, chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    for b in rng.permutation(len(batches)):
        yield batches[b]


def length_batches(
    lengths: np.ndarray, batch_size: int, min_rows: int | None = None
) -> Iterator[np.ndarray]:
    """Batches for inference, most of them without any padding: rows sorted by length (an
    empty row counts as length 1, as the models read it) and grouped by length; a group of at
    least `min_rows` rows (default batch_size // 4) is cut into near-equal batches of at most
    `batch_size` rows, smaller groups are gathered with the next lengths until `min_rows`.

    So an input of a few dozen texts is still one model call, and a large one is read almost
    without padding.
    """
    n = len(lengths)
    min_rows = max(1, batch_size // 4) if min_rows is None else min_rows
    sizes = np.maximum(np.asarray(lengths), 1)
    order = np.argsort(sizes, kind="stable")
    changes = (np.flatnonzero(np.diff(sizes[order])) + 1).tolist()  # where a length begins
    start = 0  # first row not yet in a batch
    for end in [*changes, n]:
        rows = end - start
        if rows < min_rows and end < n or rows == 0:
            continue  # gather with the next length(s)
        parts = -(-rows // batch_size)
        cuts = [start + rows * i // parts for i in range(parts + 1)]
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            yield order[a:b]
        start = end
