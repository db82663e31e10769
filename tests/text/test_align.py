"""What the biLM reads, aligned with the classifier's tokens (`Normalizer.aligned`):
table-driven (tweet, settings) -> (classifier tokens, biLM pieces, the piece of each token)."""

from __future__ import annotations

import pytest

from tweetsent.config import TextConfig
from tweetsent.data.readers import read_examples
from tweetsent.text import ElmoInput, Normalizer

# (text, TextConfig fields, classifier tokens, biLM pieces, the piece each token reads)
ROWS = [
    ("Pink Floyd", {}, ["pink", "floyd"], ["Pink", "Floyd"], ["Pink", "Floyd"]),
    (
        "@Bob see http://t.co/AbC at 7:30",
        {},
        ["<user>", "see", "<url>", "at", "<number>"],
        ["@Bob", "see", "http://t.co/AbC", "at", "7:30"],
        ["@Bob", "see", "http://t.co/AbC", "at", "7:30"],
    ),
    ("Don't", {}, ["do", "n't"], ["Do", "n't"], ["Do", "n't"]),
    ("I'M", {}, ["i", "'m"], ["I", "'M"], ["I", "'M"]),
    ("@Bob's", {}, ["<user>", "'s"], ["@Bob", "'s"], ["@Bob", "'s"]),
    ("#Happy", {}, ["<hashtag>", "happy"], ["#Happy"], ["#Happy", "#Happy"]),
    ("SOOOO", {}, ["soo", "<elong>"], ["SOOOO"], ["SOOOO", "SOOOO"]),
    ("DOOOON'T", {}, ["doo", "n't", "<elong>"], ["DOOOO", "N'T"], ["DOOOO", "N'T", "DOOOO"]),
    ("Wow!!!!", {}, ["wow", "!", "<repeat>"], ["Wow", "!!!!"], ["Wow", "!!!!", "!!!!"]),
    (":)))", {}, [":)", "<repeat>"], [":)))"], [":)))", ":)))"]),
    ("xD :d", {}, ["XD", ":D"], ["xD", ":d"], ["xD", ":d"]),
    ("😂😂😂 ok", {}, ["😂", "<repeat>", "ok"], ["😂", "😂", "😂", "ok"], ["😂", "😂", "ok"]),
    ("Tom &amp; Jerry…", {}, ["tom", "&", "jerry", "..."], ["Tom", "&", "Jerry", "…"], None),
    ("It’s", {}, ["it", "'s"], ["It", "'s"], ["It", "'s"]),  # curly quote folded
    ("<S> Hi </S>", {}, None, ["<", "S", ">", "Hi", "<", "/", "S", ">"], None),  # text is text
    # stop words: dropped from the classifier's tokens, kept as the biLM's context
    (
        "The Cat is on the mat",
        {"stopwords": "study"},
        ["cat", "mat"],
        ["The", "Cat", "is", "on", "the", "mat"],
        ["Cat", "mat"],
    ),
    # max_tokens: the pieces stop at the last kept token's piece
    ("A b C d E", {"max_tokens": 3}, ["a", "b", "c"], ["A", "b", "C"], ["A", "b", "C"]),
    ("#Big Day", {"max_tokens": 1}, ["<hashtag>"], ["#Big"], ["#Big"]),
    (
        "DOOOON'T go",
        {"max_tokens": 3},
        ["doo", "n't", "<elong>"],
        ["DOOOO", "N'T"],
        ["DOOOO", "N'T", "DOOOO"],
    ),
    # rules switched off: the token is the text itself, the piece too
    ("@Bob #Yes", {"users": False, "hashtags": False}, ["@bob", "#yes"], ["@Bob", "#Yes"], None),
    ("Hi", {"lowercase": False}, ["Hi"], ["Hi"], ["Hi"]),
    # case folding that changes the length (İ -> i̇): that chunk's pieces are folded
    ("İstanbul Rocks", {}, ["i̇stanbul", "rocks"], ["i̇stanbul", "Rocks"], None),
    ("", {}, [], [], []),
    ("   ", {}, [], [], []),
]


@pytest.mark.parametrize(("text", "fields", "tokens", "pieces", "reads"), ROWS)
def test_aligned_rows(text, fields, tokens, pieces, reads) -> None:
    normalizer = Normalizer(TextConfig(**fields))
    ours, elmo = normalizer.aligned(text, "raw")
    assert ours == normalizer.tokenize(text)
    if tokens is not None:
        assert ours == tokens
    assert isinstance(elmo, ElmoInput) and elmo.mode == "raw"
    assert list(elmo.pieces) == pieces
    assert len(elmo) == len(ours) == len(elmo.index)
    if reads is not None:
        assert [elmo.pieces[i] for i in elmo.index] == reads
    assert all(0 <= i < len(elmo.pieces) for i in elmo.index)


def test_lower_and_cleaned_modes() -> None:
    normalizer = Normalizer(TextConfig())
    tokens, lower = normalizer.aligned("Pink FLOYD @Bob", "lower")
    assert lower.pieces == ("pink", "floyd", "@bob") and lower.mode == "lower"
    assert lower.index == (0, 1, 2)
    same, cleaned = normalizer.aligned("Pink FLOYD @Bob", "cleaned")
    assert same == tokens == cleaned == ["pink", "floyd", "<user>"]  # the tokens themselves
    with pytest.raises(ValueError, match="elmo input 'cased'"):
        normalizer.aligned("x", "cased")


TRICKY = [
    "RT @User: LOVE it!!! :-))) 😍😍 #BestDay http://t.co/x1 &lt;3 &amp;amp; 2nd b4 3.39",
    "can't won't DON'T y'all rock'n'roll well-known U.S. p.m. e.g. ...... …",
    "ΟΔΟΣ straße ǅemal ﬁne ½ 👨‍👩‍👧 👍🏽 🇬🇧 1️⃣ zero\u200bwidth a\x00b \ud800",
    "(: ): D: xDDD ^_^ -_- o_O T_T ;_; >_< u_u </3 <333 :pizza :P",
    "Heyyyy!!!! whaaaat??? sooo goooood... NOOOO'S hmmm",
]


@pytest.mark.parametrize("stopwords", ["none", "study", "study-strict"])
@pytest.mark.parametrize("lowercase", [True, False])
def test_tokens_always_equal_tokenize(stopwords, lowercase) -> None:
    normalizer = Normalizer(TextConfig(stopwords=stopwords, lowercase=lowercase, max_tokens=0))
    for text in TRICKY:
        tokens, elmo = normalizer.aligned(text)
        assert tokens == normalizer.tokenize(text), text
        assert len(elmo) == len(tokens) and max(elmo.index, default=-1) < len(elmo.pieces)
        assert all(piece and not piece.isspace() for piece in elmo.pieces)


def test_aligned_over_the_semeval_files(shared_data) -> None:
    """Every SemEval tweet: the classifier's tokens are `tokenize`'s, and each piece is a
    part of the tweet's text (after entity unescaping and quote folding)."""
    examples, _ = read_examples([str(p) for p in sorted(shared_data.glob("*.tsv"))])
    normalizer = Normalizer(TextConfig())
    for text in examples.texts[::3]:
        tokens, elmo = normalizer.aligned(text)
        assert tokens == normalizer.tokenize(text), text
        assert len(elmo) == len(tokens)
        prepared = normalizer._prepare(text, fold_case=False)
        assert all(p in prepared or p in prepared.lower() for p in elmo.pieces), text
