"""Tweet-level lexicon features inside a model (`TweetLexiconFeatures`): the numbers of
`lexicons.tweet_features` (numpy, from tokens), from token ids, batched with padding."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tweetsent.lexicons import FEATURES_PER_LEXICON, Lexicon, tweet_features, vocab_arrays
from tweetsent.models.lexfeatures import NormalizedTweetFeatures, TweetLexiconFeatures

TOY = Lexicon(
    name="toy",
    scores={"good": 1.0, "great": 0.5, "bad": -1.0, "meh": 0.0, "#win": 0.75, "win": 0.25}
    | {"#sad": -0.5},
    source="toy.txt",
    format="score",
)
OTHER = Lexicon(name="other", scores={"not": -0.5, "good": 0.25}, source="o.txt", format="score")


def _module(vocab: list[str], lexicons: list[Lexicon]) -> TweetLexiconFeatures:
    hashtag = vocab.index("<hashtag>") if "<hashtag>" in vocab else -1
    arrays = vocab_arrays(vocab, lexicons)
    return TweetLexiconFeatures(len(vocab), len(lexicons), arrays, hashtag)


def _batch(tweets: list[list[str]], vocab: list[str], extra: int = 0):
    """Token ids (B, T + extra) padded with 0, and the (B, T + extra) float mask."""
    index = {token: i for i, token in enumerate(vocab)}
    width = max([len(t) for t in tweets] + [1]) + extra
    tokens = torch.zeros(len(tweets), width, dtype=torch.int64)
    for row, tweet in enumerate(tweets):
        tokens[row, : len(tweet)] = torch.tensor([index[t] for t in tweet], dtype=torch.int64)
    lengths = torch.tensor([len(t) for t in tweets])
    mask = (torch.arange(width)[None, :] < lengths[:, None]).float()
    return tokens, mask


def _tokens(text: str) -> list[str]:
    return text.split()


HAND_MADE = _tokens("i do n't like bad win , <hashtag> win great <hashtag> sad meh ! never good")


def test_features_of_a_hand_made_tweet():
    """Negated: like bad win (after n't, to the comma) and good (after never). `<hashtag> win`
    is looked up as #win (0.75), `<hashtag> sad` as #sad (sad alone is not in the lexicon),
    the plain `win` as win (0.25); meh (0) is in the lexicon but neither positive nor negative."""
    vocab = ["<pad>", "<unk>", *dict.fromkeys(HAND_MADE)]
    module = _module(vocab, [TOY, OTHER])
    tokens, mask = _batch([HAND_MADE], vocab)
    got = module(tokens, mask)
    assert got.shape == (1, 2 * FEATURES_PER_LEXICON) and got.dtype == torch.float32
    # order: pos_count neg_count pos_sum neg_sum max min last total
    expected = [
        [2, 1, 1.25, -0.5, 0.75, -0.5, 0.0, 0.75],  # toy, affirmative: #win great #sad meh
        [2, 1, 1.25, -1.0, 1.0, -1.0, 1.0, 0.25],  # toy, negated: bad win good
        [0, 0, 0, 0, 0, 0, 0, 0],  # other, affirmative: nothing
        [1, 0, 0.25, 0, 0.25, 0.25, 0.25, 0.25],  # other, negated: good
    ]
    assert got[0].tolist() == np.array(expected, dtype=np.float32).reshape(-1).tolist()
    assert tweet_features(HAND_MADE, [TOY, OTHER]).tolist() == got[0].tolist()
    negated = module.negated(tokens, mask)[0].int().tolist()
    assert negated == [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_negators_in_a_lexicon_are_affirmative_and_clause_ends_stop_the_scope():
    tweet = _tokens("not good . good no <hashtag> win")
    vocab = ["<pad>", "<unk>", *dict.fromkeys(tweet)]
    got = _module(vocab, [OTHER, TOY])(*_batch([tweet], vocab))[0].reshape(2, 2, 8)
    assert got[0, 0].tolist() == [1, 1, 0.25, -0.5, 0.25, -0.5, 0.25, -0.25]  # not, good
    assert got[0, 1].tolist() == [1, 0, 0.25, 0, 0.25, 0.25, 0.25, 0.25]  # not good
    assert got[1, 0].tolist() == [1, 0, 1.0, 0, 1.0, 1.0, 1.0, 1.0]  # good (after the .)
    assert got[1, 1].tolist() == [2, 0, 1.75, 0, 1.0, 0.75, 0.75, 1.75]  # good, #win


# Random tweets over a vocabulary with every kind of token the features treat apart.
WORDS = ["good", "bad", "great", "meh", "win", "sad", "fun", "table", "today", "lol", ":)"]
SPECIAL = ["not", "n't", "never", "dont", ",", ".", "!", "...", "<url>", "<hashtag>", "<user>"]


def _random_lexicon(name: str, rng: random.Random) -> Lexicon:
    terms = rng.sample(WORDS + ["not", "never"], 8) + [f"#{w}" for w in rng.sample(WORDS, 4)]
    scores = {t: rng.choice([0.0, rng.uniform(-1, 1)]) for t in terms}
    return Lexicon(name=name, scores=scores, source=f"{name}.txt", format="score")


def _random_tweets(rng: random.Random, n: int) -> list[list[str]]:
    pool = WORDS + SPECIAL + ["<hashtag>"] * 3  # hashtags often
    return [[rng.choice(pool) for _ in range(rng.randint(0, 18))] for _ in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_batched_ids_equal_the_numpy_features_of_the_tokens(seed):
    rng = random.Random(seed)
    lexicons = [_random_lexicon(f"lex{k}", rng) for k in range(rng.randint(1, 3))]
    vocab = ["<pad>", "<unk>", *WORDS, *SPECIAL]
    rng.shuffle(vocab[2:])
    module = _module(vocab, lexicons)
    tweets = _random_tweets(rng, 24) + [[]]  # an empty tweet among them
    tokens, mask = _batch(tweets, vocab, extra=3)
    with torch.no_grad():
        got = module(tokens, mask).numpy()  # (B, 16 K)
    assert got.shape == (len(tweets), FEATURES_PER_LEXICON * len(lexicons))
    for row, tweet in enumerate(tweets):
        expected = tweet_features(tweet, lexicons)
        np.testing.assert_allclose(got[row], expected, rtol=0, atol=1e-5, err_msg=str(tweet))


@pytest.mark.parametrize("seed", range(3))
def test_padding_does_not_change_a_tweets_features(seed):
    rng = random.Random(100 + seed)
    lexicons = [_random_lexicon("a", rng), _random_lexicon("b", rng)]
    vocab = ["<pad>", "<unk>", *WORDS, *SPECIAL]
    module = _module(vocab, lexicons)
    tweets = [t for t in _random_tweets(rng, 12) if t]
    with torch.no_grad():
        together = module(*_batch(tweets, vocab, extra=5))
        for row, tweet in enumerate(tweets):
            alone = module(*_batch([tweet], vocab))
            torch.testing.assert_close(alone[0], together[row], rtol=0, atol=1e-6)


def test_hashtag_at_the_end_of_a_row_does_not_reach_the_next_row_or_padding():
    vocab = ["<pad>", "<unk>", "<hashtag>", "win", "good"]
    module = _module(vocab, [TOY])
    tokens, mask = _batch([["good", "<hashtag>"], ["win"]], vocab, extra=2)
    got = module(tokens, mask).reshape(2, 2, 8)
    assert got[1, 0].tolist() == [1, 0, 0.25, 0, 0.25, 0.25, 0.25, 0.25]  # win, not #win
    assert got[0, 0, 0].item() == 1 and got[0, 0, 4].item() == 1.0


def test_zeros_for_a_saved_model_to_fill_and_shape_checks():
    vocab = ["<pad>", "<unk>", *WORDS, *SPECIAL]
    filled = _module(vocab, [TOY])
    empty = TweetLexiconFeatures(len(vocab), 1)
    assert set(empty.state_dict()) == set(filled.state_dict())
    assert "hashtag_id" in empty.state_dict() and empty.hashtag_id.item() == -1
    empty.load_state_dict(filled.state_dict())
    tokens, mask = _batch(_random_tweets(random.Random(7), 6), vocab)
    assert torch.equal(empty(tokens, mask), filled(tokens, mask))
    with pytest.raises(ValueError, match="at least one lexicon"):
        TweetLexiconFeatures(len(vocab), 0)
    with pytest.raises(ValueError, match="lexicon array scores"):
        TweetLexiconFeatures(len(vocab) + 1, 1, vocab_arrays(vocab, [TOY]))


def test_normalized_features_train_on_a_batch_of_one():
    """BatchNorm cannot estimate statistics from one row: a training batch of one tweet (the
    last batch of an epoch can be) is normalised with the running statistics."""
    vocab = ["<pad>", "<unk>", *WORDS, *SPECIAL]
    norm = NormalizedTweetFeatures(_module(vocab, [TOY])).train()
    tokens, mask = _batch([["good", "not", "bad"]], vocab)
    out = norm(tokens, mask)
    assert out.shape == (1, FEATURES_PER_LEXICON) and torch.isfinite(out).all()
    tokens, mask = _batch([["good"], ["bad", "great"]], vocab)
    assert norm(tokens, mask).shape == (2, FEATURES_PER_LEXICON)
