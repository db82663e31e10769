"""options.json: the official layout in and out, clear errors naming file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tweetsent.embed.elmo import ElmoOptions
from tweetsent.errors import ConfigError, DataError

# The published options of the small model (allennlp's bucket), verbatim.
SMALL = (
    '{"lstm": {"use_skip_connections": true, "projection_dim": 128, "cell_clip": 3, '
    '"proj_clip": 3, "dim": 1024, "n_layers": 2}, "char_cnn": {"activation": "relu", '
    '"filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]], '
    '"n_highway": 1, "embedding": {"dim": 16}, "n_characters": 262, '
    '"max_characters_per_token": 50}}'
)


def test_official_options_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "options.json"
    path.write_text(SMALL)
    options = ElmoOptions.load(path)
    assert options.n_filters == 2048 and options.lstm_dim == 1024
    assert options.num_output_layers == 3 and options.output_dim == 256
    assert options.to_dict() == json.loads(SMALL)
    options.save(tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(SMALL)


def test_261_characters_is_the_same_table(tmp_path: Path, tiny_options) -> None:
    """bilm-tf's training options (and allennlp's files) say 261 character ids, its inference
    setting 262 (the padding row added): both load the same weights to the same biLM, and the
    value read is written back."""
    import torch

    from tweetsent.embed.elmo import ElmoBiLm, batch_to_ids, load_bilm, save_hdf5

    raw = json.loads(SMALL)
    raw["char_cnn"]["n_characters"] = 261
    options = ElmoOptions.from_dict(raw)
    assert options.n_characters == 261 and options.char_table_rows == 262
    assert options.to_dict() == raw
    # a biLM saved under 262 loads under 261 (same weights file) and computes the same
    path262, path261 = tmp_path / "o262.json", tmp_path / "o261.json"
    tiny_options.save(path262)
    tiny = json.loads(path262.read_text())
    tiny["char_cnn"]["n_characters"] = 261
    path261.write_text(json.dumps(tiny))
    torch.manual_seed(0)
    save_hdf5(ElmoBiLm(tiny_options), tmp_path / "w.hdf5")
    ids = batch_to_ids([["Pink", "Floyd", "🙂"], ["ok"]])
    with torch.inference_mode():
        a = load_bilm(path262, tmp_path / "w.hdf5")(ids).layers
        b = load_bilm(path261, tmp_path / "w.hdf5")(ids).layers
    assert torch.equal(a, b)


def test_training_keys_are_ignored(tmp_path: Path) -> None:
    raw = json.loads(SMALL) | {"bidirectional": True, "dropout": 0.1, "n_epochs": 10}
    assert ElmoOptions.from_dict(raw) == ElmoOptions.from_dict(json.loads(SMALL))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["lstm"].pop("dim"), "missing key 'dim'"),
        (lambda r: r.pop("char_cnn"), "missing key 'char_cnn'"),
        (lambda r: r["char_cnn"].update(activation="gelu"), "char_cnn.activation"),
        (lambda r: r["char_cnn"].update(n_characters=260), "char_cnn.n_characters: 260"),
        (lambda r: r["char_cnn"].update(n_characters=263), "char_cnn.n_characters: 263"),
        (lambda r: r["char_cnn"].update(filters=[[60, 4]]), r"char_cnn.filters\[0\]"),
        (lambda r: r["char_cnn"].update(filters=[[1, 2, 3]]), "char_cnn.filters"),
        (lambda r: r["lstm"].update(projection_dim=0), "lstm.projection_dim"),
        (lambda r: r["lstm"].update(cell_clip=-1), "lstm.cell_clip"),
    ],
)
def test_bad_options_name_file_and_key(tmp_path: Path, edit, message: str) -> None:
    raw = json.loads(SMALL)
    edit(raw)
    path = tmp_path / "options.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(DataError, match=message) as info:
        ElmoOptions.load(path)
    assert str(path) in str(info.value)


def test_unreadable_options(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such options file"):
        ElmoOptions.load(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        ElmoOptions.load(tmp_path / "bad.json")


def test_direct_construction_validates() -> None:
    with pytest.raises(ConfigError, match="char_cnn.filters"):
        ElmoOptions(filters=())
