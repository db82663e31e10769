"""Shared fixtures: tiny corpora the tests write themselves, and the optional shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic import synthetic_tweets
from tweetsent.config import RunConfig

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"


def write_tsv(path: Path, rows: list[tuple[str, str]], start_id: int = 1000) -> Path:
    path.write_text(
        "".join(f"{start_id + i}\t{label}\t{text}\n" for i, (label, text) in enumerate(rows)),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def tiny_tsv(tmp_path: Path) -> Path:
    return write_tsv(tmp_path / "tiny-train.tsv", synthetic_tweets(240, seed=1))


@pytest.fixture
def tiny_valid_tsv(tmp_path: Path) -> Path:
    return write_tsv(tmp_path / "tiny-valid.tsv", synthetic_tweets(60, seed=2), start_id=5000)


def tiny_config(train: Path, out: Path, **overrides) -> RunConfig:
    """A config that trains in about a second: random 16-d embeddings, hidden 16."""
    base = {
        "data.train": [str(train)],
        "data.min_freq": 1,
        "data.workers": 1,
        "data.cache_dir": str(out.parent / "cache"),
        "embed.kind": "random",
        "embed.dim": 16,
        "model.hidden_size": 16,
        "train.epochs": 4,
        "train.batch_size": 16,
        "train.lr": 0.01,
        "train.progress": False,
        "train.threads": 1,
        "out": str(out),
    }
    base.update(overrides)
    return RunConfig().with_overrides(base)


@pytest.fixture
def make_config():
    """The tiny_config factory, as a fixture (test modules do not import each other)."""
    return tiny_config


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found (the shared SemEval data is only on development machines)")
    return SHARED
