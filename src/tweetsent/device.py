"""Device choice: `auto`, `cpu`, `cuda`, `cuda:N`, checked against this machine."""

from __future__ import annotations

import torch

from tweetsent.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when available; an unavailable CUDA device is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r}: CUDA is not available on this machine")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)
