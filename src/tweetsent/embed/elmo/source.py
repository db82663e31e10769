"""Which ELMo files a classifier uses, identified by their SHA-256, and finding them again.

A run trained with ELMo records `ElmoSource.to_meta()` in its meta.json; loading the run finds
the files (the config's paths or registry model, else the absolute paths recorded) and refuses
files whose checksums differ, so a saved classifier never silently runs on another biLM.
The model key (from both checksums and `FEATURES_VERSION`) names the feature cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tweetsent.config import EmbedConfig
from tweetsent.embed.elmo.bilm import ElmoBiLm
from tweetsent.embed.elmo.weights import load_bilm
from tweetsent.errors import DataError
from tweetsent.io import sha256_file

# Bump when the biLM's numbers change for the same files: cached features become stale.
FEATURES_VERSION = 1

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) for this process."""
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_file(path)
    return _DIGESTS[key]


@dataclass(frozen=True)
class ElmoSource:
    options: Path
    weights: Path
    options_sha256: str
    weights_sha256: str
    name: str = ""  # registry model, "" for files given by path

    @classmethod
    def from_files(
        cls, options: str | os.PathLike, weights: str | os.PathLike, name: str = ""
    ) -> ElmoSource:
        for path, what in ((options, "options"), (weights, "weights")):
            if not Path(path).is_file():
                raise DataError(f"no such ELMo {what} file", path)
        return cls(
            Path(options).resolve(),
            Path(weights).resolve(),
            file_sha256(options),
            file_sha256(weights),
            name,
        )

    @property
    def key(self) -> str:
        """Names the exact model (both files' contents) and the feature code version."""
        text = f"{self.options_sha256}:{self.weights_sha256}:{FEATURES_VERSION}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def load(self) -> ElmoBiLm:
        """The biLM, frozen, in eval mode, on the CPU."""
        return load_bilm(self.options, self.weights)

    def to_meta(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "options": str(self.options),
            "weights": str(self.weights),
            "options_sha256": self.options_sha256,
            "weights_sha256": self.weights_sha256,
            "key": self.key,
        }


def resolve_source(config: EmbedConfig) -> ElmoSource:
    """The files `config` names: a registry model (which must be in the cache) or two paths."""
    if config.elmo_model:
        from tweetsent.embed.elmo.registry import model_files

        files = model_files(config.elmo_model, check=True)
        return ElmoSource.from_files(files.options, files.weights, config.elmo_model)
    return ElmoSource.from_files(config.elmo_options, config.elmo_weights)


def source_for_run(config: EmbedConfig, recorded: dict[str, Any] | None) -> ElmoSource:
    """The files a saved run was trained with, checked against the checksums it recorded.

    Tried in order: what the config names (relative paths as seen from here), then the
    absolute paths recorded at training time.
    """
    if not recorded:
        return resolve_source(config)
    candidates = []
    with contextlib.suppress(DataError):
        candidates.append(resolve_source(config))
    options, weights = Path(recorded.get("options", "")), Path(recorded.get("weights", ""))
    if options.is_file() and weights.is_file():
        candidates.append(ElmoSource.from_files(options, weights, recorded.get("model", "")))
    for source in candidates:
        if (source.options_sha256, source.weights_sha256) == (
            recorded.get("options_sha256"),
            recorded.get("weights_sha256"),
        ):
            return source
    if not candidates:
        raise DataError(
            "the run's ELMo files are missing (put them back, or `tweetsent elmo import` the "
            "registry model)",
            recorded.get("weights"),
        )
    raise DataError(
        f"ELMo files differ from those the run was trained with (sha256 "
        f"{candidates[0].weights_sha256[:12]}..., expected "
        f"{str(recorded.get('weights_sha256'))[:12]}...)",
        candidates[0].weights,
    )
