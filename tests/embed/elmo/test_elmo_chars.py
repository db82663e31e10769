"""Character ids: UTF-8 bytes + 1, word markers, cut long tokens, padding 0."""

from __future__ import annotations

import pytest
import torch

from tweetsent.embed.elmo.chars import (
    BOS_CHAR,
    BOW_CHAR,
    EOS_CHAR,
    EOW_CHAR,
    PAD_CHAR,
    batch_to_ids,
    sentence_marker_ids,
    word_to_ids,
)

BOW, EOW, PAD = BOW_CHAR + 1, EOW_CHAR + 1, PAD_CHAR + 1


@pytest.mark.parametrize(
    ("word", "body"),
    [
        ("a", [ord("a") + 1]),
        ("Hi!", [ord("H") + 1, ord("i") + 1, ord("!") + 1]),
        ("é", [0xC3 + 1, 0xA9 + 1]),  # two UTF-8 bytes
        ("🙂", [0xF0 + 1, 0x9F + 1, 0x99 + 1, 0x82 + 1]),  # four UTF-8 bytes
        ("", []),  # an empty token is just the two word markers
        ("a\ud800b", [ord("a") + 1, ord("b") + 1]),  # a lone surrogate cannot be encoded: dropped
    ],
)
def test_word_ids_are_bytes_plus_one_between_markers(word: str, body: list[int]) -> None:
    ids = word_to_ids(word, 50)
    assert len(ids) == 50
    assert list(ids[: len(body) + 2]) == [BOW, *body, EOW]
    assert set(ids[len(body) + 2 :]) <= {PAD}


def test_long_token_is_cut_and_keeps_its_end_marker() -> None:
    word = "x" * 80
    ids = word_to_ids(word, 50)
    assert ids[0] == BOW and ids[-1] == EOW
    assert ids[1:49] == (ord("x") + 1,) * 48
    exact = word_to_ids("y" * 48, 50)  # exactly fills the token: no padding left
    assert exact[-1] == EOW and PAD not in exact
    assert word_to_ids("y" * 49, 50) == exact


def test_emoji_cut_mid_character_keeps_the_bytes() -> None:
    ids = word_to_ids("🙂" * 20, 50)  # 80 bytes -> first 48 bytes = 12 emoji
    assert ids[1:49] == tuple(b + 1 for b in ("🙂" * 12).encode("utf-8"))
    assert ids[49] == EOW


def test_sentence_markers() -> None:
    bos, eos = sentence_marker_ids(50)
    assert bos[:3] == (BOW, BOS_CHAR + 1, EOW) and eos[:3] == (BOW, EOS_CHAR + 1, EOW)
    assert set(bos[3:]) == {PAD} and set(eos[3:]) == {PAD}


def test_batch_to_ids_pads_with_zero_tokens() -> None:
    ids = batch_to_ids([["hello", "world"], [], ["a"]])
    assert ids.shape == (3, 2, 50) and ids.dtype == torch.long
    assert ids[0, 1].tolist() == list(word_to_ids("world"))
    assert (ids[1] == 0).all()  # the empty sentence
    assert (ids[2, 1] == 0).all() and (ids[2, 0] > 0).all()


def test_batch_to_ids_edge_cases() -> None:
    assert batch_to_ids([]).shape == (0, 0, 50)
    assert batch_to_ids([[], []]).shape == (2, 0, 50)
    a, b, c = ord("a") + 1, ord("b") + 1, ord("c") + 1
    assert batch_to_ids([["abc"]], max_chars=5)[0, 0].tolist() == [BOW, a, b, c, EOW]
    assert batch_to_ids([["abcd"]], max_chars=5)[0, 0].tolist() == [BOW, a, b, c, EOW]
