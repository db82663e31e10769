"""The official models' registry: URLs, options, cache, offline import, recorded checksums."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tweetsent.embed.elmo import ElmoOptions, registry
from tweetsent.errors import DataError

PUBLISHED_ORIGINAL = {
    "lstm": {
        "use_skip_connections": True,
        "projection_dim": 512,
        "cell_clip": 3,
        "proj_clip": 3,
        "dim": 4096,
        "n_layers": 2,
    },
    "char_cnn": {
        "activation": "relu",
        "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]],
        "n_highway": 2,
        "embedding": {"dim": 16},
        "n_characters": 262,
        "max_characters_per_token": 50,
    },
}


def test_the_four_official_models() -> None:
    assert list(registry.MODELS) == ["small", "medium", "original", "original-5.5b"]
    millions = {n: round(m.parameters / 1e6, 1) for n, m in registry.MODELS.items()}
    assert millions == {"small": 13.6, "medium": 28.0, "original": 93.6, "original-5.5b": 93.6}
    assert registry.MODELS["original"].options.to_dict() == PUBLISHED_ORIGINAL
    small = registry.MODELS["small"]
    assert small.weights_url == (
        "https://allennlp.s3.amazonaws.com/models/elmo/2x1024_128_2048cnn_1xhighway/"
        "elmo_2x1024_128_2048cnn_1xhighway_weights.hdf5"
    )
    assert registry.MODELS["original-5.5b"].options_url.endswith(
        "2x4096_512_2048cnn_2xhighway_5.5B/elmo_2x4096_512_2048cnn_2xhighway_5.5B_options.json"
    )
    with pytest.raises(DataError, match="known: small, medium"):
        registry.get_model("large")


@pytest.fixture
def tiny_registry(tmp_path: Path, monkeypatch, tiny_options, make_model) -> Path:
    """A registry holding one tiny model, served from a local folder through file:// URLs."""
    monkeypatch.setenv("TWEETSENT_CACHE", str(tmp_path / "cache"))
    model = registry.ElmoModel("tiny", "tiny_stem", "a tiny test model", tiny_options)
    monkeypatch.setattr(registry, "MODELS", {"tiny": model})
    served = tmp_path / "server" / "tiny_stem"
    served.mkdir(parents=True)
    options, weights = make_model(served)
    options.rename(served / model.options_file)
    weights.rename(served / model.weights_file)
    monkeypatch.setattr(registry, "BASE_URL", (tmp_path / "server").as_uri())
    return served


def test_fetch_records_checksums_on_first_download(tiny_registry: Path, capsys) -> None:
    files = registry.fetch("tiny", progress=False)
    assert files == registry.model_files("tiny", check=True)
    assert files.options.parent == registry.elmo_home() / "tiny"
    sums = (files.options.parent / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 2 and all(len(line.split("  ")[0]) == 64 for line in sums)
    assert "no published checksum" in capsys.readouterr().err
    for path in tiny_registry.iterdir():  # cached now: nothing to download
        path.unlink()
    assert registry.fetch("tiny", progress=False) == files
    assert registry.info()[0]["present"] is True


def test_changed_download_is_refused(tiny_registry: Path, make_model) -> None:
    files = registry.fetch("tiny", progress=False)
    before = files.weights.read_bytes()
    served_weights = tiny_registry / files.weights.name
    _, other_weights = make_model(tiny_registry.parent, seed=9)
    shutil.move(other_weights, served_weights)
    with pytest.raises(DataError, match="checksum mismatch"):
        registry.fetch("tiny", force=True, progress=False)
    assert files.weights.read_bytes() == before


def test_import_local_accepts_generic_names_and_verifies(
    tiny_registry: Path, tmp_path: Path, make_model
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for path in tiny_registry.iterdir():
        generic = "options.json" if path.suffix == ".json" else "weights.hdf5"
        shutil.copy(path, downloads / generic)
    files = registry.import_local("tiny", downloads)
    assert files.weights.read_bytes() == (downloads / "weights.hdf5").read_bytes()
    make_model(downloads, seed=4)  # different weights under the same names
    with pytest.raises(DataError, match="checksum mismatch"):
        registry.import_local("tiny", downloads)
    with pytest.raises(DataError, match="no such folder"):
        registry.import_local("tiny", tmp_path / "absent")


def test_import_refuses_files_of_another_model(
    tmp_path: Path, monkeypatch, tiny_options, make_model
) -> None:
    monkeypatch.setenv("TWEETSENT_CACHE", str(tmp_path / "cache"))
    other = ElmoOptions(**{**tiny_options.__dict__, "n_highway": 1})
    model = registry.ElmoModel("tiny", "tiny_stem", "a tiny test model", other)
    monkeypatch.setattr(registry, "MODELS", {"tiny": model})
    make_model(tmp_path)
    with pytest.raises(DataError, match="not those of ELMo model tiny"):
        registry.import_local("tiny", tmp_path)
    assert json.loads((tmp_path / "options.json").read_text())["char_cnn"]["n_highway"] == 2


def test_missing_files_point_to_fetch(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TWEETSENT_CACHE", str(tmp_path))
    with pytest.raises(DataError, match="run fetch"):
        registry.model_files("small", check=True)
    assert registry.info()[0]["present"] is False
