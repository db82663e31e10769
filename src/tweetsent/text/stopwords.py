"""Stop words "as the study did", with and without the negations.

The list is NLTK's English stop-word list (bundled as `stopwords_en.txt`, no nltk dependency)
plus the clitic forms our tokenizer produces for the same words (`'s`, `n't`, `ca` of `ca n't`).

- `study` (the default when stop words are on) is negation-safe: it never drops `not`, `no`,
  `nor`, `never`, `n't`, `cannot` or the negated contractions and their stems (`don't`, `isn`,
  `won`, ...), because a negation flips the sentiment of what follows it.
- `study-strict` drops them too, as the original study did. It is worse for sentiment:
  "not good" and "good" become the same input. Kept only to reproduce the study.

Placeholder tokens (`<url>`, `<user>`, ...) are never in the list, so they are never removed.
"""

from __future__ import annotations

import functools
from importlib import resources


def _words(text: str) -> list[str]:
    return text.split()


# NLTK's stems of the negated contractions (don't -> don), and the contractions themselves.
_CONTRACTED = _words(
    "ain aren couldn didn doesn hadn hasn haven isn mightn mustn needn shan shouldn wasn weren "
    "won wouldn don"
)
# Tweets often drop the apostrophe.
_NO_APOSTROPHE = _words(
    "dont cant wont aint arent couldnt didnt doesnt hadnt hasnt havent isnt mightnt mustnt "
    "neednt shant shouldnt wasnt werent wouldnt"
)

NEGATIONS: frozenset[str] = frozenset(
    _words("not no nor never n't cannot none nobody nothing nowhere neither noone nope nah")
    + _CONTRACTED
    + [f"{stem}'t" for stem in _CONTRACTED]
    + ["can't", "won't", "shan't"]
    + _NO_APOSTROPHE
)


@functools.cache
def english_stopwords() -> frozenset[str]:
    """The bundled list (NLTK's English stop words plus our tokenizer's clitic forms)."""
    text = resources.files("tweetsent.text").joinpath("stopwords_en.txt").read_text("utf-8")
    words = (line.strip() for line in text.splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


@functools.cache
def stopwords_for(mode: str) -> frozenset[str]:
    """Words removed for `TextConfig.stopwords`: none | study | study-strict."""
    if mode == "none":
        return frozenset()
    if mode == "study":
        return english_stopwords() - NEGATIONS
    if mode == "study-strict":
        return english_stopwords()
    raise ValueError(f"unknown stop-word mode {mode!r}")
