"""Tweet text -> tokens -> ids: the normalizer, stop words, vocabulary and cached corpus step.

Usage:

    from tweetsent.text import Normalizer, Vocabulary, tokenize_corpus
    Normalizer(config.text).tokenize("sooo happy :D #win http://t.co/x")
    # -> ['soo', '<elong>', 'happy', ':D', '<hashtag>', 'win', '<url>']
    token_lists = tokenize_corpus(texts, config.text, workers=0)  # parallel, cached on disk
    vocab = Vocabulary.build(token_lists, min_freq=2, max_size=50000)

Each name is imported from its module when first used: reading a run's vocabulary (the
`predict` command's scoring helper) does not import the normalizer, and prediction never
imports the corpus step (`tokenize_corpus`: worker processes, progress bars, the disk cache).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tweetsent.text.align import ElmoInput
    from tweetsent.text.corpus import corpus_key, default_cache_dir, tokenize_corpus
    from tweetsent.text.normalize import (
        ELLIPSIS_TOKEN,
        ELONG_TOKEN,
        HASHTAG_TOKEN,
        NORMALIZER_VERSION,
        NUMBER_TOKEN,
        PLACEHOLDERS,
        REPEAT_TOKEN,
        URL_TOKEN,
        USER_TOKEN,
        Normalizer,
        tokenize,
    )
    from tweetsent.text.stopwords import NEGATIONS, english_stopwords, stopwords_for
    from tweetsent.text.vocab import PAD, PAD_ID, UNK, UNK_ID, Vocabulary

__all__ = [
    "ELLIPSIS_TOKEN",
    "ELONG_TOKEN",
    "HASHTAG_TOKEN",
    "NEGATIONS",
    "NORMALIZER_VERSION",
    "NUMBER_TOKEN",
    "PAD",
    "PAD_ID",
    "PLACEHOLDERS",
    "REPEAT_TOKEN",
    "UNK",
    "UNK_ID",
    "URL_TOKEN",
    "USER_TOKEN",
    "ElmoInput",
    "Normalizer",
    "Vocabulary",
    "corpus_key",
    "default_cache_dir",
    "english_stopwords",
    "stopwords_for",
    "tokenize",
    "tokenize_corpus",
]

_VOCAB = ("PAD", "PAD_ID", "UNK", "UNK_ID", "Vocabulary")
_STOPWORDS = ("NEGATIONS", "english_stopwords", "stopwords_for")
_CORPUS = ("corpus_key", "default_cache_dir", "tokenize_corpus")


def __getattr__(name: str) -> Any:
    if name in _VOCAB:
        from tweetsent.text import vocab

        return getattr(vocab, name)
    if name in _STOPWORDS:
        from tweetsent.text import stopwords

        return getattr(stopwords, name)
    if name in _CORPUS:
        from tweetsent.text import corpus

        return getattr(corpus, name)
    if name == "ElmoInput":
        from tweetsent.text import align

        return getattr(align, name)
    if name in __all__:
        from tweetsent.text import normalize

        return getattr(normalize, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
