"""Classifiers over embedded tweets: `forward(tokens, lengths, labels=None) -> ClassifierOutput`.

    model = build_model(config, vocab_size, num_labels, embedding_matrix, class_weights)
    out = model(tokens, lengths, labels)      # out.logits (B, C), out.loss, out.attention

`SequenceClassifier` = embedder + encoder (`RNNEncoder`: LSTM/GRU, uni/bi; or `CNNEncoder`)
+ pooling (last, mean, max, attention) + head; `FeedForwardClassifier` is the study's
averaged-embeddings MLP baseline.
"""

from tweetsent.models.build import build_embedder, build_model
from tweetsent.models.cnn import CNNEncoder
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
from tweetsent.models.rnn import CELLS, RNNEncoder
from tweetsent.models.sequence import SequenceClassifier

__all__ = [
    "CELLS",
    "POOLINGS",
    "ClassifierOutput",
    "FeedForwardClassifier",
    "LastPooling",
    "MaxPooling",
    "MeanPooling",
    "PoolingResult",
    "CNNEncoder",
    "RNNEncoder",
    "SequenceClassifier",
    "build_embedder",
    "build_model",
    "build_pooling",
    "classifier_output",
    "mlp_head",
]
