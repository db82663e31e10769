"""Sentiment-lexicon features: a word's prior polarity beside its vector.

    lexicon = load_lexicon("vader")                  # or a TSV file: word TAB score
    features = lexicon_features(vocab.tokens, lexicon)   # (V, 2): [score, in lexicon]

Lexicon features were part of most strong SemEval Twitter systems (e.g. Mohammad et al. 2013,
"NRC-Canada: Building the State-of-the-Art in Sentiment Analysis of Tweets"): a prior score
for words the training tweets say little about. Each vocabulary word gets two fixed columns
appended to its embedding, its lexicon score scaled to [-1, 1] (the score divided by the
largest absolute score of the lexicon) and 1.0 when the word is in the lexicon. They are a
buffer of the embedder, saved with the model, so prediction needs no lexicon file.

`vader` is the lexicon of VADER (Hutto & Gilbert 2014; 7,500 words, emoticons and slang with a
mean valence in [-4, 4]) as the `vaderSentiment` package ships it
(`pip install 'tweetsent[lexicon]'`); any other lexicon is a text file with one `word TAB
score` per line (further columns are ignored; `#` lines and blank lines are skipped).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tweetsent.errors import DataError

FEATURES = 2  # columns per word: scaled score, in-lexicon flag
BUILTIN = ("vader",)


def load_lexicon(spec: str) -> dict[str, float]:
    """`vader`, or the path of a `word TAB score` file: word -> score scaled to [-1, 1]."""
    if spec == "vader":
        path = _vader_path()
    else:
        path = Path(spec)
        if not path.is_file():
            raise DataError("lexicon file not found", path)
    scores = _read_scores(path)
    if not scores:
        raise DataError("the lexicon has no entries", path)
    largest = max(abs(s) for s in scores.values()) or 1.0
    return {word: score / largest for word, score in scores.items()}


def lexicon_features(tokens: Sequence[str], lexicon: dict[str, float]) -> np.ndarray:
    """(V, 2) float32: [score, 1.0] for vocabulary tokens in the lexicon (exactly or
    lowercased), zeros elsewhere (padding, <unk>, unknown words)."""
    features = np.zeros((len(tokens), FEATURES), dtype=np.float32)
    for row, token in enumerate(tokens):
        score = lexicon.get(token)
        if score is None:
            score = lexicon.get(token.lower())
        if score is not None:
            features[row] = (score, 1.0)
    return features


def _vader_path() -> Path:
    try:
        import vaderSentiment
    except ImportError:
        raise DataError(
            "embed.lexicon = 'vader' needs the vaderSentiment package "
            "(pip install 'tweetsent[lexicon]'), or give a lexicon file"
        ) from None
    path = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
    if not path.is_file():
        raise DataError("missing from the vaderSentiment package", path)
    return path


def _read_scores(path: Path) -> dict[str, float]:
    scores: dict[str, float] = {}
    with open(path, encoding="utf-8", errors="strict") as handle:
        try:
            for number, line in enumerate(handle, 1):
                text = line.rstrip("\r\n")
                if not text.strip() or text.startswith("#"):
                    continue
                parts = text.split("\t")
                if len(parts) < 2 or not parts[0]:
                    raise DataError("expected 'word TAB score'", path, number)
                try:
                    score = float(parts[1])
                except ValueError:
                    raise DataError(f"score {parts[1]!r} is not a number", path, number) from None
                if not math.isfinite(score):
                    raise DataError(f"score {parts[1]!r} is not finite", path, number)
                scores.setdefault(parts[0], score)
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text ({exc.reason})", path) from None
    return scores
