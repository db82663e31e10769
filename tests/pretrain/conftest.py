"""Tiny ELMo models in the official layout, generated with random weights by our writer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tiny_elmo import TINY, write_model
from tweetsent.embed.elmo import ElmoOptions


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


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest (and steadily on a busy machine) on one intra-op thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
