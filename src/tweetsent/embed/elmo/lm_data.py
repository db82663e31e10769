"""The language-model corpus for biLM pretraining: streamed from disk, never held in memory.

A corpus is one or more text files, one tweet per line (or one tab-separated field of each
line, `column`, e.g. 2 for SemEval's `id<TAB>label<TAB>text`). Tokens are either the raw
whitespace-separated words or tweetsent's normalizer's tokens (`clean=True`, the tokens the
classifier gives ELMo).

Every line number `i` with `i % heldout_every == 0` (while fewer than `heldout_max` are taken)
is held out for perplexity and never trained on; the rest is the training stream. Memory: the
vocabulary pass keeps one count per distinct token; the batch stream keeps one shuffle chunk
(`chunk_lines` sentences); the held-out set is capped. Nothing else is kept.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tweetsent.errors import DataError
from tweetsent.io import atomic_write

BOS, EOS, UNK = "<S>", "</S>", "<UNK>"  # bilm-tf's vocabulary file starts with these


@dataclass(frozen=True)
class CorpusSpec:
    """Where the sentences come from and how they are split into tokens and held out."""

    files: tuple[str, ...]
    column: int | None = None  # tab-separated field (0-based); None: the whole line
    clean: bool = False  # tweetsent's normalizer instead of whitespace split
    max_tokens: int = 64  # longer sentences are cut
    heldout_every: int = 50
    heldout_max: int = 2000


def _tokenizer(spec: CorpusSpec):
    if not spec.clean:
        return str.split
    from tweetsent.config import TextConfig
    from tweetsent.text.normalize import normalizer_for

    return normalizer_for(TextConfig(max_tokens=0)).tokenize


def iter_sentences(spec: CorpusSpec) -> Iterator[tuple[int, list[str]]]:
    """(global line number, tokens) for every non-empty line of every file, in order."""
    tokenize = _tokenizer(spec)
    number = 0
    for path in spec.files:
        if not Path(path).is_file():
            raise DataError("no such corpus file", path)
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line_no, line in enumerate(handle, 1):
                text = line.rstrip("\n")
                if spec.column is not None:
                    fields = text.split("\t")
                    if len(fields) <= spec.column:
                        if not text.strip():
                            continue
                        raise DataError(f"no tab-separated field {spec.column}", path, line_no)
                    text = fields[spec.column]
                tokens = tokenize(text)[: spec.max_tokens] if spec.max_tokens else tokenize(text)
                if tokens:
                    yield number, tokens
                    number += 1


def is_heldout(number: int, spec: CorpusSpec) -> bool:
    every = spec.heldout_every
    return every > 0 and number % every == 0 and number // every < spec.heldout_max


def heldout_sentences(spec: CorpusSpec) -> list[list[str]]:
    """The held-out sentences (at most `heldout_max`, kept in memory)."""
    if spec.heldout_every <= 0 or spec.heldout_max <= 0:
        return []
    last = spec.heldout_every * (spec.heldout_max - 1)
    out = []
    for number, tokens in iter_sentences(spec):
        if is_heldout(number, spec):
            out.append(tokens)
        if number >= last:
            break
    return out


def training_sentences(spec: CorpusSpec) -> Iterator[list[str]]:
    return (tokens for number, tokens in iter_sentences(spec) if not is_heldout(number, spec))


@dataclass(frozen=True)
class LmVocab:
    """Output vocabulary: <S>, </S>, <UNK>, then words by decreasing count (log-uniform order)."""

    words: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.words[:3] != (BOS, EOS, UNK):
            raise DataError(f"vocabulary must start with {BOS}, {EOS}, {UNK}")
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """[<S>, w_1..w_N, </S>] as ids, unknown words -> <UNK>."""
        index = self._index  # type: ignore[attr-defined]
        return [0, *(index.get(t, 2) for t in tokens), 1]

    def save(self, path: str | os.PathLike) -> None:
        """One word per line (bilm-tf's vocabulary file format)."""
        with atomic_write(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(self.words) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> LmVocab:
        try:
            with open(path, encoding="utf-8") as handle:
                words = tuple(line.rstrip("\n") for line in handle if line.strip())
        except FileNotFoundError:
            raise DataError("no such vocabulary file", path) from None
        try:
            return cls(words)
        except DataError as exc:
            raise DataError(str(exc), path) from None


@dataclass(frozen=True)
class CorpusStats:
    sentences: int  # training sentences
    tokens: int  # training tokens (without <S>/</S>)
    distinct: int  # distinct training tokens


def build_vocab(spec: CorpusSpec, max_size: int, min_count: int = 1) -> tuple[LmVocab, CorpusStats]:
    """First streaming pass: count training tokens, keep the `max_size` most frequent."""
    counts: Counter[str] = Counter()
    sentences = 0
    for tokens in training_sentences(spec):
        counts.update(tokens)
        sentences += 1
    if sentences == 0:
        raise DataError("the corpus has no training sentence", ", ".join(spec.files))
    for special in (BOS, EOS, UNK):
        counts.pop(special, None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = [w for w, c in ranked[: max(0, max_size - 3)] if c >= min_count]
    stats = CorpusStats(sentences, sum(counts.values()), len(counts))
    return LmVocab((BOS, EOS, UNK, *kept)), stats


def iter_batches(
    spec: CorpusSpec, batch_size: int, chunk_lines: int, seed: int, epoch: int
) -> Iterator[list[list[str]]]:
    """Training batches of one epoch, a pure function of (corpus, seed, epoch).

    Sentences are read `chunk_lines` at a time; each chunk is sorted by length (random tie
    order) so that a batch holds similar lengths, cut into batches, and the batches shuffled.
    """
    rng = np.random.default_rng([seed, epoch])
    chunk: list[list[str]] = []
    for tokens in training_sentences(spec):
        chunk.append(tokens)
        if len(chunk) == chunk_lines:
            yield from _chunk_batches(chunk, batch_size, rng)
            chunk = []
    if chunk:
        yield from _chunk_batches(chunk, batch_size, rng)


def _chunk_batches(
    chunk: list[list[str]], batch_size: int, rng: np.random.Generator
) -> Iterator[list[list[str]]]:
    ties = rng.random(len(chunk))
    order = sorted(range(len(chunk)), key=lambda i: (len(chunk[i]), ties[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for b in rng.permutation(len(batches)):
        yield [chunk[i] for i in batches[b]]
