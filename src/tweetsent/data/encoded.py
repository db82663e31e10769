"""Token ids of a corpus as flat arrays: what every model and scorer reads (`EncodedSet`).

Its own module, light to import (numpy only): prediction and the scoring helper process read
encoded sets without importing the training-data preparation (`data.prepare`) around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tweetsent.data.features import FeatureRows


@dataclass
class EncodedSet:
    """Token ids of a corpus, stored flat (ids + offsets) to keep 1M+ tweets small in memory.

    For a contextual embedder (ELMo) it also carries what the biLM reads (`words`, for features
    computed on the fly) or cached per-token features (`features`); batches pass them on.
    """

    ids: np.ndarray  # (total_tokens,) int32
    offsets: np.ndarray  # (n + 1,) int64
    labels: np.ndarray  # (n,) int64, -1 when unknown
    words: list | None = None  # what the biLM reads per tweet: tokens or ElmoInput (no cache)
    features: FeatureRows | None = None  # each tweet's cached ELMo layers

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_ids(cls, id_lists: Sequence[Sequence[int]], labels: Sequence[int]) -> EncodedSet:
        lengths = np.fromiter((len(x) for x in id_lists), dtype=np.int64, count=len(id_lists))
        offsets = np.zeros(len(id_lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter((i for x in id_lists for i in x), dtype=np.int32, count=int(offsets[-1]))
        return cls(ids, offsets, np.asarray(labels, dtype=np.int64))
