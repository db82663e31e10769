"""The four official English ELMo models: URLs, options, checksums, cache and offline import.

    fetch("small")                              # download into cache_root()/elmo/small/
    import_local("original", "~/Downloads")     # or copy files you downloaded yourself
    files = model_files("original", check=True) # -> ElmoFiles(options, weights)
    bilm = load_bilm(files.options, files.weights)

URLs are allennlp's public bucket (as in allennlp 2.10.1's `ElmoTokenEmbedder` defaults and
https://allennlp.org/elmo). Options are the published ones; parameter counts match the table
on that page (13.6M, 28.0M, 93.6M, 93.6M).

Checksums: no SHA-256 of these files is published, and none could be taken when this registry
was written (offline), so every `sha256` is None. The first download or import computes the
digests, prints them and records them in the model folder's SHA256SUMS; later downloads
(`force=True`) and imports are checked against those (trust on first use). Whatever their
origin, the files must also match the registry's options and every dataset's shape.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tweetsent.data.download import copy_verified, download, read_sums, write_sums
from tweetsent.embed.elmo.options import ElmoOptions
from tweetsent.embed.elmo.weights import check_weights, weight_layout
from tweetsent.errors import DataError
from tweetsent.paths import cache_root

BASE_URL = "https://allennlp.s3.amazonaws.com/models/elmo"
_FILTERS = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024))


def official_options(lstm_dim: int, projection_dim: int, n_highway: int) -> ElmoOptions:
    """The published options of the English models, which differ only in these three."""
    return ElmoOptions(
        filters=_FILTERS,
        char_embed_dim=16,
        n_highway=n_highway,
        activation="relu",
        n_characters=262,
        max_chars=50,
        lstm_dim=lstm_dim,
        projection_dim=projection_dim,
        n_layers=2,
        cell_clip=3.0,
        proj_clip=3.0,
        use_skip_connections=True,
    )


@dataclass(frozen=True)
class ElmoModel:
    name: str
    stem: str  # the official folder / file-name stem
    description: str
    options: ElmoOptions
    options_sha256: str | None = None  # None: recorded on first download (see module doc)
    weights_sha256: str | None = None

    @property
    def options_file(self) -> str:
        return f"elmo_{self.stem}_options.json"

    @property
    def weights_file(self) -> str:
        return f"elmo_{self.stem}_weights.hdf5"

    @property
    def options_url(self) -> str:
        return f"{BASE_URL}/{self.stem}/{self.options_file}"

    @property
    def weights_url(self) -> str:
        return f"{BASE_URL}/{self.stem}/{self.weights_file}"

    @property
    def parameters(self) -> int:
        """Number of weights in the file (the published counts, to three digits)."""
        return sum(math.prod(shape) for shape in weight_layout(self.options).values())


@dataclass(frozen=True)
class ElmoFiles:
    options: Path
    weights: Path


MODELS: dict[str, ElmoModel] = {
    m.name: m
    for m in (
        ElmoModel(
            "small",
            "2x1024_128_2048cnn_1xhighway",
            "small: LSTM 1024 cells / 128 outputs, 1 highway (13.6M parameters)",
            official_options(1024, 128, 1),
        ),
        ElmoModel(
            "medium",
            "2x2048_256_2048cnn_1xhighway",
            "medium: LSTM 2048 / 256, 1 highway (28.0M parameters)",
            official_options(2048, 256, 1),
        ),
        ElmoModel(
            "original",
            "2x4096_512_2048cnn_2xhighway",
            "original (Peters et al. 2018): LSTM 4096 / 512, 2 highways (93.6M "
            "parameters), 1B Word Benchmark",
            official_options(4096, 512, 2),
        ),
        ElmoModel(
            "original-5.5b",
            "2x4096_512_2048cnn_2xhighway_5.5B",
            "original architecture trained on 5.5B tokens (Wikipedia + WMT news)",
            official_options(4096, 512, 2),
        ),
    )
}


def get_model(name: str) -> ElmoModel:
    if name not in MODELS:
        raise DataError(f"unknown ELMo model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def elmo_home() -> Path:
    """cache_root()/elmo: one folder per model."""
    return cache_root() / "elmo"


def model_dir(name: str) -> Path:
    return elmo_home() / get_model(name).name


def model_files(name: str, check: bool = False) -> ElmoFiles:
    """Paths of the model's files in the cache; with `check`, missing files raise DataError."""
    model, folder = get_model(name), model_dir(name)
    files = ElmoFiles(folder / model.options_file, folder / model.weights_file)
    missing = [p.name for p in (files.options, files.weights) if not p.is_file()]
    if check and missing:
        raise DataError(
            f"ELMo model {name} is missing {', '.join(missing)}: run fetch "
            f"(`tweetsent elmo fetch {name}`) or import_local",
            folder,
        )
    return files


def fetch(name: str, force: bool = False, progress: bool = True) -> ElmoFiles:
    """Download the model's missing files (both with `force`), verify and return them."""
    model, files = get_model(name), model_files(name)
    sums = read_sums(files.options.parent)
    hint = (
        f"; without internet access, download the files elsewhere and import them: "
        f"import_local({name!r}, FOLDER)"
    )
    for url, path, pinned in (
        (model.options_url, files.options, model.options_sha256),
        (model.weights_url, files.weights, model.weights_sha256),
    ):
        if force or not path.is_file():
            sums[path.name] = download(url, path, pinned or sums.get(path.name), progress, hint)
    _validate(model, files)
    write_sums(files.options.parent, sums, f"elmo {model.name}")
    return files


def import_local(name: str, folder: str | os.PathLike) -> ElmoFiles:
    """Copy the model's files from a local folder (official names, or options.json and
    weights.hdf5), verify them and return their cached paths."""
    model, files = get_model(name), model_files(name)
    source = Path(folder).expanduser()
    if not source.is_dir():
        raise DataError("no such folder", source)
    sums = read_sums(files.options.parent)
    for dest, generic, pinned in (
        (files.options, "options.json", model.options_sha256),
        (files.weights, "weights.hdf5", model.weights_sha256),
    ):
        found = [p for p in (source / dest.name, source / generic) if p.is_file()]
        if not found:
            raise DataError(f"missing {dest.name} (or {generic}) of ELMo model {name}", source)
        sums[dest.name] = copy_verified(found[0], dest, pinned or sums.get(dest.name))
    _validate(model, files)
    write_sums(files.options.parent, sums, f"elmo {model.name}")
    return files


def _validate(model: ElmoModel, files: ElmoFiles) -> None:
    """The files must be this model: same options, every dataset present with its shape."""
    options = ElmoOptions.load(files.options)
    if options != model.options:
        raise DataError(f"these options are not those of ELMo model {model.name}", files.options)
    check_weights(options, files.weights)


def info() -> list[dict[str, Any]]:
    """Every known model: description, URLs, parameters, and whether its files are cached."""
    out = []
    for model in MODELS.values():
        files = model_files(model.name)
        out.append(
            {
                "name": model.name,
                "description": model.description,
                "options_url": model.options_url,
                "weights_url": model.weights_url,
                "parameters": model.parameters,
                "weights_bytes_approx": 4 * model.parameters,
                "where": str(files.options.parent),
                "present": files.options.is_file() and files.weights.is_file(),
                "sha256": read_sums(files.options.parent),
            }
        )
    return out
