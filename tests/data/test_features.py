"""Precomputed per-token features: padded batches by row index, and what batches pass on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tweetsent.data.batching import batch_inputs
from tweetsent.data.features import FeatureBatch, FeatureRows
from tweetsent.data.prepare import EncodedSet


def make_rows() -> FeatureRows:
    """Three tweets (lengths 2, 0, 3) in two chunks; row r of chunk c holds value 10c + r."""
    first = np.arange(4, dtype=np.float16)[:, None, None] * np.ones((1, 2, 3), np.float16)
    second = 10 + np.arange(3, dtype=np.float16)[:, None, None] * np.ones((1, 2, 3), np.float16)
    return FeatureRows(
        [first, second], np.array([0, 0, 1]), np.array([2, 4, 0]), np.array([2, 0, 3])
    )


def test_batch_pads_rows_in_index_order() -> None:
    batch = make_rows().batch(np.array([2, 0, 1]))
    assert batch.layers.shape == (2, 3, 3, 3) and batch.layers.dtype == torch.float16
    assert batch.layers[0, :, :, 0].tolist() == [[10, 11, 12], [2, 3, 0], [0, 0, 0]]
    assert batch.mask.tolist() == [[True] * 3, [True, True, False], [False] * 3]


def test_rows_must_share_a_shape() -> None:
    with pytest.raises(ValueError, match="must all be"):
        FeatureRows([np.zeros((2, 2, 3)), np.zeros((2, 3, 3))], [0], [0], [1])


def test_batch_inputs_prefers_features_then_words() -> None:
    data = EncodedSet.from_ids([[2, 3], [], [4, 5, 6]], [0, 1, 2])
    index = np.array([2, 0])
    assert batch_inputs(data, index) == {}
    data.words = [["a", "b"], [], ["c", "d", "e"]]
    assert batch_inputs(data, index) == {"words": [["c", "d", "e"], ["a", "b"]]}
    data.features = make_rows()
    assert isinstance(batch_inputs(data, index)["words"], FeatureBatch)
