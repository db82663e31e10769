"""A tiny ELMo biLM in the official layout, generated with random weights by our writer
(shared by the ELMo, serving and CUDA tests; importable because pytest puts tests/ on the path)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tweetsent.embed.elmo import ElmoBiLm, ElmoOptions, save_hdf5

TINY = ElmoOptions(
    filters=((1, 4), (2, 8), (3, 8)),
    char_embed_dim=4,
    n_highway=2,
    activation="relu",
    lstm_dim=16,
    projection_dim=8,
    n_layers=2,
    cell_clip=3.0,
    proj_clip=3.0,
)


def write_model(folder: Path, options: ElmoOptions = TINY, seed: int = 0) -> tuple[Path, Path]:
    """options.json + weights.hdf5 of a random biLM with `options`."""
    torch.manual_seed(seed)
    options_path, weights_path = folder / "options.json", folder / "weights.hdf5"
    options.save(options_path)
    save_hdf5(ElmoBiLm(options), weights_path)
    return options_path, weights_path


# Fixtures of the ELMo and pretraining test folders (their conftest.py files import these).


@pytest.fixture
def tiny_options() -> ElmoOptions:
    return TINY


@pytest.fixture
def tiny_files(tmp_path: Path) -> tuple[Path, Path]:
    return write_model(tmp_path)


@pytest.fixture
def make_model():
    """The write_model factory, as a fixture (test modules do not import each other)."""
    return write_model


def single_thread():
    """Tiny models run fastest (and steadily on a busy machine) on one intra-op thread
    (a generator for `pytest.fixture(autouse=True)` in the conftest files)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
