"""The bundled stop-word list and the negation-safe / strict modes."""

from __future__ import annotations

import pytest

from tweetsent.text import NEGATIONS, PLACEHOLDERS, english_stopwords, stopwords_for

NLTK_SAMPLE = ["i", "me", "the", "and", "don't", "wouldn't", "should've", "y", "ma", "not", "no"]


def test_bundled_list_is_nltk_plus_our_clitic_forms() -> None:
    words = english_stopwords()
    assert len(words) == 179 + 11
    assert set(NLTK_SAMPLE) <= words
    assert {"'s", "'m", "n't", "ca", "wo"} <= words


def test_study_mode_never_drops_negations() -> None:
    study = stopwords_for("study")
    assert not study & NEGATIONS
    assert {"not", "no", "nor", "never", "n't", "cannot", "don't", "isn", "won't"} <= NEGATIONS
    assert {"the", "i", "do", "'s"} <= study


def test_strict_mode_drops_negations_too() -> None:
    strict = stopwords_for("study-strict")
    assert {"not", "no", "nor", "n't", "don't"} <= strict
    assert stopwords_for("study") < strict


@pytest.mark.parametrize("mode", ["none", "study", "study-strict"])
def test_placeholders_are_never_stopwords(mode: str) -> None:
    assert not stopwords_for(mode) & set(PLACEHOLDERS)


def test_none_and_unknown_modes() -> None:
    assert stopwords_for("none") == frozenset()
    with pytest.raises(ValueError, match="unknown stop-word mode"):
        stopwords_for("nltk")
