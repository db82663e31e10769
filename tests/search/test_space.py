"""Search-space files: choices, ranges, log scales, conditions, fixed fields, clear errors."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tweetsent.cli import main
from tweetsent.config import ModelConfig
from tweetsent.errors import ConfigError
from tweetsent.search import SearchSettings, load_space, space_from_dict

SPACE = """
[search]
sampler = "random"
seed = 5

[fixed]
train.epochs = 3
model.pooling = "mean"

[params]
model.cell = ["lstm", "gru"]
model.num_layers = { low = 1, high = 3 }
model.layer_dropout = { choices = [0.0, 0.25, 0.5], when = { "model.num_layers" = [2, 3] } }
model.hidden_size = { low = 16, high = 256, log = true }
train.lr = { low = 1e-4, high = 1e-1, log = true }
model.output_dropout = { low = 0.0, high = 0.5, step = 0.25 }
"""


def test_space_parses_choices_ranges_logs_conditions_and_fixed_fields(write_space):
    space = load_space(write_space("space.toml", SPACE))
    names = [p.name for p in space.params]
    # bare dotted keys group by section (TOML tables), in order of first appearance
    assert names[0] == "model.cell" and names[-1] == "train.lr"
    by_name = {p.name: p for p in space.params}
    assert by_name["model.num_layers"].integer and by_name["model.num_layers"].values() == [1, 2, 3]
    assert by_name["train.lr"].log and not by_name["train.lr"].integer
    assert by_name["model.output_dropout"].values() == [0.0, 0.25, 0.5]
    assert by_name["model.layer_dropout"].when == {"model.num_layers": (2, 3)}
    assert space.base.train.epochs == 3 and space.base.model.pooling == "mean"
    assert space.settings.sampler == "random" and space.settings.seed == 5


def test_settings_are_frozen_and_overrides_make_copies():
    settings = SearchSettings(from_study="coarse")
    assert settings.top_k == 3  # a two-stage search's default
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.workers = 4  # type: ignore[misc]
    changed = settings.with_overrides({"workers": 4, "top_k": 2})
    assert (changed.workers, changed.top_k, settings.workers) == (4, 2, 1)


def test_random_points_are_seeded_in_bounds_and_honour_conditions(write_space):
    space = load_space(write_space("space.toml", SPACE))
    points = [space.random_point(5, i) for i in range(200)]
    assert points == [space.random_point(5, i) for i in range(200)]  # reproducible
    assert points != [space.random_point(6, i) for i in range(200)]  # the seed matters
    for point in points:
        assert ("model.layer_dropout" in point) == (point["model.num_layers"] >= 2)
        assert 1e-4 <= point["train.lr"] <= 1e-1
        assert 16 <= point["model.hidden_size"] <= 256
        assert isinstance(point["model.hidden_size"], int)
        space.config(point)  # every point is a valid RunConfig
    # log scale: about half the learning rates lie below the geometric middle (1e-2.5)
    below = sum(p["train.lr"] < 10**-2.5 for p in points)
    assert 70 < below < 130
    lows = sum(math.log10(p["model.hidden_size"]) < 2.0 for p in points)
    assert lows > 80  # log-uniform: 16..100 holds ~66% of draws (uniform would give ~33%)


def test_grid_lists_every_combination_once_in_a_fixed_order(write_space):
    text = """
[search]
sampler = "grid"
[params]
model.cell = ["lstm", "gru"]
model.num_layers = { low = 1, high = 2 }
model.layer_dropout = { choices = [0.0, 0.3], when = { model.num_layers = 2 } }
"""
    space = load_space(write_space("grid.toml", text))
    grid = space.grid()
    assert grid == [
        {"model.cell": "lstm", "model.num_layers": 1},
        {"model.cell": "lstm", "model.num_layers": 2, "model.layer_dropout": 0.0},
        {"model.cell": "lstm", "model.num_layers": 2, "model.layer_dropout": 0.3},
        {"model.cell": "gru", "model.num_layers": 1},
        {"model.cell": "gru", "model.num_layers": 2, "model.layer_dropout": 0.0},
        {"model.cell": "gru", "model.num_layers": 2, "model.layer_dropout": 0.3},
    ]


def test_attention_settings_only_with_attention_pooling():
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    if "attention_hops" not in fields or "attention" not in _poolings():
        pytest.skip("model.attention_hops / pooling 'attention' are not in ModelConfig yet")
    raw = {
        "search": {"sampler": "grid"},
        "params": {"model": {"pooling": ["max", "attention"], "attention_hops": [1, 4]}},
    }
    grid = space_from_dict(raw).grid()
    assert grid == [
        {"model.pooling": "max"},
        {"model.pooling": "attention", "model.attention_hops": 1},
        {"model.pooling": "attention", "model.attention_hops": 4},
    ]


def _poolings() -> list[str]:
    try:
        ModelConfig(pooling="attention")
    except ConfigError:
        return []
    return ["attention"]


BAD = [
    ("[params]\nmodel.cel = ['lstm']\n", "params.model.cel: no such config field"),
    ("[params]\nmodel.cell = ['lstm', 'lsmt']\n", "'lsmt' is not one of"),
    ("[params]\nmodel.cell = 'lstm'\n", "params.model.cell: expected a list of choices"),
    ("[params]\ntrain.lr = { low = 0.1, high = 0.01 }\n", "train.lr: low must be below high"),
    ("[params]\ntrain.lr = { low = 0.0, high = 0.1, log = true }\n", "log scale needs low > 0"),
    ("[params]\ntrain.lr = { low = 0.001, high = 0.1 }\n", "train.lr: a grid needs choices"),
    ("[params]\nmodel.hidden_size = { low = 8, high = 64.5 }\n", "must be an integer"),
    ("[params]\nmodel.cell = { choices = ['gru'], lo = 1 }\n", "unknown key 'lo'"),
    ("[params]\nmodel.cell = []\n", "choices must be a non-empty list"),
    ("[params]\nmodel.bidirectional = { low = 0, high = 1 }\n", "a range needs a numeric field"),
    (
        "[params]\nmodel.layer_dropout = { choices = [0.1], when = { 'model.num_layers' = 2 } }\n"
        "model.num_layers = [1, 2]\n",
        "its condition on model.num_layers must come after",
    ),
    ("[search]\nsampler = 'bayes'\n", "search.sampler: 'bayes' is not one of"),
    ("[search]\nworkerz = 2\n", "unknown field search.workerz"),
    ("[fixed]\ntrain.epochs = 'many'\n", "train.epochs: expected int"),
    ("[spaces]\n", "unknown table [spaces]"),
    ("[params\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_space_file_names_file_and_field(write_space, text, message):
    path = write_space("bad-space.toml", text)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_space_file_is_one_line_at_the_cli(write_space, capsys):
    path = write_space("bad-space.toml", "[params]\nmodel.cell = ['lstm', 'lsmt']\n")
    assert main(["search", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(path) in err and "model.cell" in err
    assert len(err.splitlines()) == 1


def test_missing_space_file(tmp_path):
    with pytest.raises(ConfigError, match="no such search-space file"):
        load_space(tmp_path / "nope.toml")
