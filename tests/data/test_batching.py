"""Padded batches and the length-grouped batches of inference."""

from __future__ import annotations

import numpy as np
import pytest

from tweetsent.data.batching import length_batches, pad_batch
from tweetsent.data.prepare import EncodedSet


def test_pad_batch_pads_after_the_tokens_and_reads_empty_rows_as_one() -> None:
    data = EncodedSet.from_ids([[5, 6, 7], [], [8], [9, 10]], [0, 1, 2, -1])
    tokens, lengths, labels = pad_batch(data, np.array([3, 1, 0]))
    assert tokens.tolist() == [[9, 10, 0], [0, 0, 0], [5, 6, 7]]
    assert lengths.tolist() == [2, 1, 3]
    assert labels.tolist() == [-1, 1, 0]


@pytest.mark.parametrize("n", [0, 1, 40, 3000])
def test_length_batches_cover_every_row_once_within_the_size(n: int) -> None:
    lengths = np.random.default_rng(n).integers(0, 30, n)
    batches = list(length_batches(lengths, batch_size=64))
    rows = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    assert sorted(rows.tolist()) == list(range(n))
    assert all(0 < len(b) <= 64 for b in batches)


def test_length_batches_without_padding_where_lengths_are_common() -> None:
    lengths = np.random.default_rng(0).permutation(np.repeat([3, 7, 12], [200, 130, 70]))
    batches = list(length_batches(lengths, 64))  # every group >= min_rows (16)
    assert all(len(set(lengths[b].tolist())) == 1 for b in batches)  # one length a batch
    assert len(batches) == 4 + 3 + 2  # near-equal parts: 200 -> 4, 130 -> 3, 70 -> 2


def test_length_batches_gather_rare_lengths_and_keep_small_inputs_whole() -> None:
    assert len(list(length_batches(np.arange(30), batch_size=512))) == 1  # 30 lengths, 1 call
    lengths = np.array([0, 1, 1, 2, 5, 5, 5, 5])  # an empty row counts as length 1
    batches = list(length_batches(lengths, batch_size=4, min_rows=3))
    # length 1: 3 rows; the lone length-2 row joins the 5s; 5 rows -> 2 near-equal batches
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4], [5, 6, 7]]
