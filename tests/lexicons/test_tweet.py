"""NRC-Canada tweet-level lexicon features: negation scope, hashtag lookup, exact feature values
on hand-made tweets, and the vocabulary-array path giving identical results."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tweetsent.lexicons import (
    CLAUSE_END,
    FEATURES_PER_LEXICON,
    NEGATORS,
    Lexicon,
    feature_names,
    lexicon_lookup,
    negation_scope,
    tweet_features,
    tweet_features_from_ids,
    vocab_arrays,
)
from tweetsent.text import Normalizer

TOY = Lexicon(
    name="toy",
    scores={"good": 1.0, "great": 0.5, "bad": -1.0, "meh": 0.0, "#win": 0.75, "win": 0.25},
    source="toy.txt",
    format="score",
)
NEG = Lexicon(name="neg", scores={"not": -0.5, "bad": -1.0}, source="neg.txt", format="score")


def _tokens(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("i do n't like it . but good", "0 0 0 1 1 0 0 0"),
        ("not good , bad", "0 1 0 0"),
        ("never ever <url> happy", "0 1 0 0"),
        ("nothing is good ... no way", "0 1 1 0 0 1"),
        ("dont like ! cant stop", "0 1 0 0 1"),
        ("not not good ?", "0 0 1 0"),  # a negator is never negated itself
        ("without <hashtag> love : yes", "0 1 1 0 0"),
        ("i ca n't ; wo n't", "0 0 0 0 0 0"),
        ("hardly <user> barely <number> <elong>", "0 1 0 1 1"),
        ("good", "0"),
        ("", ""),
    ],
)
def test_negation_scope(text, negated):
    assert negation_scope(text.split()) == [flag == "1" for flag in negated.split()]


def test_negator_and_clause_end_sets():
    for word in ("not", "no", "never", "n't", "cannot", "nobody", "without", "isnt", "dont"):
        assert word in NEGATORS
    for word in ("cant", "wont", "aint", "didnt", "don't", "won't"):
        assert word in NEGATORS
    for word in ("ca", "wo", "do", "don", "nah", "know", "<hashtag>"):
        assert word not in NEGATORS
    assert {".", ",", ":", ";", "!", "?", "...", "<url>"} == CLAUSE_END


def test_hashtag_word_is_looked_up_as_hashtag_first():
    tokens = _tokens("<hashtag> win win <hashtag> bad <hashtag> nope meh")
    assert lexicon_lookup(tokens, TOY) == [None, 0.75, 0.25, None, -1.0, None, None, 0.0]


def test_features_of_a_hand_made_tweet():
    tokens = _tokens("good but not bad or meh . great <hashtag> win")
    features = tweet_features(tokens, [TOY, NEG])
    assert features.dtype == np.float32 and features.shape == (2 * FEATURES_PER_LEXICON,)
    # order: pos_count neg_count pos_sum neg_sum max min last total
    expected = [
        [3, 0, 2.25, 0, 1.0, 0.5, 0.75, 2.25],  # toy, affirmative: good, great, #win
        [0, 1, 0, -1.0, 0.0, -1.0, 0.0, -1.0],  # toy, negated: bad, meh (0 counts as in)
        [0, 1, 0, -0.5, -0.5, -0.5, -0.5, -0.5],  # neg, affirmative: the negator "not"
        [0, 1, 0, -1.0, -1.0, -1.0, -1.0, -1.0],  # neg, negated: bad
    ]
    assert features.tolist() == np.array(expected, dtype=np.float32).reshape(-1).tolist()
    names = feature_names([TOY, NEG])
    assert len(names) == len(features) == 32
    assert names[:3] == [
        "toy:affirmative:pos_count",
        "toy:affirmative:neg_count",
        "toy:affirmative:pos_sum",
    ]
    assert names[8] == "toy:negated:pos_count" and names[-1] == "neg:negated:total"


def test_last_is_the_last_token_in_the_lexicon_and_zero_without_any():
    features = tweet_features(_tokens("bad meh good great"), [TOY]).reshape(2, 8)
    assert features[0].tolist() == [2, 1, 1.5, -1.0, 1.0, -1.0, 0.5, 0.5]
    assert not features[1].any()
    assert not tweet_features(_tokens("nothing here"), [TOY]).any()
    assert tweet_features([], [TOY, NEG]).tolist() == [0.0] * 32
    assert tweet_features(["good"], []).shape == (0,)


def test_vocab_arrays():
    vocab = ["<pad>", "<unk>", "win", "not", "<url>", "bad", "<hashtag>"]
    arrays = vocab_arrays(vocab, [TOY, NEG])
    assert {k: v.shape for k, v in arrays.items()} == {
        "scores": (7, 2),
        "present": (7, 2),
        "hashtag_scores": (7, 2),
        "hashtag_present": (7, 2),
        "negator": (7,),
        "clause_end": (7,),
    }
    assert all(v.dtype == np.float32 for v in arrays.values())
    assert arrays["scores"][2].tolist() == [0.25, 0.0] and arrays["present"][2].tolist() == [1, 0]
    assert arrays["hashtag_scores"][2].tolist() == [0.75, 0.0]
    assert arrays["hashtag_present"][2].tolist() == [1, 0]
    assert arrays["scores"][3].tolist() == [0.0, -0.5]
    assert arrays["negator"].tolist() == [0, 0, 0, 1, 0, 0, 0]
    assert arrays["clause_end"].tolist() == [0, 0, 0, 0, 1, 0, 0]


def _check_ids_path(token_lists: list[list[str]], lexicons: list[Lexicon]) -> None:
    vocab = ["<pad>", "<unk>"] + sorted({t for tokens in token_lists for t in tokens})
    index = {t: i for i, t in enumerate(vocab)}
    arrays = vocab_arrays(vocab, lexicons)
    hashtag_id = index.get("<hashtag>")
    for tokens in token_lists:
        expected = tweet_features(tokens, lexicons)
        got = tweet_features_from_ids([index[t] for t in tokens], arrays, hashtag_id)
        assert got.dtype == np.float32
        assert np.array_equal(got, expected), tokens


def test_ids_path_equals_token_path_on_hand_made_tweets():
    texts = [
        "good but not bad or meh . great <hashtag> win",
        "<hashtag> win <hashtag> <hashtag> win not <hashtag> win , win <hashtag>",
        "not not bad ... good <url> not meh",
        "",
        "nothing",
    ]
    _check_ids_path([t.split() for t in texts], [TOY, NEG])
    _check_ids_path([["win", "good"], ["not", "win"]], [TOY])  # no <hashtag> in the vocabulary


def test_ids_path_equals_token_path_on_random_and_normalized_tweets():
    rng = random.Random(13)
    words = ["good", "great", "bad", "meh", "win", "not", "n't", "dont", "never", "<hashtag>",
             ".", ",", "!", "...", "<url>", "i", "it", "so"]  # fmt: skip
    lexicons = [TOY, NEG, Lexicon("pol", {"i": 0.0, "it": 1.0, "#so": -1.0}, "p", "polarity")]
    token_lists = [[rng.choice(words) for _ in range(rng.randint(0, 25))] for _ in range(300)]
    normalizer = Normalizer()
    texts = ["I don't like it... but #win :)", "#Good not #bad, http://t.co/x great!!!"]
    token_lists += [normalizer.tokenize(text) for text in texts]
    _check_ids_path(token_lists, lexicons)
