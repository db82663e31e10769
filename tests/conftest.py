"""Shared fixtures: tiny corpora the tests write themselves, and the optional shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

import tweetsent.io
from synthetic import synthetic_tweets, tiny_config, write_tsv

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"


@pytest.fixture
def tiny_tsv(tmp_path: Path) -> Path:
    return write_tsv(tmp_path / "tiny-train.tsv", synthetic_tweets(240, seed=1))


@pytest.fixture
def tiny_valid_tsv(tmp_path: Path) -> Path:
    return write_tsv(tmp_path / "tiny-valid.tsv", synthetic_tweets(60, seed=2), start_id=5000)


@pytest.fixture
def make_config():
    """The tiny_config factory, as a fixture (test modules do not import each other)."""
    return tiny_config


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found (the shared SemEval data is only on development machines)")
    return SHARED


@pytest.fixture
def config_reads(monkeypatch) -> list[str]:
    """Every read of a file named config.json in this process (through `io.read_json`)."""
    reads: list[str] = []
    read = tweetsent.io.read_capped

    def counted(path, *args, **kwargs):
        if Path(path).name == "config.json":
            reads.append(str(path))
        return read(path, *args, **kwargs)

    monkeypatch.setattr(tweetsent.io, "read_capped", counted)
    return reads
