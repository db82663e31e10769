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
    picked: tuple[int, ...] | None = None  # the cache's layers `layers` holds; None: all


Gather = tuple[int, np.ndarray, np.ndarray]  # chunk, (B, T) cells, its rows for them


class FeatureRows:
    """Features of n tweets: tweet i is rows [start[i], start[i] + length[i]) of arrays[chunk[i]].

    Every array is (rows, L, D) float16, usually a read-only `np.memmap` of the cache. A batch
    holds the layers `picked` (what the embedder's scalar mix reads; None: all L), so a
    one-layer mix copies one layer in seven.
    """

    def __init__(
        self,
        arrays: Sequence[np.ndarray],
        chunk: np.ndarray,
        start: np.ndarray,
        length: np.ndarray,
        picked: Sequence[int] | None = None,
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
        count, self.dim = next(iter(shapes))
        self.picked = tuple(range(count)) if picked is None else tuple(int(i) for i in picked)
        if not self.picked or any(not 0 <= i < count for i in self.picked):
            raise ValueError(f"picked layers {list(self.picked)} must lie in 0..{count - 1}")
        self._all = self.picked == tuple(range(count))

    @property
    def num_layers(self) -> int:
        """Layers in a batch."""
        return len(self.picked)

    def __len__(self) -> int:
        return len(self.length)

    def rows(self, i: int) -> np.ndarray:
        """Tweet i's features, (length, L, D) float16 over all the cache's layers."""
        start = int(self.start[i])
        return self.arrays[int(self.chunk[i])][start : start + int(self.length[i])]

    def pick(self, layers: Sequence[int] | None) -> FeatureRows:
        """The same tweets, batches holding only `layers` of the cache (None: all)."""
        return FeatureRows(self.arrays, self.chunk, self.start, self.length, layers)

    def _plan(self, index: np.ndarray) -> tuple[list[Gather], np.ndarray]:
        """Per chunk c holding some of `index`'s tweets: (c, its cells of the (B, T) grid,
        its rows for them); and the (B, T) grid of real tokens."""
        lengths = self.length[index]
        width = max(int(lengths.max()) if len(index) else 0, 1)
        columns = np.arange(width)
        real = columns[None, :] < lengths[:, None]  # (B, T)
        source = self.start[index][:, None] + columns[None, :]  # (B, T): row in its chunk
        chunks = np.broadcast_to(self.chunk[index][:, None], real.shape)
        plan = []
        for c in np.unique(self.chunk[index]):
            sel = real & (chunks == c)
            plan.append((int(c), sel, source[sel]))
        return plan, real

    def _read(self, c: int, rows: np.ndarray) -> np.ndarray:
        """(n, L', D): these rows of chunk c over the picked layers."""
        if self._all:
            return self.arrays[c][rows]
        return self.arrays[c][rows[:, None], np.asarray(self.picked)[None, :]]

    def batch(self, index: np.ndarray) -> FeatureBatch:
        """The tweets in `index`, padded to the longest (at least one column)."""
        import torch  # lazy: a command that only reads inputs imports no torch (runs.helper)

        index = np.asarray(index, dtype=np.int64)
        plan, real = self._plan(index)
        out = np.zeros((*real.shape, self.num_layers, self.dim), dtype=np.float16)
        for c, sel, rows in plan:  # (B, T, L', D): whole rows copied, as the cache holds them
            out[sel] = self._read(c, rows)
        layers = torch.from_numpy(out).permute(2, 0, 1, 3)  # (L', B, T, D), a view
        return FeatureBatch(layers, torch.from_numpy(real), self.picked)
