"""What a transformer encoder reads: the tweet's own pieces, normalised as tweet encoders expect."""

import pytest

from tweetsent.config import EmbedConfig, TextConfig
from tweetsent.text.align import emoji_words, encoder_input
from tweetsent.text.normalize import Normalizer


def pieces(text: str, emoji: str = "words", **text_config) -> tuple[str, ...]:
    embed = EmbedConfig(kind="transformer", transformer="m", transformer_emoji=emoji)
    tokens, words = Normalizer(TextConfig(**text_config)).contextual(text, embed)
    assert len(words) == len(tokens)  # one entry per classifier token
    return words.pieces


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@Bob hi", ("@user", "hi")),
        ("see http://t.co/x1 now", ("see", "http", "now")),
        ("Pink Floyd &amp; me", ("Pink", "Floyd", "&", "me")),  # cased, entities decoded
        ("#Happy day", ("#Happy", "day")),
        ("Soooo good", ("Soooo", "good")),
        ("don't", ("do", "n't")),
        ("lol 😂", ("lol", "face with tears of joy")),
        ("ok 👍🏽", ("ok", "thumbs up sign")),  # the skin tone is dropped
        ("❤️", ("heavy black heart",)),  # the variation selector is dropped
        ("", ()),
    ],
)
def test_encoder_pieces(text, expected):
    assert pieces(text) == expected


def test_keep_leaves_emoji_and_mode_keys_the_cache():
    embed = EmbedConfig(kind="transformer", transformer="m", transformer_emoji="keep")
    _, words = Normalizer(TextConfig()).contextual("lol 😂", embed)
    assert words.pieces == ("lol", "😂")
    assert words.mode == "encoder-keep"
    assert pieces("lol 😂") != words.pieces


def test_stop_words_keep_their_context():
    """Stop words leave the classifier's tokens but stay in what the encoder reads."""
    embed = EmbedConfig(kind="transformer", transformer="m", transformer_emoji="words")
    tokens, words = Normalizer(TextConfig(stopwords="study")).contextual(
        "the movie was great", embed
    )
    assert "the" not in tokens
    assert words.pieces[0] == "the"
    assert [words.pieces[i] for i in words.index] == tokens


def test_emoji_words_leaves_other_text():
    assert emoji_words("café ☹") == "café white frowning face"
    assert emoji_words("naïve") == "naïve"


def test_encoder_input_refuses_auto():
    tokens, raw = Normalizer(TextConfig()).aligned("hi", "raw")
    with pytest.raises(ValueError, match="words or keep"):
        encoder_input(tokens, raw, "auto")
