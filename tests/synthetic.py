"""Synthetic tweets with a learnable label, the TSV files and tiny run configs made from them
(as a RunConfig, or as `tweetsent train` flags), shared by the tests (tests/ is on pythonpath)."""

from __future__ import annotations

import random
from pathlib import Path

from tweetsent.config import RunConfig

POSITIVE = ["love", "great", "happy", "awesome", "best", "good", "amazing", ":)"]
NEGATIVE = ["hate", "awful", "sad", "worst", "bad", "terrible", "angry", ":("]
NEUTRAL = ["meeting", "tuesday", "report", "bus", "update", "schedule", "office", "weather"]
FILLER = ["the", "today", "this", "my", "phone", "game", "movie", "team", "at", "@friend"]

# `tweetsent train` flags of a tiny run (as tiny_config); callers add --epochs and --batch-size.
TINY_TRAIN_FLAGS = ["--min-freq", "1", "--workers", "1", "--embed", "random", "--embed-dim", "16"]
TINY_TRAIN_FLAGS += ["--hidden", "16", "--threads", "1", "--no-progress"]


def synthetic_tweets(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(label, text) pairs whose label is learnable from sentiment words among filler."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = ("positive", "negative", "neutral")[i % 3]
        cue = {"positive": POSITIVE, "negative": NEGATIVE, "neutral": NEUTRAL}[label]
        words = rng.sample(FILLER, rng.randint(2, 6)) + rng.sample(cue, rng.randint(1, 2))
        rng.shuffle(words)
        rows.append((label, " ".join(words)))
    return rows


def write_tsv(path: Path, rows: list[tuple[str, str]], start_id: int = 1000) -> Path:
    path.write_text(
        "".join(f"{start_id + i}\t{label}\t{text}\n" for i, (label, text) in enumerate(rows)),
        encoding="utf-8",
    )
    return path


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
