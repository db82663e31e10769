"""The biLM's hyperparameters, read from (and written to) the official `options.json`.

The official file (bilm-tf, also used by allennlp) looks like:

    {"lstm": {"use_skip_connections": true, "projection_dim": 512, "cell_clip": 3,
              "proj_clip": 3, "dim": 4096, "n_layers": 2},
     "char_cnn": {"activation": "relu", "filters": [[1, 32], [2, 32], ..., [7, 1024]],
                  "n_highway": 2, "embedding": {"dim": 16}, "n_characters": 262,
                  "max_characters_per_token": 50}}

Keys that only matter for training (`bidirectional`, `dropout`, `n_epochs`, ...) are ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from tweetsent.errors import ConfigError, DataError
from tweetsent.io import atomic_write

# 256 byte values + 5 markers (begin/end of sentence, begin/end of word, padding) = 261 ids in
# the trained model; inference shifts every id by one so that 0 can be the padding row. An
# options.json may say either (`ElmoOptions.char_table_rows`); the value read is written back.
N_CHARACTERS = 262
ACTIVATIONS = ("tanh", "relu")


@dataclass(frozen=True)
class ElmoOptions:
    """Everything that fixes the biLM's shapes; validated at construction."""

    filters: tuple[tuple[int, int], ...]  # (width, number of filters) per convolution
    char_embed_dim: int = 16
    n_highway: int = 1
    activation: str = "relu"  # after the max-pool of every convolution
    n_characters: int = N_CHARACTERS
    max_chars: int = 50  # max_characters_per_token, begin/end-of-word markers included
    lstm_dim: int = 1024  # memory cell size
    projection_dim: int = 128  # LSTM output (and char-CNN output) size
    n_layers: int = 2
    cell_clip: float | None = 3.0  # None or 0: no clipping (as in the reference)
    proj_clip: float | None = 3.0
    use_skip_connections: bool = True

    @property
    def char_table_rows(self) -> int:
        """Rows of the character table, padding row included: 262 whether the file says 261
        (the trained ids, as bilm-tf's training options and allennlp's files) or 262 (the
        same with the padding row, bilm-tf's inference setting); the HDF5 holds 261 rows."""
        return N_CHARACTERS

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", tuple((int(w), int(n)) for w, n in self.filters))
        if not self.filters:
            raise ConfigError("char_cnn.filters: at least one [width, number] is needed")
        for i, (width, num) in enumerate(self.filters):
            if not 1 <= width <= self.max_chars or num < 1:
                raise ConfigError(
                    f"char_cnn.filters[{i}]: [{width}, {num}] needs 1 <= width <= "
                    f"max_characters_per_token ({self.max_chars}) and number >= 1"
                )
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"char_cnn.activation: {self.activation!r} is not tanh or relu")
        if self.n_characters not in (N_CHARACTERS - 1, N_CHARACTERS):
            raise ConfigError(
                f"char_cnn.n_characters: {self.n_characters}, expected 261 (training options: "
                f"the 261 character ids) or {N_CHARACTERS} (bilm-tf's inference setting, the "
                "same table with the padding row)"
            )
        positive = {
            "char_cnn.embedding.dim": self.char_embed_dim,
            "lstm.dim": self.lstm_dim,
            "lstm.projection_dim": self.projection_dim,
            "lstm.n_layers": self.n_layers,
        }
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"{name}: {value} must be >= 1")
        if self.n_highway < 0:
            raise ConfigError(f"char_cnn.n_highway: {self.n_highway} must be >= 0")
        if self.max_chars < 3:
            raise ConfigError("char_cnn.max_characters_per_token: must be >= 3")
        for name, clip in (("lstm.cell_clip", self.cell_clip), ("lstm.proj_clip", self.proj_clip)):
            if clip is not None and clip < 0:
                raise ConfigError(f"{name}: {clip} must be >= 0 (0 or null: no clipping)")

    @property
    def n_filters(self) -> int:
        """Width of the char-CNN output (and of the highway layers)."""
        return sum(num for _, num in self.filters)

    @property
    def num_output_layers(self) -> int:
        """Char layer + one per LSTM layer."""
        return self.n_layers + 1

    @property
    def output_dim(self) -> int:
        """Size of every output layer: forward and backward halves."""
        return 2 * self.projection_dim

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str | os.PathLike = "options") -> ElmoOptions:
        """Parse the official nested layout; errors name the file and the missing/bad key."""
        try:
            cnn, lstm = raw["char_cnn"], raw["lstm"]
            values = {
                "filters": [tuple(f) for f in cnn["filters"]],
                "char_embed_dim": int(cnn["embedding"]["dim"]),
                "n_highway": int(cnn.get("n_highway") or 0),
                "activation": cnn["activation"],
                "n_characters": int(cnn["n_characters"]),
                "max_chars": int(cnn["max_characters_per_token"]),
                "lstm_dim": int(lstm["dim"]),
                "projection_dim": int(lstm["projection_dim"]),
                "n_layers": int(lstm.get("n_layers", 1)),
                "cell_clip": _clip(lstm.get("cell_clip")),
                "proj_clip": _clip(lstm.get("proj_clip")),
                "use_skip_connections": bool(lstm.get("use_skip_connections", False)),
            }
        except KeyError as exc:
            raise DataError(f"options: missing key {exc.args[0]!r}", source) from None
        except (TypeError, ValueError) as exc:
            raise DataError(f"options: malformed value ({exc})", source) from None
        if any(len(f) != 2 for f in values["filters"]):
            raise DataError("options: char_cnn.filters must be [[width, number], ...]", source)
        try:
            return cls(**values)
        except ConfigError as exc:
            raise DataError(str(exc), source) from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> ElmoOptions:
        try:
            with open(path, encoding="utf-8") as handle:
                raw = json.load(handle)
        except FileNotFoundError:
            raise DataError("no such options file", path) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"options file is not valid JSON ({exc})", path) from None
        if not isinstance(raw, dict):
            raise DataError("options file must hold a JSON object", path)
        return cls.from_dict(raw, source=path)

    def to_dict(self) -> dict[str, Any]:
        """The official nested layout (integral clips written as integers, like the originals)."""
        return {
            "lstm": {
                "use_skip_connections": self.use_skip_connections,
                "projection_dim": self.projection_dim,
                "cell_clip": _plain(self.cell_clip),
                "proj_clip": _plain(self.proj_clip),
                "dim": self.lstm_dim,
                "n_layers": self.n_layers,
            },
            "char_cnn": {
                "activation": self.activation,
                "filters": [[w, n] for w, n in self.filters],
                "n_highway": self.n_highway,
                "embedding": {"dim": self.char_embed_dim},
                "n_characters": self.n_characters,
                "max_characters_per_token": self.max_chars,
            },
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write `options.json` atomically, in the official layout."""
        with atomic_write(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle)


def save_options(options: ElmoOptions, path: str | os.PathLike) -> None:
    """Write `options` as an official `options.json` (atomically)."""
    options.save(path)


def _clip(value: Any) -> float | None:
    return None if value is None else float(value)


def _plain(value: float | None) -> float | int | None:
    if value is not None and float(value).is_integer():
        return int(value)
    return value
