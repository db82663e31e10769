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


def test_picked_layers_are_copied_alone_in_their_order() -> None:
    """Layer l of row r holds 100 l + r: a batch of picked layers (2, 0) is layers 2 then 0 of
    the full batch, for tweets spread over two chunks, in index order."""
    first = (np.arange(5)[:, None, None] + 100 * np.arange(3)[None, :, None]) * np.ones((1, 1, 4))
    second = first[:3] + 50
    rows = FeatureRows(
        [first.astype(np.float16), second.astype(np.float16)],
        np.array([0, 1, 0, 1]),
        np.array([0, 0, 2, 1]),
        np.array([2, 3, 3, 1]),
    )
    index = np.array([3, 0, 1, 2])
    full = rows.batch(index)
    picked = rows.pick([2, 0]).batch(index)
    assert full.layers.shape == (3, 4, 3, 4) and picked.layers.shape == (2, 4, 3, 4)
    assert picked.picked == (2, 0) and full.picked == (0, 1, 2)
    assert torch.equal(picked.layers, full.layers[[2, 0]])
    assert torch.equal(picked.mask, full.mask)
    assert full.layers[2, :, :, 0].tolist() == [
        [251, 0, 0],
        [200, 201, 0],
        [250, 251, 252],
        [202, 203, 204],
    ]
    with pytest.raises(ValueError, match="must lie in 0..2"):
        rows.pick([3])


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
