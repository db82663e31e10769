"""Fixtures shared by the run tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic import synthetic_tweets, tiny_config, write_tsv
from tweetsent.train import train


@pytest.fixture(scope="session")
def batch_run(tmp_path_factory) -> Path:
    """A tiny run (1 epoch on 120 synthetic tweets) that the batch-scoring and Dask tests read
    and never modify: trained once for both."""
    root = tmp_path_factory.mktemp("batch")
    data = write_tsv(root / "train.tsv", synthetic_tweets(120, seed=3), start_id=0)
    train(tiny_config(data, root / "run", **{"train.epochs": 1}), log=lambda _: None)
    return root / "run"
