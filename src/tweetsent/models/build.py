"""Build a classifier from a `RunConfig`: the one place that maps configuration to modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from tweetsent.config import EmbedConfig, RunConfig
from tweetsent.embed import WordEmbedder
from tweetsent.embed.lexicon import FEATURES as LEXICON_FEATURES
from tweetsent.errors import ConfigError
from tweetsent.models.feedforward import FeedForwardClassifier, mlp_head
from tweetsent.models.pooling import build_pooling
from tweetsent.models.rnn import RNNClassifier, RNNEncoder

if TYPE_CHECKING:
    from tweetsent.embed.elmo import ElmoSource


def build_model(
    config: RunConfig,
    vocab_size: int,
    num_labels: int,
    embedding_matrix: np.ndarray | None = None,
    class_weights: Sequence[float] | None = None,
    elmo: ElmoSource | None = None,
    word_features: np.ndarray | None = None,
) -> nn.Module:
    """The classifier `config.model` describes, over the embedder `config.embed` describes.

    Without `embedding_matrix` the embedding is random with `config.embed.dim` columns: that is
    how a saved run is rebuilt before its safetensors weights (embedding included) are loaded.
    A given matrix must be (vocab_size, config.embed.dim). `class_weights` (one per label)
    weigh the cross-entropy; they are not part of the state dict. `elmo`: the biLM files of
    an ELMo embedder (default: those `config.embed` names). `word_features` (vocab_size,
    lexicon.FEATURES): the lexicon columns of `config.embed.lexicon` (zeros when rebuilding).
    """
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")
    if num_labels < 2:
        raise ValueError(f"a classifier needs at least 2 labels, got {num_labels}")
    if class_weights is not None and len(class_weights) != num_labels:
        raise ValueError(f"{len(class_weights)} class weights for {num_labels} labels")
    embedder = build_embedder(config.embed, vocab_size, embedding_matrix, elmo, word_features)
    model = config.model
    if model.kind == "feedforward":
        head = mlp_head(embedder.output_dim, model.mlp_hidden, num_labels, model.output_dropout)
        return FeedForwardClassifier(embedder, head, class_weights)
    encoder = RNNEncoder(
        embedder.output_dim,
        model.hidden_size,
        cell=model.cell,
        num_layers=model.num_layers,
        bidirectional=model.bidirectional,
        dropout=model.layer_dropout,
    )
    pooling = build_pooling(
        model.pooling,
        encoder.output_dim,
        bidirectional=model.bidirectional,
        attention_dim=model.attention_da,
        hops=model.attention_hops,
        penalty=model.attention_penalty,
    )
    if model.pooling == "attention" and model.attention_mlp > 0:
        # Lin et al. 2017: the flattened sentence matrix M (r * 2u) -> ReLU MLP -> logits
        head = mlp_head(pooling.output_dim, model.attention_mlp, num_labels, model.output_dropout)
    else:
        head = nn.Sequential(
            nn.Dropout(model.output_dropout),  # output dropout, before the linear layer
            nn.Linear(pooling.output_dim, num_labels),
        )
    return RNNClassifier(embedder, encoder, pooling, head, class_weights)


def build_embedder(
    config: EmbedConfig,
    vocab_size: int,
    embedding_matrix: np.ndarray | None = None,
    elmo: ElmoSource | None = None,
    word_features: np.ndarray | None = None,
) -> nn.Module:
    """A `WordEmbedder` (from the matrix when given, else random with config.dim columns), or
    for kind = elmo an `ElmoEmbedder` with such word vectors beside it if elmo_concat says so.
    With `config.lexicon` the word vectors carry lexicon columns (`word_features`, or zeros
    for a saved model's state dict to fill)."""
    if config.kind == "elmo":
        from tweetsent.embed.elmo import ElmoEmbedder, resolve_source

        source = elmo or resolve_source(config)
        words = None
        if config.word_kind != "none":
            words = _word_embedder(config, vocab_size, embedding_matrix, word_features)
        return ElmoEmbedder(
            source.load(),
            layers=config.elmo_layer_indices(),
            dropout=config.elmo_dropout,
            words=words,
            source=source,
        )
    return _word_embedder(config, vocab_size, embedding_matrix, word_features)


def _word_embedder(
    config: EmbedConfig,
    vocab_size: int,
    embedding_matrix: np.ndarray | None,
    word_features: np.ndarray | None,
) -> WordEmbedder:
    num_features = LEXICON_FEATURES if config.lexicon else 0
    if word_features is not None and word_features.shape != (vocab_size, num_features):
        raise ValueError(
            f"word features are {word_features.shape}, expected ({vocab_size}, {num_features})"
        )
    features = dict(features=word_features, num_features=num_features)
    if embedding_matrix is None:
        return WordEmbedder(
            vocab_size, config.dim, freeze=config.freeze, dropout=config.dropout, **features
        )
    rows, dim = embedding_matrix.shape
    if rows != vocab_size:
        raise ValueError(f"embedding matrix has {rows} rows for a vocabulary of {vocab_size}")
    if dim != config.dim:
        raise ConfigError(
            f"embed.dim: {config.dim} but the embedding matrix has {dim} columns "
            "(set embed.dim to the vectors' dimension)"
        )
    return WordEmbedder(
        rows,
        dim,
        weights=embedding_matrix,
        freeze=config.freeze,
        dropout=config.dropout,
        **features,
    )
