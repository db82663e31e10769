"""The initial embedding matrix of a vocabulary, and how much of it the word vectors cover."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tweetsent.embed.vectors import WordVectors


@dataclass
class Coverage:
    """How many vocabulary words (row 0, padding, excluded) have a pretrained vector.

    `tokens_*` weigh each word by its corpus count when counts were given (else they equal the
    vocabulary numbers). `oov` lists the most frequent words without a vector.
    """

    words: int  # vocabulary words, padding excluded
    found: int  # of which have a vector (exactly or lowercased)
    found_lower: int  # of which only through their lowercase form
    tokens: int  # token occurrences in the corpus
    tokens_found: int
    oov: list[str] = field(default_factory=list)

    @property
    def vocab_rate(self) -> float:
        return self.found / self.words if self.words else 0.0

    @property
    def token_rate(self) -> float:
        return self.tokens_found / self.tokens if self.tokens else 0.0

    def __str__(self) -> str:
        text = (
            f"OOV coverage: {self.vocab_rate:.1%} of {self.words:,} vocabulary words and "
            f"{self.token_rate:.1%} of {self.tokens:,} tokens have a vector "
            f"({self.found_lower:,} through lowercase)"
        )
        if self.oov:
            text += "; most frequent missing: " + " ".join(self.oov)
        return text


def embedding_matrix(
    vocab_tokens: Sequence[str],
    vectors: WordVectors | None,
    dim: int,
    seed: int,
    counts: Sequence[int] | None = None,
    show_oov: int = 10,
) -> tuple[np.ndarray, Coverage]:
    """Rows for `vocab_tokens` (id order): pretrained vector, else random, row 0 (padding) zero.

    Lookup tries the token, then its lowercase form. Random rows are N(0, s^2) with s the std of
    the pretrained values (s = 1, like `nn.Embedding`, without vectors). `dim` is only used
    without vectors; with vectors the matrix has their dimension. Returns a float32 (V, D) array.
    """
    if counts is not None and len(counts) != len(vocab_tokens):
        raise ValueError(f"{len(counts)} counts for {len(vocab_tokens)} vocabulary words")
    width = vectors.dim if vectors is not None else dim
    scale = vectors.std() if vectors is not None else 1.0
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale, size=(len(vocab_tokens), width)).astype(np.float32)
    weights = np.ones(len(vocab_tokens), dtype=np.int64) if counts is None else np.asarray(counts)
    rows, sources, lowered = _lookup(vocab_tokens, vectors)
    if rows and vectors is not None:  # rows are found only in vectors
        matrix[rows] = vectors.vectors[np.asarray(sources)]
    if len(vocab_tokens):
        matrix[0] = 0.0
    found = np.zeros(len(vocab_tokens), dtype=bool)
    found[rows] = True
    found[:1] = False
    missing = np.flatnonzero(~found[1:]) + 1  # vocabulary rows without a vector
    order = missing[np.argsort(-weights[missing], kind="stable")][:show_oov]
    coverage = Coverage(
        words=max(len(vocab_tokens) - 1, 0),
        found=int(found.sum()),
        found_lower=lowered,
        tokens=int(weights[1:].sum()),
        tokens_found=int(weights[found].sum()),
        oov=[vocab_tokens[i] for i in order],
    )
    return matrix, coverage


def _lookup(
    vocab_tokens: Sequence[str], vectors: WordVectors | None
) -> tuple[list[int], list[int], int]:
    """(vocabulary rows, vector rows, how many matched only in lowercase), padding skipped."""
    rows: list[int] = []
    sources: list[int] = []
    lowered = 0
    if vectors is None:
        return rows, sources, lowered
    index = vectors.index
    for row, token in enumerate(vocab_tokens):
        if row == 0:
            continue
        source = index.get(token)
        if source is None:
            source = index.get(token.lower())
            lowered += source is not None
        if source is not None:
            rows.append(row)
            sources.append(source)
    return rows, sources, lowered
