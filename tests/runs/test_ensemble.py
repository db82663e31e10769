"""Ensemble runs: built from two tiny runs with different vocabularies, then used like any run
(Predictor, `tweetsent predict` / `evaluate` / `ensemble`, explain, export), and their errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from exported import assert_exports_with_parity
from synthetic import synthetic_tweets, tiny_config, write_tsv
from tweetsent.cli import main
from tweetsent.errors import TweetsentError
from tweetsent.io import read_json, write_json
from tweetsent.models.ensemble import EnsembleClassifier
from tweetsent.runs.ensemble import build_ensemble, fit_weights, simplex_grid
from tweetsent.runs.explain import explain
from tweetsent.runs.predict import Predictor
from tweetsent.runs.rundir import load_run
from tweetsent.train import train

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")

TEXTS = [
    "I love this :)",
    "worst day ever :(",
    "bus update tuesday",
    "",
    "zzz unseen words only",
    "the the the game movie great " * 9,
]
QUIET = {"log": lambda *a: None}


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> tuple[Path, Path]:
    """Two tiny runs on the same data: an attention LSTM over every token (min_freq 1), and a
    GRU with max pooling over the 20 most frequent tokens only (max_vocab 20)."""
    folder = tmp_path_factory.mktemp("ensemble-members")
    data = write_tsv(folder / "train.tsv", synthetic_tweets(240, seed=1))
    valid = write_tsv(folder / "valid.tsv", synthetic_tweets(60, seed=2), start_id=5000)
    common = {"data.valid": [str(valid)], "train.epochs": 2}
    a = tiny_config(data, folder / "a", **common, **{"model.pooling": "attention"})
    b = tiny_config(data, folder / "b", **common, **{"data.max_vocab": 20, "model.cell": "gru"})
    return train(a, **QUIET).run_dir, train(b, **QUIET).run_dir


@pytest.fixture(scope="module")
def fitted(members, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ensemble-fit") / "both"
    build_ensemble(list(members), out, weights="fit", **QUIET)
    return out


def _copy_run(src: Path, dst: Path, edit=None) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("checkpoint"))
    if edit is not None:
        for name, change in edit.items():
            raw = read_json(dst / name)
            change(raw)
            write_json(dst / name, raw)
    return dst


def test_ensemble_is_the_weighted_mixture_of_its_members(members, fitted):
    a, b = (Predictor.from_run(path) for path in members)
    assert a.run.vocab != b.run.vocab  # different vocabularies, one shared in the ensemble
    ensemble = Predictor.from_run(fitted)
    assert isinstance(ensemble.model, EnsembleClassifier)
    vocab = ensemble.run.vocab
    assert vocab.tokens[:2] == ["<pad>", "<unk>"]
    assert set(vocab.tokens) == set(a.run.vocab.tokens) | set(b.run.vocab.tokens)
    weights = read_json(fitted / "meta.json")["ensemble"]["weights"]
    expected = weights[0] * a.predict_proba(TEXTS) + weights[1] * b.predict_proba(TEXTS)
    np.testing.assert_allclose(ensemble.predict_proba(TEXTS), expected, rtol=0, atol=1e-6)
    assert ensemble.labels == a.labels
    assert ensemble.predict_labels(TEXTS) == list(np.array(a.labels)[expected.argmax(1)])


def test_fit_and_uniform_weights_are_recorded(members, fitted, tmp_path):
    meta = read_json(fitted / "meta.json")["ensemble"]
    assert meta["method"] == "fit" and meta["members"] == ["a", "b"]
    assert sum(meta["weights"]) == pytest.approx(1.0)
    assert meta["grid"] == {"step": 0.05, "points": 21}
    assert meta["weighted_nll"] <= meta["uniform_weighted_nll"]
    valid = meta["validation"]
    assert valid["examples"] == 60 and set(valid["members"]) == {"a", "b"}
    for scores in (*valid["members"].values(), valid["ensemble"]):
        assert {"avgrec", "f1_pn", "accuracy", "loss"} <= set(scores)
    metrics = read_json(fitted / "metrics.json")
    assert metrics["metrics"] == valid["ensemble"]
    ensemble = read_json(fitted / "config.json")["ensemble"]
    assert ensemble == {"members": ["a", "b"], "weights": "fit", "refit": [], "heldout": True}

    result = build_ensemble(list(members), tmp_path / "uniform", **QUIET)
    uniform = read_json(tmp_path / "uniform" / "meta.json")["ensemble"]
    assert uniform["method"] == "uniform" and uniform["weights"] == [0.5, 0.5]
    assert result.weights == [0.5, 0.5] and result.metrics == uniform["validation"]["ensemble"]


def test_run_directory_layout_and_round_trip(fitted):
    assert sorted(p.name for p in (fitted / "members").iterdir()) == ["a", "b"]
    for name in ("a", "b"):
        member = fitted / "members" / name
        assert (member / "model.safetensors").is_file() and (member / "metrics.json").is_file()
        assert not (member / "checkpoint").exists()
    state = load_file(str(fitted / "model.safetensors"))
    assert sorted(state) == ["remap_0", "remap_1", "weights"]  # only the ensemble's own
    card = (fitted / "MODEL_CARD.md").read_text()
    assert "- model: ensemble of 2 models (fit weights)" in card
    assert "- member a: weight" in card and "BiLSTM(16) x1, attention pooling" in card
    assert "BiGRU(16) x1, max pooling, random embeddings (16-d, tuned)" in card
    first = Predictor.from_run(fitted).predict_proba(TEXTS)
    second = Predictor.from_run(fitted).predict_proba(TEXTS)
    assert np.array_equal(first, second)


def test_cli_ensemble_predict_and_evaluate(members, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["ensemble", *map(str, members), "--out", str(out), "--weights", "fit"])
    assert rc == 0 and "weights: a " in capsys.readouterr().out
    assert main(["predict", str(out), "I love this :)", "worst day :("]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = Predictor.from_run(out).predict(["I love this :)", "worst day :("])
    assert [line["probs"] for line in lines] == [p.probs for p in expected]
    valid = read_json(out / "config.json")["data"]["valid"]
    assert main(["evaluate", str(out), "--data", *valid]) == 0
    report = capsys.readouterr().out
    assert "avgrec" in report and "confusion" in report


def test_explain_uses_the_attention_member(fitted):
    predictor = Predictor.from_run(fitted)
    assert predictor.has_attention
    explanation = explain(predictor, "love this great game :)")
    assert len(explanation.tokens) == len(explanation.weights) == 5
    assert explanation.probs == predictor.predict(["love this great game :)"])[0].probs


def test_exports_with_parity(fitted, tmp_path):
    assert_exports_with_parity(fitted, TEXTS, tmp_path)


def test_member_errors_are_one_line(members, tmp_path, capsys):
    a, b = members
    with pytest.raises(TweetsentError, match="at least 2 member runs"):
        build_ensemble([a], tmp_path / "one", **QUIET)
    with pytest.raises(TweetsentError, match="no such run directory"):
        build_ensemble([a, tmp_path / "nowhere"], tmp_path / "x", **QUIET)

    def binary(meta):
        meta["labels"] = ["negative", "positive"]

    other = _copy_run(b, tmp_path / "binary", {"meta.json": binary})
    with pytest.raises(TweetsentError, match="must share their labels"):
        build_ensemble([a, other], tmp_path / "y", **QUIET)

    def cased(config):
        config["text"]["lowercase"] = False

    other = _copy_run(b, tmp_path / "cased", {"config.json": cased})
    with pytest.raises(TweetsentError, match="text config"):
        build_ensemble([a, other], tmp_path / "z", **QUIET)
    assert main(["ensemble", str(a), "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ensemble: needs at least 2")
    assert not (tmp_path / "w").exists() and not (tmp_path / "y").exists()


def test_fit_needs_a_validation_split(members, tmp_path):
    def no_split(config):
        config["data"]["valid"] = []
        config["data"]["valid_fraction"] = 0.0

    runs = [_copy_run(m, tmp_path / m.name, {"config.json": no_split}) for m in members]
    with pytest.raises(TweetsentError, match="--weights uniform"):
        build_ensemble(runs, tmp_path / "fit", weights="fit", **QUIET)
    result = build_ensemble(runs, tmp_path / "uniform", **QUIET)
    assert result.metrics == {} and Predictor.from_run(result.run_dir).predict_proba(TEXTS).shape


def test_weights_are_never_fitted_on_tweets_a_member_trained_on(members, tmp_path, capsys):
    """A member trained on the validation split too (a recipe's refit, copied out of it):
    fitting weights on that split would favour it, and its scores there are in-sample."""

    def trained_on_valid(config):
        config["data"]["train_on_valid"] = True
        config["train"]["keep"] = "last"

    a, b = members
    refit = _copy_run(b, tmp_path / "refit", {"config.json": trained_on_valid})
    fit = ["ensemble", str(a), str(refit), "--weights", "fit", "--out", str(tmp_path / "fit")]
    assert main(fit) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "trained on the validation tweets" in err
    assert "--weights uniform" in err and not (tmp_path / "fit").exists()
    assert main(["ensemble", str(a), str(refit), "--out", str(tmp_path / "uniform")]) == 0
    assert "validation, trained on (in-sample): loss" in capsys.readouterr().out
    result = build_ensemble([a, refit], tmp_path / "again", **QUIET)
    assert result.split == "validation, trained on (in-sample)"
    meta = read_json(tmp_path / "again" / "meta.json")
    assert meta["scores"]["split"] == "validation, trained on (in-sample)"
    assert meta["ensemble"]["refit"]["members"] == ["refit"]
    assert read_json(tmp_path / "again" / "config.json")["ensemble"]["heldout"] is False
    assert result.metrics == meta["ensemble"]["validation"]["ensemble"]
    honest = build_ensemble([a, b], tmp_path / "held", **QUIET)  # the same, trained without it
    assert read_json(honest.run_dir / "meta.json")["scores"]["split"] == "validation"


def test_missing_member_or_existing_out(fitted, members, tmp_path):
    broken = _copy_run(fitted, tmp_path / "broken")
    shutil.rmtree(broken / "members" / "b")
    with pytest.raises(TweetsentError, match="member 'b' is missing"):
        load_run(broken)
    with pytest.raises(TweetsentError, match="not empty"):
        build_ensemble(list(members), fitted, **QUIET)


def test_fit_weights_finds_the_better_member():
    labels = np.array([0, 1, 2, 0, 1, 2])
    good = np.eye(3)[labels] * 0.9 + 0.1 / 3  # (6, 3): right with p = 0.93
    bad = np.full((6, 3), 1 / 3)
    weights, fit = fit_weights([bad, good], labels, 3)
    assert weights == [0.0, 1.0] and fit["grid"]["points"] == 21
    assert simplex_grid(3, 20).shape == (231, 3)
    assert np.allclose(simplex_grid(5, 10).sum(axis=1), 1.0)


def test_an_ensemble_is_never_written_into_a_member_nor_of_one_run_twice(members, tmp_path, capsys):
    """Issue 26 items 5 and 13: `--out` inside a member is one line (it used to copy the member
    into itself until the path was too long); the same run twice, or a link to it, too."""
    a, b = members
    before = sorted(p.name for p in a.iterdir())
    assert main(["ensemble", str(a), str(b), "--out", str(a / "inner")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is inside the member run" in err, err[:500]
    assert sorted(p.name for p in a.iterdir()) == before
    with pytest.raises(TweetsentError, match="is inside the member run"):
        build_ensemble([a, b], b, **QUIET)
    (tmp_path / "link").symlink_to(a)
    for twice in ([a, a], [a, tmp_path / "link"]):
        with pytest.raises(TweetsentError, match="are the same run"):
            build_ensemble(twice, tmp_path / "twice", **QUIET)
    assert not (tmp_path / "twice").exists()


@pytest.mark.parametrize("name", ["../../a", "ABS", "b/../../../a", "link"])
def test_members_must_live_inside_the_ensemble_run(fitted, members, tmp_path, name):
    """Issue 26 item 9: an edited `ensemble.members` (or a member folder that is a link out of
    the run) never loads a run from outside the ensemble."""
    run = _copy_run(fitted, tmp_path / "ens")
    if name == "ABS":
        name = str(members[0])
    elif name == "link":
        shutil.rmtree(run / "members" / "a")
        (run / "members" / "a").symlink_to(members[0])
        name = "a"
    (tmp_path / "a").mkdir(exist_ok=True)  # what ../../a would name
    raw = read_json(run / "config.json")
    raw["ensemble"]["members"][0] = name
    write_json(run / "config.json", raw)
    with pytest.raises(TweetsentError, match="members must live inside the ensemble run"):
        load_run(run)


def test_a_validation_file_named_two_ways_is_one_split(
    tiny_tsv, tiny_valid_tsv, tmp_path, monkeypatch
):
    """Members trained with `../x.tsv` and with its absolute path share their validation split."""
    from synthetic import tiny_config
    from tweetsent.runs.ensemble import build_ensemble
    from tweetsent.train import train

    monkeypatch.chdir(tmp_path)
    relative = f"../{tmp_path.name}/{tiny_valid_tsv.name}"
    runs = []
    for name, valid in (("a", str(tiny_valid_tsv)), ("b", relative)):
        config = tiny_config(
            tiny_tsv, tmp_path / name, **{"data.valid": [valid], "train.epochs": 1}
        )
        runs.append(train(config, log=lambda _: None).run_dir)
    result = build_ensemble(runs, tmp_path / "both", weights="fit", log=lambda _: None)
    assert len(result.weights) == 2
