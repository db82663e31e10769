"""Tiny ELMo models in the official layout, generated with random weights by our writer
(the fixtures live in tests/tiny_elmo.py, shared with the other ELMo test folder)."""

from __future__ import annotations

import pytest

from tiny_elmo import make_model, single_thread, tiny_files, tiny_options

__all__ = ["make_model", "one_thread", "tiny_files", "tiny_options"]

one_thread = pytest.fixture(autouse=True, name="one_thread")(single_thread)
