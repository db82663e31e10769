"""Write a `RunConfig` as a TOML file that `tweetsent train --config` reads back."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tweetsent.config import RunConfig
from tweetsent.io import atomic_write


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are valid TOML escapes
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def config_toml(config: RunConfig, header: str = "") -> str:
    """The whole config, one table per section (`out` left out: give it with --out)."""
    lines = [f"# {line}" for line in header.splitlines()]
    for section, table in config.to_dict().items():
        if not isinstance(table, dict):
            continue
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_value(value)}" for key, value in table.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_config_toml(path: str | Path, config: RunConfig, header: str = "") -> Path:
    path = Path(path)
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(config_toml(config, header))
    return path
