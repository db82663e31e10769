"""The cache root: $TWEETSENT_CACHE or ~/.cache/tweetsent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweetsent.paths import cache_root


def test_cache_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETSENT_CACHE", str(tmp_path))
    assert cache_root() == tmp_path


def test_cache_root_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWEETSENT_CACHE", raising=False)
    assert cache_root() == Path.home() / ".cache" / "tweetsent"
    monkeypatch.setenv("TWEETSENT_CACHE", "  ")
    assert cache_root() == Path.home() / ".cache" / "tweetsent"
