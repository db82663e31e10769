"""Precomputed per-token features of a corpus (the ELMo cache), read by row index at batch time.

Each tweet's features are `length` consecutive rows of a (rows, layers, dim) float16 array,
normally a memory-mapped `.npy` chunk of the feature cache (`tweetsent.embed.elmo.store`).
A batch copies its tweets' rows into one padded array, so training from cached features
costs a memory copy per batch instead of a biLM forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass
class FeatureBatch:
    """Features of a batch of B tweets padded to T tokens, as an embedder receives them."""

    layers: torch.Tensor  # (L, B, T, D) float16, zeros at padding
    mask: torch.Tensor  # (B, T) bool, True at real tokens


class FeatureRows:
    """Features of n tweets: tweet i is rows [start[i], start[i] + length[i]) of arrays[chunk[i]].

    Every array is (rows, L, D) float16, usually a read-only `np.memmap`.
    """

    def __init__(
        self,
        arrays: Sequence[np.ndarray],
        chunk: np.ndarray,
        start: np.ndarray,
        length: np.ndarray,
    ) -> None:
        if not arrays:
            raise ValueError("FeatureRows needs at least one array")
        shapes = {a.shape[1:] for a in arrays}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"feature arrays must all be (rows, L, D), got {sorted(shapes)}")
        if not len(chunk) == len(start) == len(length):
            raise ValueError("chunk, start and length must have one entry per tweet")
        self.arrays = list(arrays)
        self.chunk = np.asarray(chunk, dtype=np.int64)
        self.start = np.asarray(start, dtype=np.int64)
        self.length = np.asarray(length, dtype=np.int64)
        self.num_layers, self.dim = next(iter(shapes))

    def __len__(self) -> int:
        return len(self.length)

    def rows(self, i: int) -> np.ndarray:
        """Tweet i's features, (length, L, D) float16."""
        start = int(self.start[i])
        return self.arrays[int(self.chunk[i])][start : start + int(self.length[i])]

    def batch(self, index: np.ndarray) -> FeatureBatch:
        """The tweets in `index`, padded to the longest (at least one column)."""
        import torch  # lazy: a command that only reads inputs imports no torch (runs.helper)

        lengths = self.length[index]  # (B,)
        width = max(int(lengths.max()) if len(index) else 0, 1)
        out = np.zeros((self.num_layers, len(index), width, self.dim), dtype=np.float16)
        for row, i in enumerate(index):  # each layer contiguous: the mix reads layer by layer
            out[:, row, : lengths[row]] = self.rows(int(i)).transpose(1, 0, 2)
        layers = torch.from_numpy(out)  # (L, B, T, D)
        mask = torch.arange(width)[None, :] < torch.from_numpy(lengths)[:, None]  # (B, T)
        return FeatureBatch(layers, mask)
