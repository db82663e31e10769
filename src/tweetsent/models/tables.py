"""Per-vocabulary tables that models read by token id: lexicon scores, character n-grams,
word clusters. Computed once from the vocabulary when a run starts, kept in the model as
buffers (saved in model.safetensors), so prediction needs none of the files they came from.

    tables = vocab_tables(config, vocab.tokens, load_lexicons(...), load_clusters(...))
    model = build_model(config, len(vocab), num_labels, tables=tables)
    build_model(config, len(vocab), num_labels, num_clusters=n)   # a saved run: zeros to fill
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tweetsent.config import RunConfig
from tweetsent.lexicons import Lexicon, vocab_arrays

CHAR_NGRAMS = (2, 5)  # character n-gram lengths of the n-gram model
CHAR_WIDTH = 32  # character n-grams kept per word (the first ones, shortest first)
CLUSTER_PREFIXES = (4, 8, 12)  # bit-string prefixes (coarser clusters) beside the full path
CLUSTER_COLUMNS = 1 + len(CLUSTER_PREFIXES)


@dataclass
class VocabTables:
    """What `vocab_tables` computes; every field is None when the config does not use it."""

    lexicon: dict[str, np.ndarray] | None = None  # lexicons.vocab_arrays: (V, K) and (V,)
    hashtag_id: int = -1  # vocabulary id of <hashtag> (-1: none)
    char_ngrams: np.ndarray | None = None  # (V, CHAR_WIDTH) int32 hashed ids, 0 = none
    clusters: np.ndarray | None = None  # (V, CLUSTER_COLUMNS) int64 cluster ids, 0 = none
    num_clusters: int = 0  # cluster ids in use, 0 excluded

    @property
    def word_features(self) -> np.ndarray | None:
        """(V, 2K) float32: [score, in-lexicon] of each lexicon, the embedder's columns."""
        if self.lexicon is None:
            return None
        scores, present = self.lexicon["scores"], self.lexicon["present"]  # (V, K)
        return np.stack([scores, present], axis=2).reshape(len(scores), -1)


def vocab_tables(
    config: RunConfig,
    tokens: Sequence[str],
    lexicons: Sequence[Lexicon] = (),
    clusters: Mapping[str, str] | None = None,
) -> VocabTables:
    """The tables `config` needs for the vocabulary `tokens` (ids are positions)."""
    tables = VocabTables()
    if lexicons:
        tables.lexicon = vocab_arrays(tokens, lexicons)
        tables.hashtag_id = tokens.index("<hashtag>") if "<hashtag>" in tokens else -1
    if config.model.kind == "ngram" and config.model.ngram_chars:
        tables.char_ngrams = char_ngram_table(tokens, config.model.ngram_buckets)
    if clusters is not None:
        tables.clusters, tables.num_clusters = cluster_ids(tokens, clusters)
    return tables


def char_ngram_table(
    tokens: Sequence[str], buckets: int, lengths: tuple[int, int] = CHAR_NGRAMS
) -> np.ndarray:
    """(V, CHAR_WIDTH) int32: hashed ids in [1, buckets) of each word's character n-grams (the
    word framed by spaces, as fastText frames it with < >), 0 = none. Placeholders such as
    `<url>` and the two special entries get none. CRC-32: the same ids on every platform."""
    table = np.zeros((len(tokens), CHAR_WIDTH), dtype=np.int32)
    low, high = lengths
    for row, token in enumerate(tokens):
        if row < 2 or (token.startswith("<") and token.endswith(">") and len(token) > 2):
            continue
        framed = f" {token} "
        grams = dict.fromkeys(
            framed[start : start + n]
            for n in range(low, high + 1)
            for start in range(len(framed) - n + 1)
        )
        ids = [1 + zlib.crc32(g.encode("utf-8")) % (buckets - 1) for g in grams]
        table[row, : min(len(ids), CHAR_WIDTH)] = ids[:CHAR_WIDTH]
    return table


def cluster_ids(tokens: Sequence[str], clusters: Mapping[str, str]) -> tuple[np.ndarray, int]:
    """(V, CLUSTER_COLUMNS) int64 ids of each word's cluster and of its bit-string prefixes
    (one id space; 0 = none), and the number of ids in use. Only the vocabulary's clusters get
    ids, so the embedding is as small as the data allows."""
    keys: dict[str, int] = {}
    table = np.zeros((len(tokens), CLUSTER_COLUMNS), dtype=np.int64)
    for row, token in enumerate(tokens):
        bits = clusters.get(token)
        if bits is None:
            continue
        names = [f"={bits}"] + [f"{n}:{bits[:n]}" for n in CLUSTER_PREFIXES if len(bits) > n]
        for column, name in enumerate(names):
            table[row, column] = keys.setdefault(name, len(keys) + 1)
    return table, len(keys)
