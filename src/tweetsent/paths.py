"""Where tweetsent keeps files it can rebuild: the cache root."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "TWEETSENT_CACHE"


def cache_root() -> Path:
    """`$TWEETSENT_CACHE` if set (and not empty), else `~/.cache/tweetsent`. Not created here."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tweetsent"
