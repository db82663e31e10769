"""Tiny search spaces over synthetic tweets that the tests write themselves."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

WORDS = {
    "positive": ["love", "great", "happy", "awesome", "best", "good"],
    "negative": ["hate", "awful", "sad", "worst", "bad", "terrible"],
    "neutral": ["meeting", "tuesday", "report", "bus", "update", "office"],
}
FILLER = ["the", "today", "this", "my", "phone", "game", "movie", "team", "at"]
LABELS = list(WORDS)


def write_tweets(path: Path, n: int, seed: int, noise: bool = False) -> Path:
    """SemEval-style TSV; with noise=True the labels are random (nothing to learn but noise)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        label = LABELS[i % 3]
        words = rng.sample(FILLER, rng.randint(2, 5)) + rng.sample(WORDS[label], 2)
        if noise:
            words = rng.sample(FILLER + sum(WORDS.values(), []), 6)
            words.append(f"tok{i}")  # a unique token per tweet: easy to memorise
        rng.shuffle(words)
        lines.append(f"{1000 + i}\t{label}\t{' '.join(words)}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def space_toml(train: Path, out: Path, search: str = "", params: str = "", fixed: str = "") -> str:
    """A space file whose trials train in well under a second; `search` / `fixed` lines
    replace the defaults of the same key."""
    search_lines = {
        "out": f'"{out}"',
        "progress": "false",
        "pruner": '"none"',
        "overfit_gap": "0.0",
        "heartbeat": "5",
    }
    fixed_lines = {
        "data.train": f'["{train}"]',
        "data.min_freq": "1",
        "data.workers": "1",
        "data.cache_dir": f'"{out.parent / "cache"}"',
        "embed.kind": '"random"',
        "embed.dim": "8",
        "model.hidden_size": "8",
        "train.epochs": "2",
        "train.batch_size": "32",
        "train.lr": "0.02",
        "train.threads": "1",
        "train.early_stopping": '""',
    }
    for table, given in ((search_lines, search), (fixed_lines, fixed)):
        for line in filter(None, given.splitlines()):
            key, _, value = line.partition("=")
            table[key.strip()] = value.strip()
    lines = ["[search]", *(f"{k} = {v}" for k, v in search_lines.items() if v != "DROP")]
    lines += ["", "[fixed]", *(f"{k} = {v}" for k, v in fixed_lines.items() if v != "DROP")]
    return "\n".join([*lines, "", "[params]", params, ""])


@pytest.fixture(scope="module")
def tweets(tmp_path_factory) -> Path:
    return write_tweets(tmp_path_factory.mktemp("data") / "tweets.tsv", 150, seed=3)


@pytest.fixture
def write_space(tmp_path):
    """write_space(name, text) -> path of a space file in tmp_path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def make_space():
    """The space_toml factory, as a fixture (test modules do not import each other)."""
    return space_toml


@pytest.fixture
def noisy_tweets(tmp_path) -> Path:
    return write_tweets(tmp_path / "noisy.tsv", 150, seed=4, noise=True)
