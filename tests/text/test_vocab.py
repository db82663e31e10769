"""Vocabulary: deterministic build, encoding, JSON round trip, clear errors on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tweetsent.errors import DataError
from tweetsent.text import PAD, PAD_ID, UNK, UNK_ID, Vocabulary

LISTS = [["b", "a", "c", "a"], ["c", "a", "d"], ["b", "e", "<pad>", "<pad>"]]


def test_build_orders_by_frequency_then_token() -> None:
    vocab = Vocabulary.build(LISTS, min_freq=2, max_size=100)
    assert vocab.tokens == [PAD, UNK, "a", "b", "c"]  # a:3, b:2, c:2; d, e once; <pad> skipped
    assert (vocab.id_of(PAD), vocab.id_of(UNK)) == (PAD_ID, UNK_ID) == (0, 1)
    assert len(vocab) == 5
    assert Vocabulary.build(list(reversed(LISTS)), min_freq=2) == vocab


def test_min_freq_and_max_size() -> None:
    assert Vocabulary.build(LISTS, min_freq=1).tokens == [PAD, UNK, "a", "b", "c", "d", "e"]
    assert Vocabulary.build(LISTS, min_freq=1, max_size=3).tokens == [PAD, UNK, "a"]
    assert Vocabulary.build(LISTS, min_freq=9).tokens == [PAD, UNK]
    with pytest.raises(ValueError):
        Vocabulary.build(LISTS, min_freq=0)
    with pytest.raises(ValueError):
        Vocabulary.build(LISTS, max_size=1)


def test_encode_decode() -> None:
    vocab = Vocabulary.build(LISTS, min_freq=2)
    assert vocab.encode(["a", "zzz", "c", PAD]) == [2, UNK_ID, 4, PAD_ID]
    assert vocab.encode([]) == []
    assert vocab.decode([2, 3, 1]) == ["a", "b", UNK]
    assert "a" in vocab and "zzz" not in vocab


def test_dict_and_file_round_trip(tmp_path: Path) -> None:
    vocab = Vocabulary.build([["é", "😂", "<url>"] * 2, ["x"]], min_freq=1)
    assert Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab
    path = tmp_path / "run" / "vocab.json"
    vocab.save(path)
    assert Vocabulary.load(path) == vocab
    assert [p.name for p in path.parent.iterdir()] == ["vocab.json"]  # no temp file left
    assert json.loads(path.read_text(encoding="utf-8"))["tokens"][:2] == [PAD, UNK]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a tweetsent vocabulary"),
        ('{"format": "tweetsent-vocab", "version": 99, "tokens": []}', "version"),
        ('{"format": "tweetsent-vocab", "version": 1, "tokens": "ab"}', "list of strings"),
        ('{"format": "tweetsent-vocab", "version": 1, "tokens": ["a", "b"]}', "starts with"),
        (
            '{"format": "tweetsent-vocab", "version": 1, "tokens": ["<pad>", "<unk>", 3]}',
            "non-empty strings",
        ),
        (
            '{"format": "tweetsent-vocab", "version": 1, "tokens": ["<pad>", "<unk>", "a", "a"]}',
            "appears twice",
        ),
    ],
)
def test_malformed_file_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "vocab.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as info:
        Vocabulary.load(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "vocab.json"
    path.write_text('{\n  "format": "tweetsent-vocab",\n  oops\n}', encoding="utf-8")
    with pytest.raises(DataError) as info:
        Vocabulary.load(path)
    assert info.value.line == 3 and f"{path}:3:" in str(info.value)


def test_missing_or_binary_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such vocabulary file"):
        Vocabulary.load(tmp_path / "absent.json")
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="binary.json"):
        Vocabulary.load(path)
