"""The initial embedding matrix and its OOV coverage report, on a tiny vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from tweetsent.embed import WordVectors, embedding_matrix

VECTORS = WordVectors(
    ["good", "bad", "the", "<user>"],
    np.array([[1, 1], [-1, -1], [0, 2], [3, 3]], dtype=np.float32),
)
VOCAB = ["<pad>", "<unk>", "the", "Good", "lol", "bad", "<user>"]
COUNTS = [0, 5, 50, 10, 30, 5, 0]


def test_rows_padding_lookup_and_lowercase() -> None:
    matrix, _ = embedding_matrix(VOCAB, VECTORS, dim=99, seed=0, counts=COUNTS)
    assert matrix.shape == (7, 2) and matrix.dtype == np.float32  # dim comes from the vectors
    np.testing.assert_array_equal(matrix[0], 0.0)
    np.testing.assert_array_equal(matrix[2], [0, 2])
    np.testing.assert_array_equal(matrix[3], [1, 1])  # "Good" found as "good"
    np.testing.assert_array_equal(matrix[6], [3, 3])
    assert not np.isin(matrix[[1, 4]], VECTORS.vectors).any()  # random rows


def test_coverage_numbers() -> None:
    _, coverage = embedding_matrix(VOCAB, VECTORS, dim=2, seed=0, counts=COUNTS)
    assert (coverage.words, coverage.found, coverage.found_lower) == (6, 4, 1)
    assert (coverage.tokens, coverage.tokens_found) == (100, 65)
    assert coverage.vocab_rate == pytest.approx(4 / 6)
    assert coverage.token_rate == pytest.approx(0.65)
    assert coverage.oov == ["lol", "<unk>"]  # most frequent first
    text = str(coverage)
    assert text.startswith("OOV coverage: 66.7% of 6 vocabulary words and 65.0% of 100 tokens")
    assert "1 through lowercase" in text and "lol <unk>" in text


def test_coverage_without_counts_weighs_words_equally() -> None:
    _, coverage = embedding_matrix(VOCAB, VECTORS, dim=2, seed=0)
    assert (coverage.tokens, coverage.tokens_found) == (6, 4)


def test_random_rows_are_seeded_and_scaled_like_the_vectors() -> None:
    big = WordVectors(
        [f"w{i}" for i in range(500)],
        np.random.default_rng(1).normal(0, 0.25, (500, 40)).astype(np.float32),
    )
    vocab = ["<pad>"] + [f"oov{i}" for i in range(500)]
    first, _ = embedding_matrix(vocab, big, dim=40, seed=3)
    again, _ = embedding_matrix(vocab, big, dim=40, seed=3)
    other, _ = embedding_matrix(vocab, big, dim=40, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first[1:].std() == pytest.approx(0.25, rel=0.05)


def test_without_vectors_all_rows_random_but_padding() -> None:
    matrix, coverage = embedding_matrix(VOCAB, None, dim=8, seed=0)
    assert matrix.shape == (7, 8)
    np.testing.assert_array_equal(matrix[0], 0.0)
    assert (matrix[1:] != 0).all()
    assert coverage.found == 0 and coverage.vocab_rate == 0.0


def test_counts_must_match_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="3 counts for 7 vocabulary words"):
        embedding_matrix(VOCAB, VECTORS, dim=2, seed=0, counts=[1, 2, 3])
