"""tokenize_corpus: equal to the normalizer, parallel == serial, a real on-disk cache."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from tweetsent.config import TextConfig
from tweetsent.text import Normalizer, corpus_key, default_cache_dir, tokenize_corpus
from tweetsent.text import corpus as corpus_module

WORDS = "good bad Sooo don't @user #tag http://t.co/x :) 😂😂 42 &amp; café !!! the not 👍🏽 U.S."
PIECES = [*WORDS.split(), "", "\r\n"]


def make_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(PIECES, k=rng.randint(0, 12))) for _ in range(n)]


def npz_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.npz"))


def test_serial_equals_the_normalizer(tmp_path: Path) -> None:
    texts, config = make_texts(300), TextConfig(stopwords="study")
    expected = [Normalizer(config).tokenize(t) for t in texts]
    got = tokenize_corpus(texts, config, workers=1, progress=True, cache_dir=tmp_path)
    assert got == expected


def test_parallel_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus_module, "PARALLEL_MIN_TEXTS", 0)
    texts, config = make_texts(3500, seed=1), TextConfig()
    serial = tokenize_corpus(texts, config, workers=1, progress=False, cache=False)
    parallel = tokenize_corpus(texts, config, workers=2, progress=False, cache=False)
    assert parallel == serial
    assert npz_files(tmp_path) == []


def test_second_call_is_a_cache_hit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts, config = make_texts(200, seed=2), TextConfig()
    first = tokenize_corpus(texts, config, workers=1, progress=False, cache_dir=tmp_path)
    [path] = npz_files(tmp_path)
    assert path.name == f"{corpus_key(texts, config)}.npz"

    def fail(*args, **kwargs):
        raise AssertionError("tokenized again instead of reading the cache")

    monkeypatch.setattr(corpus_module, "_tokenize_encoded", fail)
    assert tokenize_corpus(texts, config, workers=1, progress=False, cache_dir=tmp_path) == first


def test_cache_file_holds_no_pickle(tmp_path: Path) -> None:
    tokenize_corpus(make_texts(50), TextConfig(), progress=False, cache_dir=tmp_path)
    [path] = npz_files(tmp_path)
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)


def test_key_depends_on_texts_config_and_boundaries() -> None:
    texts = ["ab", "c"]
    key = corpus_key(texts, TextConfig())
    assert key == corpus_key(list(texts), TextConfig())
    assert key != corpus_key(texts, TextConfig(lowercase=False))
    assert key != corpus_key(texts, TextConfig(max_tokens=10))
    assert key != corpus_key(["a", "bc"], TextConfig())
    assert key != corpus_key(["c", "ab"], TextConfig())


def test_different_config_gets_its_own_cache_file(tmp_path: Path) -> None:
    texts = make_texts(40, seed=3)
    lower = tokenize_corpus(texts, TextConfig(), progress=False, cache_dir=tmp_path)
    upper = tokenize_corpus(texts, TextConfig(lowercase=False), progress=False, cache_dir=tmp_path)
    assert len(npz_files(tmp_path)) == 2
    assert lower != upper


def test_corrupt_cache_is_a_miss(tmp_path: Path) -> None:
    texts, config = make_texts(60, seed=4), TextConfig()
    first = tokenize_corpus(texts, config, progress=False, cache_dir=tmp_path)
    [path] = npz_files(tmp_path)
    path.write_bytes(b"not an npz file")
    with pytest.warns(UserWarning, match="bad token cache"):
        again = tokenize_corpus(texts, config, progress=False, cache_dir=tmp_path)
    assert again == first
    assert tokenize_corpus(texts, config, progress=False, cache_dir=tmp_path) == first


def test_non_string_text_is_named() -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] is NoneType"):
        tokenize_corpus(["ok", None], TextConfig(), progress=False, cache=False)


def test_cache_false_writes_nothing_and_empty_input(tmp_path: Path) -> None:
    texts = make_texts(20)
    assert tokenize_corpus(texts, TextConfig(), progress=False, cache_dir=tmp_path, cache=False)
    assert npz_files(tmp_path) == []
    assert tokenize_corpus([], TextConfig(), progress=False, cache_dir=tmp_path) == []


def test_default_cache_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEETSENT_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    tokenize_corpus(["a b", "c"], TextConfig(), progress=False, cache_dir=None)
    tokenize_corpus(["a b", "d"], TextConfig(), progress=False, cache_dir="")
    assert len(npz_files(tmp_path / "c" / "tokens")) == 2
