"""The helpers of the parallel prediction path: the id encoder, distinct texts, the slice plan."""

from __future__ import annotations

import numpy as np
import pytest

from tweetsent.config import RunConfig, TextConfig
from tweetsent.runs.inference import (
    CONTEXTUAL_SLICE_ROWS,
    SLICE_ROWS,
    IdEncoder,
    QueuedScorer,
    _slices,
    distinct,
    done,
    queue_scores,
    slice_rows_for,
)
from tweetsent.text import Normalizer, Vocabulary

TEXTS = [
    "",
    "  \t ",
    "Love love LOVE this :) :) #happy http://t.co/x @friend",
    "the worst worst day :( sooooo sad!!!! don't",
    "UNSEEN wordz &amp; &lt;3 café “quoted” 😂😂😂 👍🏽",
    " ".join(["great", "awful"] * 20),  # over the cap
    "meeting tuesday",
]


@pytest.mark.parametrize("memo_size", [0, 3, 200_000])
@pytest.mark.parametrize("max_tokens", [0, 6])
def test_id_encoder_is_tokenize_then_encode(memo_size: int, max_tokens: int) -> None:
    normalizer = Normalizer(TextConfig(max_tokens=max_tokens))
    vocab = Vocabulary(["<pad>", "<unk>", "love", "great", ":)", "<hashtag>", "n't", "..."])
    expected = [vocab.encode(normalizer.tokenize(t)) for t in TEXTS]
    encoder = IdEncoder(normalizer, vocab, memo_size=memo_size)
    for texts in (TEXTS, TEXTS[::-1] + TEXTS):  # a cold memo, then a warm one
        ids, offsets = encoder.encode(texts)
        assert ids.dtype == np.int32 and offsets.dtype == np.int64 and offsets[0] == 0
        got = [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
        assert got == [expected[TEXTS.index(t)] for t in texts]
    assert max(map(len, expected)) == (max_tokens or 40)


def test_distinct_keeps_first_seen_order_and_maps_back() -> None:
    texts = ["b", "a", "b", "", "a", "c"]
    unique, inverse = distinct(texts)
    assert unique == ["b", "a", "", "c"]
    assert [unique[i] for i in inverse] == texts


@pytest.mark.parametrize("n", [0, 1, 1999, 20_000, 96_375, 1_000_000])
def test_slices_cover_every_row_once_in_order(n: int) -> None:
    bounds = _slices(n, workers=2)
    starts, ends = [a for a, _ in bounds], [b for _, b in bounds]
    assert starts == [0, *ends[:-1]][: len(starts)]
    assert (ends[-1] if ends else 0) == n
    assert all(b > a for a, b in bounds)
    if n >= 96_375:  # a ramp: small slices first and last, so workers start and end together
        sizes = [b - a for a, b in bounds]
        assert sizes[0] < max(sizes) and sizes[-1] < max(sizes)


def test_slow_runs_are_queued_in_small_slices() -> None:
    """A transformer or ELMo run scores tens of tweets a second: its queued slices are small,
    so that 2,000 tweets keep both of a helper's threads busy (one slice would leave them to
    one); the other runs keep slices of SLICE_ROWS."""
    assert slice_rows_for(RunConfig()) == SLICE_ROWS
    for fields in ({"embed.transformer": "m"}, {"embed.elmo_model": "small"}):
        kind = "transformer" if "embed.transformer" in fields else "elmo"
        config = RunConfig().with_overrides({"embed.kind": kind, **fields})
        assert slice_rows_for(config) == CONTEXTUAL_SLICE_ROWS

    class Recorder(QueuedScorer):
        threads = 2

        def __init__(self, slice_rows: int) -> None:
            self.slice_rows = slice_rows
            self.sizes: list[int] = []

        def submit(self, data):
            self.sizes.append(len(data))
            return done((np.zeros((len(data), 3), dtype=np.float32), np.ones(len(data))))

    texts = [f"tweet number {i}" for i in range(2_000)]
    for rows, slices in ((0, 1), (CONTEXTUAL_SLICE_ROWS, 8)):  # 2,000 / (2 threads x 4)
        scorer = Recorder(rows)
        probs, _ = queue_scores(lambda part: part, texts, scorer).result()
        assert probs.shape == (2_000, 3) and sum(scorer.sizes) == 2_000
        assert len(scorer.sizes) == slices
