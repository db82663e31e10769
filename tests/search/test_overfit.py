"""The overfitting rule: more dropout, then tighter clipping, only for trials that overfit."""

from __future__ import annotations

import csv

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from tweetsent.search import SearchSettings, load_space, run_search
from tweetsent.search.overfit import followup
from tweetsent.search.storage import open_storage

BASE = {"model.output_dropout": 0.3, "train.clip_norm": 5.0}


def _finished(gap: float, **attrs) -> optuna.trial.FrozenTrial:
    return create_trial(
        state=TrialState.COMPLETE,
        value=0.5,
        params={"model.cell": "gru"},
        distributions={"model.cell": CategoricalDistribution(["lstm", "gru"])},
        user_attrs={"gap": gap, "slot": 3, "fields": {"model.cell": "gru"}, **attrs},
    )


def test_rule_fires_on_an_overfitting_trial_and_not_on_a_healthy_one():
    settings = SearchSettings(overfit_gap=0.10, overfit_dropout=0.2, overfit_clip=1.0)
    assert followup(_finished(0.04), settings, BASE) is None
    first = followup(_finished(0.25), settings, BASE)
    assert first["origin"] == "overfit-dropout" and first["slot"] == 3
    assert first["overrides"] == {"model.output_dropout": 0.5}
    child = _finished(0.18, overrides=first["overrides"], overfit_step=1)
    second = followup(child, settings, BASE)
    assert second["origin"] == "overfit-clip"
    assert second["overrides"] == {"model.output_dropout": 0.5, "train.clip_norm": 1.0}
    assert followup(_finished(0.3, overfit_step=2), settings, BASE) is None  # two steps at most
    off = SearchSettings(overfit_gap=0.0)
    assert followup(_finished(0.9), off, BASE) is None


def test_rule_in_a_study_queues_follow_ups_for_the_overfitting_trial_only(
    tmp_path, make_space, noisy_tweets, capsys
):
    # Random labels and a unique token per tweet: a fast learner memorises the training set
    # (train accuracy -> 1, validation stays near chance), a frozen one (lr 1e-7) learns nothing.
    fixed = "model.output_dropout = 0.0\ndata.valid_fraction = 0.3\ntrain.lr = DROP"
    fixed += "\ntrain.epochs = 8\nmodel.hidden_size = 32"
    search = 'name = "overfit"\noverfit_gap = 0.2'
    params = "train.lr = [0.03, 0.0000001]"
    text = make_space(noisy_tweets, tmp_path / "out", search=search, params=params, fixed=fixed)
    path = tmp_path / "space.toml"
    path.write_text(text, encoding="utf-8")
    run_search(load_space(path), log=lambda _: None)
    study = optuna.load_study(
        study_name="overfit", storage=open_storage(load_space(path).settings.storage_url)
    )
    trials = study.get_trials()
    fast, frozen = trials[0], trials[1]
    assert fast.params["train.lr"] == 0.03 and fast.user_attrs["gap"] > 0.2
    assert frozen.user_attrs["gap"] < 0.2
    children = [t for t in trials if t.user_attrs.get("parent") == fast.number]
    assert [c.user_attrs["origin"] for c in children] == ["overfit-dropout"]
    assert children[0].user_attrs["fields"]["model.output_dropout"] == pytest.approx(0.2)
    assert children[0].user_attrs["fields"]["train.seed"] == fast.user_attrs["fields"]["train.seed"]
    assert not [t for t in trials if t.user_attrs.get("parent") == frozen.number]
    if children[0].user_attrs["gap"] > 0.2:  # still overfitting: then tighter clipping
        clip = [t for t in trials if t.user_attrs.get("parent") == children[0].number]
        assert [c.user_attrs["origin"] for c in clip] == ["overfit-clip"]
        assert clip[0].user_attrs["fields"]["train.clip_norm"] == 1.0
    assert "worker 0: overfitting rule: trial 0 gap" in capsys.readouterr().out
    assert (
        "overfitting rule: trial 0"
        in (tmp_path / "out" / "overfit" / "logs" / "worker-0.log").read_text()
    )
    with open(tmp_path / "out" / "overfit" / "leaderboard.csv") as handle:
        origins = {int(r["trial"]): r["origin"] for r in csv.DictReader(handle)}
    assert origins[children[0].number] == "overfit-dropout" and origins[0] == "grid"
