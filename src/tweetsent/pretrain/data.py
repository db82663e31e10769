"""The language-model corpus for biLM pretraining: streamed from disk, never held in memory.

A corpus is one or more text files, one tweet per line (or one tab-separated field of each
line, `column`, e.g. 2 for SemEval's `id<TAB>label<TAB>text`). Tokens (`tokens`) are the raw
whitespace-separated words (split), tweetsent's normalizer's tokens (cleaned, also `clean=True`),
or the tweet's pieces of raw text cut at the normalizer's token boundaries, cased (raw) or
lowercased (lower): what a classifier's biLM reads under `embed.elmo_input` raw | lower.

Every line number `i` with `i % heldout_every == 0` (while fewer than `heldout_max` are taken)
is held out for perplexity and never trained on; the rest is the training stream.

Training order (bilm-tf shuffled its shard files every pass; a fixed file order makes every
epoch end on the same file, and the model drifts toward it right before each epoch-end
evaluation): the corpus is indexed once into blocks of `chunk_lines` consecutive sentences
(`Block`: file, seek position, first line, first global number, count); each epoch visits them in a
random order drawn from (seed, epoch) and mixes `mix_blocks` of them at a time before cutting
batches. `scan_corpus` reads the corpus once for the vocabulary counts, the held-out set and
the block index together (`build_vocab`, `heldout_sentences` and `corpus_blocks` are the
one-purpose passes it equals). Memory: the vocabulary pass keeps one count per distinct token;
the batch stream keeps one window of at most `mix_blocks * chunk_lines` sentences plus the index
(5 integers per block); the held-out set is capped. Nothing else is kept.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.errors import ConfigError, DataError
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
    # split (whitespace) | cleaned (= clean) | raw | lower: the pieces the classifier's ELMo
    # reads under embed.elmo_input = raw | lower (tweetsent.text.align), for a biLM pretrained
    # on exactly what it will be given
    tokens: str = "split"

    def __post_init__(self) -> None:
        if self.tokens not in TOKENS:
            raise ConfigError(f"pretrain.tokens: {self.tokens!r} is not one of {', '.join(TOKENS)}")
        if self.clean and self.tokens not in ("split", "cleaned"):
            raise ConfigError(
                f"pretrain.clean: cleaned tokens, but pretrain.tokens = {self.tokens!r}"
            )

    @property
    def kind(self) -> str:
        """The tokenization in effect: split | cleaned | raw | lower."""
        return "cleaned" if self.clean else self.tokens


TOKENS = ("split", "cleaned", "raw", "lower")


def _tokenizer(spec: CorpusSpec):
    kind = spec.kind
    if kind == "split":
        return str.split
    from tweetsent.config import TextConfig
    from tweetsent.text.align import ElmoInput
    from tweetsent.text.normalize import normalizer_for

    normalizer = normalizer_for(TextConfig(max_tokens=0))
    if kind == "cleaned":
        return normalizer.tokenize

    def pieces(text: str) -> list[str]:
        read = normalizer.aligned(text, kind)[1]  # an ElmoInput for raw and lower
        return list(read.pieces) if isinstance(read, ElmoInput) else read

    return pieces


def _open(path: str):
    if not Path(path).is_file():
        raise DataError("no such corpus file", path)
    return open(path, encoding="utf-8", errors="replace")


def _line_tokens(line: str, spec: CorpusSpec, tokenize, path: str, line_no: int) -> list[str]:
    """The tokens of one raw line ([] for a line that yields none: it gets no number)."""
    text = line.rstrip("\n")
    if spec.column is not None:
        fields = text.split("\t")
        if len(fields) <= spec.column:
            if not text.strip():
                return []
            raise DataError(f"no tab-separated field {spec.column}", path, line_no)
        text = fields[spec.column]
    return tokenize(text)[: spec.max_tokens] if spec.max_tokens else tokenize(text)


def iter_sentences(spec: CorpusSpec) -> Iterator[tuple[int, list[str]]]:
    """(global line number, tokens) for every non-empty line of every file, in order."""
    tokenize = _tokenizer(spec)
    number = 0
    for path in spec.files:
        with _open(path) as handle:
            for line_no, line in enumerate(handle, 1):
                tokens = _line_tokens(line, spec, tokenize, path, line_no)
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
    _index: dict[str, int] = field(init=False, repr=False, compare=False)  # word -> id

    def __post_init__(self) -> None:
        if self.words[:3] != (BOS, EOS, UNK):
            raise DataError(f"vocabulary must start with {BOS}, {EOS}, {UNK}")
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """[<S>, w_1..w_N, </S>] as ids, unknown words -> <UNK>."""
        index = self._index
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
    """Count training tokens in a sequential pass, keep the `max_size` most frequent.

    The reference for `scan_corpus`, which gives the same vocabulary in its single pass.
    """
    counts: Counter[str] = Counter()
    sentences = 0
    for tokens in training_sentences(spec):
        counts.update(tokens)
        sentences += 1
    return rank_vocab(counts, sentences, max_size, min_count, spec)


def rank_vocab(
    counts: Counter[str], sentences: int, max_size: int, min_count: int, spec: CorpusSpec
) -> tuple[LmVocab, CorpusStats]:
    """<S>, </S>, <UNK>, then the words by (-count, word); `counts` loses the special tokens."""
    if sentences == 0:
        raise DataError("the corpus has no training sentence", ", ".join(spec.files))
    for special in (BOS, EOS, UNK):
        counts.pop(special, None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = [w for w, c in ranked[: max(0, max_size - 3)] if c >= min_count]
    stats = CorpusStats(sentences, sum(counts.values()), len(counts))
    return LmVocab((BOS, EOS, UNK, *kept)), stats


@dataclass(frozen=True)
class Block:
    """`count` consecutive sentences of one corpus file, readable on their own with a seek."""

    file: int  # index into CorpusSpec.files
    offset: int  # the text handle's tell() before the block's first raw line
    line: int  # that line's 1-based number in the file (for error messages)
    first: int  # global number of the block's first sentence
    count: int  # sentences in the block (the last block of a file may be shorter)


Gather = Callable[[Any], list[Any]]  # every rank's object, in rank order
WindowReader = Callable[[list[Block]], list[list[tuple[int, list[str]]]]]  # blocks -> pairs


def corpus_blocks(spec: CorpusSpec, block_lines: int) -> tuple[Block, ...]:
    """Cut every file into blocks of `block_lines` sentences (the blocks of `scan_corpus`).

    Numbers are those of `iter_sentences` (held-out lines included), so a block read back with
    `read_block` gives the same (number, tokens) pairs as the sequential stream.
    """
    return scan_corpus(spec, block_lines).blocks


@dataclass
class CorpusScan:
    """What one pass over the corpus gives: everything a pretraining run needs before step 1."""

    counts: Counter[str]  # token counts of the training sentences (held-out lines excluded)
    sentences: int  # training sentences
    heldout: list[list[str]]  # the held-out sentences, in corpus order (= heldout_sentences)
    blocks: tuple[Block, ...]  # = corpus_blocks(spec, block_lines)


def scan_corpus(spec: CorpusSpec, block_lines: int) -> CorpusScan:
    """One streaming pass for the vocabulary counts, the held-out set and the block index.

    Equal to `build_vocab`'s counts and `heldout_sentences` (the references, two more passes);
    files are read with readline, so tell() gives each block's byte offset.
    """
    if block_lines < 1:
        raise ValueError(f"block_lines must be >= 1, not {block_lines}")
    tokenize = _tokenizer(spec)
    counts: Counter[str] = Counter()
    heldout: list[list[str]] = []
    blocks: list[Block] = []
    number = 0
    for file, path in enumerate(spec.files):
        with _open(path) as handle:
            offset, start_line, first = handle.tell(), 1, number
            for line_no, line in enumerate(iter(handle.readline, ""), 1):
                tokens = _line_tokens(line, spec, tokenize, path, line_no)
                if not tokens:
                    continue
                if is_heldout(number, spec):
                    heldout.append(tokens)
                else:
                    counts.update(tokens)
                number += 1
                if number - first == block_lines:
                    blocks.append(Block(file, offset, start_line, first, block_lines))
                    offset, start_line, first = handle.tell(), line_no + 1, number
            if number > first:
                blocks.append(Block(file, offset, start_line, first, number - first))
    return CorpusScan(counts, number - len(heldout), heldout, tuple(blocks))


def read_block(spec: CorpusSpec, block: Block, tokenize=None) -> list[tuple[int, list[str]]]:
    """The (global number, tokens) pairs of one block, read with a seek."""
    tokenize = tokenize or _tokenizer(spec)
    path = spec.files[block.file]
    out: list[tuple[int, list[str]]] = []
    with _open(path) as handle:
        handle.seek(block.offset)
        for line_no, line in enumerate(handle, block.line):  # iteration: no tell() snapshots
            tokens = _line_tokens(line, spec, tokenize, path, line_no)
            if tokens:
                out.append((block.first + len(out), tokens))
                if len(out) == block.count:
                    return out
    raise DataError("the corpus file changed while training (fewer lines than indexed)", path)


def iter_batches(
    spec: CorpusSpec,
    batch_size: int,
    chunk_lines: int,
    seed: int,
    epoch: int,
    mix_blocks: int = 4,
    blocks: Sequence[Block] | None = None,
    reader: WindowReader | None = None,
) -> Iterator[list[list[str]]]:
    """Training batches of one epoch, a pure function of (corpus, seed, epoch).

    The blocks of `chunk_lines` sentences (`corpus_blocks`, computed here unless given) are
    visited in the order `default_rng([seed, epoch]).permutation`; each window of `mix_blocks`
    consecutive blocks of that order is read (held-out lines dropped), sorted by length (random
    tie order) so that a batch holds similar lengths, cut into batches, and the batches
    shuffled. At most `mix_blocks * chunk_lines` sentences are in memory. `reader` reads a
    window's blocks (default: all of them here; `shared_reader`: each data-parallel rank its
    share, then every rank has the whole window).
    """
    if mix_blocks < 1:
        raise ValueError(f"mix_blocks must be >= 1, not {mix_blocks}")
    if blocks is None:
        blocks = corpus_blocks(spec, chunk_lines)
    reader = reader or _local_reader(spec)
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(blocks))
    for start in range(0, len(order), mix_blocks):
        parts = reader([blocks[b] for b in order[start : start + mix_blocks]])
        window = [
            tokens for part in parts for number, tokens in part if not is_heldout(number, spec)
        ]
        if window:
            yield from _chunk_batches(window, batch_size, rng)


def _chunk_batches(
    chunk: list[list[str]], batch_size: int, rng: np.random.Generator
) -> Iterator[list[list[str]]]:
    ties = rng.random(len(chunk))
    order = sorted(range(len(chunk)), key=lambda i: (len(chunk[i]), ties[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for b in rng.permutation(len(batches)):
        yield [chunk[i] for i in batches[b]]


def _local_reader(spec: CorpusSpec) -> WindowReader:
    tokenize = _tokenizer(spec)
    return lambda window: [read_block(spec, block, tokenize) for block in window]


def shared_reader(spec: CorpusSpec, rank: int, world: int, gather: Gather) -> WindowReader:
    """A window reader for data-parallel ranks: the epoch's k-th block (in visiting order) is
    read and tokenized by rank k % world only; `gather` (an all-gather over the ranks) then
    gives every rank the whole window, so all ranks cut the same global batches while each
    reads 1/world of the corpus."""
    tokenize = _tokenizer(spec)
    visited = 0

    def read(window: list[Block]) -> list[list[tuple[int, list[str]]]]:
        nonlocal visited
        mine = {
            j: read_block(spec, block, tokenize)
            for j, block in enumerate(window)
            if (visited + j) % world == rank
        }
        visited += len(window)
        merged: dict[int, list[tuple[int, list[str]]]] = {}
        for part in gather(mine):
            merged.update(part)
        return [merged[j] for j in range(len(window))]

    return read
