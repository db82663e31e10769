"""Tiny studies over synthetic tweets that the tests write themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic import synthetic_tweets, write_tsv

FIXED = """
[fixed]
embed.kind = "random"
embed.dim = 8
model.hidden_size = 8
train.epochs = 2
train.batch_size = 32
train.lr = 0.02
train.threads = 1
"""

ARMS = """
[arms.lstm]
description = "LSTM"
model.cell = "lstm"

[arms.gru]
model.cell = "gru"
"""


def write_study(
    root: Path, study: str = "", fixed: str = FIXED, arms: str = ARMS, data: str | None = None
) -> Path:
    """A study file in `root` (with its tiny data): 2 arms x 2 seeds whose runs train in about
    a second; `study` lines are added to [study]."""
    d = {
        "train": write_tsv(root / "train.tsv", synthetic_tweets(150, seed=1)),
        "valid": write_tsv(root / "valid.tsv", synthetic_tweets(60, seed=2), 5000),
        "test": write_tsv(root / "test.tsv", synthetic_tweets(90, seed=3), 9000),
    }
    if data is None:
        data = (
            f'train = ["{d["train"]}"]\nvalid = ["{d["valid"]}"]\ntest = ["{d["test"]}"]\n'
            f'min_freq = 1\nworkers = 1\ncache_dir = "{root / "cache"}"\n'
        )
    text = (
        f'[study]\nname = "tiny"\nseeds = [1, 2]\nbaseline = "lstm"\nout = "{root / "out"}"'
        f"\nbootstrap = 200\nheartbeat = 5\nprogress = false\n{study}\n\n[data]\n{data}\n"
        f"{fixed}\n{arms}"
    )
    path = root / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def study_toml(tmp_path: Path):
    """study_toml(study="", fixed=FIXED, arms=ARMS, data=None) -> a study file in tmp_path."""
    return lambda *args, **kwargs: write_study(tmp_path, *args, **kwargs)


@pytest.fixture(scope="module")
def module_study(tmp_path_factory) -> Path:
    """The default tiny study file, shared by a module's tests."""
    return write_study(tmp_path_factory.mktemp("study"))
