"""Classifiers over embedded tweets: `forward(tokens, lengths, labels=None) -> ClassifierOutput`.

    model = build_model(config, vocab_size, num_labels, embedding_matrix, class_weights)
    out = model(tokens, lengths, labels)      # out.logits (B, C), out.loss, out.attention

`RNNClassifier` = embedder + `RNNEncoder` (LSTM/GRU, uni/bi, packed) + pooling (last, mean,
max) + head; `FeedForwardClassifier` is the study's averaged-embeddings MLP baseline.
"""

from tweetsent.models.build import build_embedder, build_model
from tweetsent.models.feedforward import FeedForwardClassifier, mlp_head
from tweetsent.models.outputs import ClassifierOutput, classifier_output
from tweetsent.models.pooling import (
    POOLINGS,
    LastPooling,
    MaxPooling,
    MeanPooling,
    PoolingResult,
    build_pooling,
)
from tweetsent.models.rnn import CELLS, RNNClassifier, RNNEncoder

__all__ = [
    "CELLS",
    "POOLINGS",
    "ClassifierOutput",
    "FeedForwardClassifier",
    "LastPooling",
    "MaxPooling",
    "MeanPooling",
    "PoolingResult",
    "RNNClassifier",
    "RNNEncoder",
    "build_embedder",
    "build_model",
    "build_pooling",
    "classifier_output",
    "mlp_head",
]
