"""Build a classifier from a `RunConfig`: the one place that maps configuration to modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from tweetsent.config import EmbedConfig, RunConfig
from tweetsent.embed import WordEmbedder
from tweetsent.errors import ConfigError
from tweetsent.models.cnn import CNNEncoder
from tweetsent.models.feedforward import FeedForwardClassifier, mlp_head
from tweetsent.models.lexfeatures import NormalizedTweetFeatures, TweetLexiconFeatures
from tweetsent.models.ngram import NGramClassifier
from tweetsent.models.pooling import build_pooling
from tweetsent.models.rnn import RNNEncoder
from tweetsent.models.sequence import SequenceClassifier
from tweetsent.models.tables import CHAR_WIDTH, CLUSTER_COLUMNS, VocabTables

if TYPE_CHECKING:
    from tweetsent.embed.elmo import ElmoEmbedder, ElmoSource
    from tweetsent.embed.transformer import TransformerEmbedder, TransformerSource


def build_model(
    config: RunConfig,
    vocab_size: int,
    num_labels: int,
    embedding_matrix: np.ndarray | None = None,
    class_weights: Sequence[float] | None = None,
    elmo: ElmoSource | None = None,
    tables: VocabTables | None = None,
    num_clusters: int = 0,
    transformer: TransformerSource | None = None,
) -> nn.Module:
    """The classifier `config.model` describes, over the embedder `config.embed` describes.

    Without `embedding_matrix` the embedding is random with `config.embed.dim` columns: that is
    how a saved run is rebuilt before its safetensors weights (embedding included) are loaded.
    A given matrix must be (vocab_size, config.embed.dim). `class_weights` (one per label)
    weigh the cross-entropy; they are not part of the state dict. `elmo`: the biLM files of
    an ELMo embedder (default: those `config.embed` names). `tables`: the per-vocabulary
    lexicon scores, character n-grams and cluster ids (`models.tables.vocab_tables`) of
    `config.embed.lexicon` / `clusters`; without them (rebuilding a saved run) zeros of the
    same shapes, `num_clusters` cluster ids (recorded in meta.json), for the weights to fill.
    `transformer`: the encoder's files (default: the folder `config.embed` names).
    """
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")
    if num_labels < 2:
        raise ValueError(f"a classifier needs at least 2 labels, got {num_labels}")
    if class_weights is not None and len(class_weights) != num_labels:
        raise ValueError(f"{len(class_weights)} class weights for {num_labels} labels")
    if tables is not None:
        num_clusters = tables.num_clusters
    model = config.model
    lexicon = _tweet_features(config, vocab_size, tables)
    if model.kind == "ngram":
        return _ngram(config, vocab_size, num_labels, tables, num_clusters, lexicon, class_weights)
    if model.kind == "transformer":
        features = NormalizedTweetFeatures(lexicon) if lexicon else None
        return _finetuned(config, num_labels, class_weights, transformer, features)
    embedder = build_embedder(
        config.embed, vocab_size, embedding_matrix, elmo, tables, num_clusters, transformer
    )
    features = NormalizedTweetFeatures(lexicon) if model.tweet_features and lexicon else None
    extra = features.output_dim if features is not None else 0
    if model.kind == "feedforward":
        head = mlp_head(
            embedder.output_dim + extra, model.mlp_hidden, num_labels, model.output_dropout
        )
        return FeedForwardClassifier(embedder, head, class_weights, tweet_features=features)
    encoder = (
        CNNEncoder(embedder.output_dim, model.cnn_filters, model.cnn_widths)
        if model.kind == "cnn"
        else RNNEncoder(
            embedder.output_dim,
            model.hidden_size,
            cell=model.cell,
            num_layers=model.num_layers,
            bidirectional=model.bidirectional,
            dropout=model.layer_dropout,
        )
    )
    pooling = build_pooling(
        model.pooling,
        encoder.output_dim,
        bidirectional=model.bidirectional and model.kind == "rnn",
        attention_dim=model.attention_da,
        hops=model.attention_hops,
        penalty=model.attention_penalty,
    )
    pooled = pooling.output_dim + extra
    if model.pooling == "attention" and model.attention_mlp > 0:
        # Lin et al. 2017: the flattened sentence matrix M (r * 2u) -> ReLU MLP -> logits
        head = mlp_head(pooled, model.attention_mlp, num_labels, model.output_dropout)
    else:
        head = nn.Sequential(
            nn.Dropout(model.output_dropout),  # output dropout, before the linear layer
            nn.Linear(pooled, num_labels),
        )
    return SequenceClassifier(
        embedder, encoder, pooling, head, class_weights, tweet_features=features
    )


def _tweet_features(
    config: RunConfig, vocab_size: int, tables: VocabTables | None
) -> TweetLexiconFeatures | None:
    """The tweet-level lexicon features when a head reads them (ngram, model.tweet_features)."""
    lexicons = len(config.embed.lexicon)
    if not lexicons or not (config.model.kind == "ngram" or config.model.tweet_features):
        return None
    arrays = tables.lexicon if tables is not None else None
    hashtag = tables.hashtag_id if tables is not None else -1
    return TweetLexiconFeatures(vocab_size, lexicons, arrays, hashtag)


def _ngram(config, vocab_size, num_labels, tables, num_clusters, lexicon, class_weights):
    model = config.model
    return NGramClassifier(
        vocab_size,
        num_labels,
        dim=model.ngram_dim,
        buckets=model.ngram_buckets,
        chars=tables.char_ngrams if tables is not None else None,
        char_width=CHAR_WIDTH if model.ngram_chars else 0,
        clusters=tables.clusters if tables is not None else None,
        cluster_width=CLUSTER_COLUMNS,
        num_clusters=num_clusters if config.embed.clusters else 0,
        lexicon=lexicon,
        hidden=model.ngram_hidden,
        dropout=model.output_dropout,
        class_weights=class_weights,
    )


def _finetuned(config, num_labels, class_weights, transformer, features) -> nn.Module:
    from tweetsent.embed.transformer import transformer_source
    from tweetsent.models.transformer import TransformerClassifier

    source = transformer or transformer_source(config.embed)
    return TransformerClassifier(
        source.load(trainable=True),
        num_labels,
        pooling=config.model.pooling,
        dropout=config.model.output_dropout,
        class_weights=class_weights,
        source=source,
        tweet_features=features,
    )


def build_embedder(
    config: EmbedConfig,
    vocab_size: int,
    embedding_matrix: np.ndarray | None = None,
    elmo: ElmoSource | None = None,
    tables: VocabTables | None = None,
    num_clusters: int = 0,
    transformer: TransformerSource | None = None,
) -> WordEmbedder | ElmoEmbedder | TransformerEmbedder:
    """A `WordEmbedder` (from the matrix when given, else random with config.dim columns), or
    for kind = elmo an `ElmoEmbedder` with such word vectors beside it if elmo_concat says so.
    With `config.lexicon` the word vectors carry lexicon columns, with `config.clusters` a
    cluster embedding (from `tables`, or zeros for a saved model's state dict to fill).
    For kind = transformer a frozen `TransformerEmbedder` over the encoder's layers."""
    if config.kind == "transformer":
        from tweetsent.embed.transformer import TransformerEmbedder, transformer_source

        encoder = transformer or transformer_source(config)
        return TransformerEmbedder(
            encoder.load(trainable=False),
            layers=config.layer_indices(),
            dropout=config.transformer_dropout,
            source=encoder,
            proj=config.transformer_proj,
        )
    if config.kind == "elmo":
        from tweetsent.embed.elmo import ElmoEmbedder, resolve_source

        source = elmo or resolve_source(config)
        words = None
        if config.word_kind != "none":
            words = _word_embedder(config, vocab_size, embedding_matrix, tables, num_clusters)
        return ElmoEmbedder(
            source.load(),
            layers=config.elmo_layer_indices(),
            dropout=config.elmo_dropout,
            words=words,
            source=source,
        )
    return _word_embedder(config, vocab_size, embedding_matrix, tables, num_clusters)


def _word_embedder(
    config: EmbedConfig,
    vocab_size: int,
    embedding_matrix: np.ndarray | None,
    tables: VocabTables | None,
    num_clusters: int,
) -> WordEmbedder:
    word_features = tables.word_features if tables is not None else None
    num_features = 2 * len(config.lexicon)  # [score, in-lexicon] per lexicon
    if word_features is not None and word_features.shape != (vocab_size, num_features):
        raise ValueError(
            f"word features are {word_features.shape}, expected ({vocab_size}, {num_features})"
        )
    features: dict[str, Any] = dict(
        features=word_features,
        num_features=num_features,
        clusters=tables.clusters if tables is not None else None,
        cluster_width=CLUSTER_COLUMNS,
        num_clusters=num_clusters if config.clusters else 0,
        cluster_dim=config.cluster_dim,
    )
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
