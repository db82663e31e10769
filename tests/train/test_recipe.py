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


def test_a_member_file_listed_twice_is_a_seed_ensemble(recipe, tmp_path):
    out = tmp_path / "run"
    gru, lstm = (str(recipe.parent / "members" / f) for f in ("gru.toml", "lstm.toml"))
    config = RunConfig.from_toml(recipe).with_overrides(
        {"out": str(out), "ensemble.members": [gru, gru, lstm]}
    )
    names = [name for name, _ in member_configs(config)]
    assert names == ["gru", "gru-2", "lstm"]
    result = train(config, log=lambda *a: None)
    assert result.config.ensemble.members == names
    seeds = [read_json(out / "members" / n / "config.json")["train"]["seed"] for n in names]
    assert seeds == [5, 105, 5]  # the recipe's seed, + 100 for the repeat
    texts = ["love it :)", "hate it :(", "meh whatever"]
    one, two = (Predictor.from_run(out / "members" / n).predict_proba(texts) for n in names[:2])
    assert not np.allclose(one, two)  # same settings, another seed: another model

    uniform = config.with_overrides({"ensemble.weights": "uniform"})
    lines: list[str] = []
    train(uniform, log=lines.append)  # the weights rule is not a member's: all reused
    assert sum("reused" in line for line in lines) == 3
    assert read_json(out / "meta.json")["ensemble"]["method"] == "uniform"
    assert "- member gru-2: weight 0.333, seed 105, " in (out / "MODEL_CARD.md").read_text()


def test_recipe_through_the_cli(recipe, tmp_path, capsys):
    data = write_tsv(tmp_path / "other.tsv", synthetic_tweets(180, seed=7))
    out = tmp_path / "cli"
    argv = ["train", "--config", str(recipe), "--data", str(data), "--out", str(out)]
    assert main([*argv, "--seed", "3", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"run directory: {out}" in printed and "\nensemble: loss " in printed
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


def test_refit_trains_the_members_again_on_validation_tweets_with_the_held_out_weights(
    recipe, tmp_path
):
    valid = write_tsv(tmp_path / "valid.tsv", synthetic_tweets(90, seed=3))
    out = tmp_path / "run"
    config = RunConfig.from_toml(recipe).with_overrides(
        {"out": str(out), "data.valid": [str(valid)], "ensemble.refit": ["lstm"]}
    )
    lines: list[str] = []
    result = train(config, log=lines.append)
    held = read_json(out / "heldout" / "meta.json")["ensemble"]
    final = read_json(out / "meta.json")["ensemble"]
    assert final["weights"] == held["weights"] and final["method"] == "fit"
    assert final["refit"] == {
        "held_out": "heldout",
        "validation_scores": "held out, from that run",
        "members": ["lstm"],
    }
    assert read_json(out / "config.json")["ensemble"]["refit"] == ["lstm"]
    # the validation scores are the held-out stage's, never those of models trained on them
    assert result.metrics == held["validation"]["ensemble"]
    assert read_json(out / "metrics.json")["metrics"] == held["validation"]["ensemble"]
    assert "lstm retrained on the validation split" in (out / "MODEL_CARD.md").read_text()
    gru = out / "members" / "gru"  # not refit: the held-out run, copied
    assert read_json(gru / "metrics.json") == read_json(out / "heldout/members/gru/metrics.json")
    assert (gru / "model.safetensors").read_bytes() == (
        out / "heldout/members/gru/model.safetensors"
    ).read_bytes()
    assert not list(out.glob("members/.*"))  # no temporary copy left behind
    assert (gru / "model.safetensors").stat().st_nlink == 2  # hard-linked, not copied
    for name in ("lstm",):
        first = out / "heldout" / "members" / name
        again = out / "members" / name
        kept = read_json(first / "metrics.json")["best_epoch"]
        saved = read_json(again / "config.json")
        assert saved["data"]["train_on_valid"] and saved["train"]["keep"] == "last"
        assert saved["train"]["epochs"] == kept == read_json(again / "metrics.json")["best_epoch"]
        assert read_json(again / "metrics.json")["split"].endswith("(in-sample)")
        rows = read_json(again / "meta.json")["data"]["train"]
        assert rows["with_validation"] == 90
        assert not (again / "checkpoint").exists() and not (first / "checkpoint").exists()
    assert sum("in-sample valid AvgRec" in line for line in lines) == 1
    texts = ["love it :)", "hate it :(", "meh whatever"]
    probs = Predictor.from_run(out).predict_proba(texts)
    held_probs = Predictor.from_run(out / "heldout").predict_proba(texts)
    assert probs.shape == (3, 3) and not np.allclose(probs, held_probs)

    again_lines: list[str] = []
    train(config, log=again_lines.append)  # both stages finished: every member reused
    assert sum("reused" in line for line in again_lines) == 4
    assert np.array_equal(Predictor.from_run(out).predict_proba(texts), probs)
    bad = config.with_overrides({"ensemble.refit": ["cnn"]})
    with pytest.raises(ConfigError, match="'cnn' is not a member"):
        train(bad, log=lambda *a: None)


def test_refit_needs_a_validation_split_and_the_last_epoch():
    with pytest.raises(ConfigError, match="train_on_valid: needs validation files"):
        RunConfig().with_overrides({"data.train_on_valid": True, "train.keep": "last"})
    with pytest.raises(ConfigError, match="train.keep = 'last'"):
        RunConfig().with_overrides({"data.train_on_valid": True, "data.valid": ["v.tsv"]})


def test_refit_without_a_held_out_stage_trains_each_member_once(recipe, tmp_path):
    valid = write_tsv(tmp_path / "valid.tsv", synthetic_tweets(90, seed=3))
    out = tmp_path / "run"
    config = RunConfig.from_toml(recipe).with_overrides(
        {
            "out": str(out),
            "data.valid": [str(valid)],
            "ensemble.refit": ["lstm"],
            "ensemble.heldout": False,
            "ensemble.weights": "uniform",
        }
    )
    lines: list[str] = []
    result = train(config, log=lines.append)
    assert not (out / "heldout").exists()
    assert sum(line.startswith("member ") for line in lines) == 2  # each trained once
    lstm = read_json(out / "members" / "lstm" / "config.json")
    assert lstm["data"]["train_on_valid"] and lstm["train"]["keep"] == "last"
    assert lstm["train"]["epochs"] == 2  # its own epochs: no held-out run chose them
    assert read_json(out / "members" / "lstm" / "metrics.json")["best_epoch"] == 2
    gru = read_json(out / "members" / "gru" / "config.json")
    assert not gru["data"]["train_on_valid"] and gru["train"]["keep"] == "best"
    final = read_json(out / "meta.json")
    assert final["ensemble"]["weights"] == [0.5, 0.5]
    assert final["ensemble"]["refit"]["members"] == ["lstm"]
    assert final["ensemble"]["refit"]["held_out"] is None
    # the scores were measured on tweets a member trained on: said so everywhere
    assert final["scores"]["split"] == "validation, trained on (in-sample)"
    assert read_json(out / "metrics.json")["split"] == "validation, trained on (in-sample)"
    card = (out / "MODEL_CARD.md").read_text()
    assert "no held-out stage" in card and "tweets, in-sample)" in card
    assert result.metrics == final["ensemble"]["validation"]["ensemble"]
    assert result.split == "validation, trained on (in-sample)"
    assert sum("in-sample valid AvgRec" in line for line in lines) == 2  # lstm, the ensemble
    assert Predictor.from_run(out).predict_proba(["love it :)"]).shape == (1, 3)
    again: list[str] = []
    train(config, log=again.append)
    assert sum("reused" in line for line in again) == 2


def test_refit_without_a_held_out_stage_needs_uniform_weights_and_refit_members(recipe):
    config = RunConfig.from_toml(recipe)
    with pytest.raises(ConfigError, match='weights = "fit" would fit on tweets'):
        config.with_overrides({"ensemble.refit": ["lstm"], "ensemble.heldout": False})
    with pytest.raises(ConfigError, match="needs ensemble.refit"):
        config.with_overrides({"ensemble.heldout": False, "ensemble.weights": "uniform"})
