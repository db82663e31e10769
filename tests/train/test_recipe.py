"""Recipes: a config whose [ensemble] lists member configs trains every member, then the
ensemble run, through `train()` and `tweetsent train --config`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthetic import synthetic_tweets, write_tsv
from tweetsent.cli import main
from tweetsent.config import RunConfig
from tweetsent.errors import ConfigError
from tweetsent.io import read_json
from tweetsent.runs.predict import Predictor
from tweetsent.train import train
from tweetsent.train.recipe import member_configs

RECIPE = """
[data]
train = ["{train}"]
min_freq = 1
workers = 1
cache_dir = "{cache}"
[embed]
kind = "random"
dim = 16
[model]
hidden_size = 16
[train]
epochs = 2
batch_size = 16
lr = 0.01
threads = 1
progress = false
seed = 5
[ensemble]
members = ["members/lstm.toml", "members/gru.toml"]
weights = "fit"
"""
MEMBERS = {
    "lstm.toml": '[model]\npooling = "mean"\n',
    "gru.toml": '[model]\ncell = "gru"\n[data]\nmax_vocab = 20\ntrain = ["ignored.tsv"]\n'
    "[train]\nseed = 99\nepochs = 1\n",
}


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    data = write_tsv(tmp_path / "train.tsv", synthetic_tweets(240, seed=1))
    folder = tmp_path / "configs"
    (folder / "members").mkdir(parents=True)
    for name, text in MEMBERS.items():
        (folder / "members" / name).write_text(text, encoding="utf-8")
    text = RECIPE.format(train=data, cache=tmp_path / "cache")
    (folder / "recipe.toml").write_text(text, encoding="utf-8")
    return folder / "recipe.toml"


def test_members_are_read_over_the_recipe(recipe, tmp_path):
    config = RunConfig.from_toml(recipe).with_overrides({"out": str(tmp_path / "run")})
    assert config.is_ensemble
    (lstm_name, lstm), (gru_name, gru) = member_configs(config)
    assert (lstm_name, gru_name) == ("lstm", "gru")
    assert lstm.model.pooling == "mean" and lstm.model.cell == "lstm"
    assert gru.model.cell == "gru" and gru.data.max_vocab == 20 and gru.train.epochs == 1
    assert gru.data.train == config.data.train  # forced from the recipe
    assert gru.train.seed == 5 and gru.embed.dim == 16 and not gru.is_ensemble
    assert gru.out == str(tmp_path / "run" / "members" / "gru")


def test_recipe_trains_members_then_the_ensemble(recipe, tmp_path):
    lines: list[str] = []
    out = tmp_path / "run"
    config = RunConfig.from_toml(recipe).with_overrides({"out": str(out)})
    result = train(config, log=lines.append)
    assert result.run_dir == out and result.best_epoch == 0
    assert 0.0 <= result.metrics["avgrec"] <= 1.0
    assert sum(line.startswith("member ") for line in lines) == 2
    assert result.config.ensemble.members == ["lstm", "gru"]
    meta = read_json(out / "meta.json")["ensemble"]
    assert meta["method"] == "fit" and meta["members"] == ["lstm", "gru"]
    assert read_json(out / "metrics.json")["metrics"] == result.metrics
    assert not (out / "members" / "gru" / "checkpoint").exists()
    gru = read_json(out / "members" / "gru" / "config.json")
    assert gru["model"]["cell"] == "gru" and gru["train"]["seed"] == 5
    probs = Predictor.from_run(out).predict_proba(["love it :)", "hate it :("])
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)

    again: list[str] = []
    train(config, log=again.append)  # finished members are reused, the ensemble rebuilt
    assert sum("reused" in line for line in again) == 2
    again_probs = Predictor.from_run(out).predict_proba(["love it :)", "hate it :("])
    assert np.array_equal(again_probs, probs)


def test_recipe_through_the_cli(recipe, tmp_path, capsys):
    data = write_tsv(tmp_path / "other.tsv", synthetic_tweets(180, seed=7))
    out = tmp_path / "cli"
    argv = ["train", "--config", str(recipe), "--data", str(data), "--out", str(out)]
    assert main([*argv, "--seed", "3", "--no-progress"]) == 0
    assert f"run directory: {out}" in capsys.readouterr().out
    for name in ("lstm", "gru"):
        member = read_json(out / "members" / name / "config.json")
        assert member["data"]["train"] == [str(data)] and member["train"]["seed"] == 3
    assert main(["predict", str(out), "great day :)"]) == 0


def test_recipe_member_errors(recipe, tmp_path):
    (recipe.parent / "members" / "gru.toml").write_text("[ensemble]\nmembers = []\n")
    config = RunConfig.from_toml(recipe).with_overrides({"out": str(tmp_path / "run")})
    with pytest.raises(ConfigError, match="cannot be an ensemble"):
        member_configs(config)
    (recipe.parent / "members" / "gru.toml").unlink()
    with pytest.raises(ConfigError, match="no such ensemble member config"):
        train(config, log=lambda *a: None)
