import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from synthetic import TINY_TRAIN_FLAGS
from tweetsent.errors import ConfigError
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

RUN_FILES = [
    "config.json",
    "vocab.json",
    "meta.json",
    "model.safetensors",
    "history.csv",
    "metrics.json",
    "learning_curves.png",
    "MODEL_CARD.md",
]


def test_train_writes_a_complete_run_directory(tiny_tsv, tiny_valid_tsv, tmp_path, make_config):
    out = tmp_path / "run"
    config = make_config(tiny_tsv, out, **{"data.valid": [str(tiny_valid_tsv)]})
    result = train(config, log=lambda _: None)
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    for key in ("train_loss", "valid_avgrec", "valid_f1_pn", "train_precision", "gap", "overfit"):
        assert key in rows[0]
    # The learnable toy task: the model must do much better than chance (1/3).
    assert result.metrics["avgrec"] > 0.6
    # Reloading the run reproduces the recorded validation scores exactly.
    predictor = Predictor.from_run(out)
    again = evaluate(predictor, [str(tiny_valid_tsv)])
    assert again.metrics["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert again.metrics["avgrec"] == pytest.approx(result.metrics["avgrec"])
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["best_epoch"] == result.best_epoch


def test_holdout_split_when_no_valid_given(tiny_tsv, tmp_path, make_config):
    result = train(
        make_config(tiny_tsv, tmp_path / "run", **{"train.epochs": 1}), log=lambda _: None
    )
    meta = json.loads((result.run_dir / "meta.json").read_text())
    assert meta["data"]["valid"]["held_out_of_train"] == 24  # 10% of 240, stratified


def test_keep_last_trains_every_epoch_and_keeps_the_last(
    tiny_tsv, tiny_valid_tsv, tmp_path, make_config
):
    # a learning rate this high makes validation scores jump about: "best" would stop early
    settings = {"data.valid": [str(tiny_valid_tsv)], "train.epochs": 5, "train.patience": 1}
    settings["train.lr"] = 0.2
    best = train(make_config(tiny_tsv, tmp_path / "best", **settings), log=lambda _: None)
    last = train(
        make_config(tiny_tsv, tmp_path / "last", **settings, **{"train.keep": "last"}),
        log=lambda _: None,
    )
    assert len(last.history) == 5 and last.best_epoch == 5 and not last.stopped_early
    assert last.metrics["avgrec"] == pytest.approx(last.history[-1]["valid_avgrec"])
    scores = [row["valid_avgrec"] for row in best.history]
    assert best.best_epoch == 1 + scores.index(max(scores))
    card = (tmp_path / "last" / "MODEL_CARD.md").read_text()
    assert "(last epoch 5)" in card


def test_train_on_valid_adds_the_validation_tweets(tiny_tsv, tiny_valid_tsv, tmp_path, make_config):
    settings = {"data.valid": [str(tiny_valid_tsv)], "train.epochs": 1, "train.keep": "last"}
    plain = train(make_config(tiny_tsv, tmp_path / "plain", **settings), log=lambda _: None)
    settings["data.train_on_valid"] = True
    both = train(make_config(tiny_tsv, tmp_path / "both", **settings), log=lambda _: None)
    rows = [json.loads((r.run_dir / "meta.json").read_text())["data"] for r in (plain, both)]
    n_valid = rows[1]["train"]["with_validation"]
    assert n_valid == rows[1]["valid"]["rows"] > 0 and "with_validation" not in rows[0]["train"]
    classes = [sum(r["class_counts"].values()) for r in rows]
    assert classes[1] == classes[0] + n_valid
    saved = json.loads((both.run_dir / "metrics.json").read_text())
    assert saved["split"] == "validation, trained on (in-sample)"


def test_dry_run_stops_after_a_few_batches(tiny_tsv, tmp_path, make_config):
    lines = []
    train(make_config(tiny_tsv, tmp_path / "run", **{"train.dry_run": True}), log=lines.append)
    assert sum(line.startswith("epoch ") for line in lines) == 1


def test_resume_without_checkpoint_is_an_error(tiny_tsv, tmp_path, make_config):
    with pytest.raises(ConfigError, match="no checkpoint"):
        train(make_config(tiny_tsv, tmp_path / "none"), resume=True)


def _train_cli(config_args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "tweetsent.cli", "train", *config_args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def test_resume_after_kill_matches_an_uninterrupted_run(tiny_tsv, tmp_path):
    common = ["--data", str(tiny_tsv), *TINY_TRAIN_FLAGS, "--batch-size", "8", "--epochs", "6"]
    common += ["--early-stopping", ""]
    full = tmp_path / "full"
    proc = _train_cli([*common, "--out", str(full)])
    assert proc.wait(timeout=300) == 0, proc.stdout.read().decode()

    killed = tmp_path / "killed"
    proc = _train_cli([*common, "--out", str(killed)])
    state = killed / "checkpoint" / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if state.is_file() and json.loads(state.read_text())["loop"]["epoch"] >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["loop"]["epoch"]
    assert 2 <= done < 6, f"the kill came too late to test anything (epoch {done})"
    assert not (killed / "metrics.json").exists()

    proc = _train_cli([*common, "--out", str(killed), "--resume"])
    output = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, output
    assert f"resume: {done} epoch(s) done" in output
    with open(full / "history.csv") as a, open(killed / "history.csv") as b:
        history_full, history_resumed = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert len(history_resumed) == 6
    for row_a, row_b in zip(history_full, history_resumed, strict=True):
        assert float(row_a["train_loss"]) == pytest.approx(float(row_b["train_loss"]), abs=1e-6)
        assert row_a["valid_accuracy"] == row_b["valid_accuracy"]
    weights_a = load_file(str(full / "model.safetensors"))
    weights_b = load_file(str(killed / "model.safetensors"))
    for key, value in weights_a.items():
        np.testing.assert_allclose(value, weights_b[key], atol=1e-6)


def test_resume_refuses_a_different_model(tiny_tsv, tmp_path, make_config):
    out = tmp_path / "run"
    train(make_config(tiny_tsv, out, **{"train.epochs": 1}), log=lambda _: None)
    with pytest.raises(ConfigError, match=r"model.cell is 'gru' but the run .* with 'lstm'"):
        train(make_config(tiny_tsv, out, **{"model.cell": "gru"}), resume=True)


def test_run_dir_contains_no_pickles(tiny_tsv, tmp_path, make_config):
    result = train(
        make_config(tiny_tsv, tmp_path / "run", **{"train.epochs": 1}), log=lambda _: None
    )
    suffixes = {p.suffix for p in Path(result.run_dir).rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".safetensors", ".csv", ".png", ".md"}


def test_train_leaves_the_callers_config_alone_and_returns_the_resolved_one(
    tiny_tsv, tmp_path, make_config
):
    config = make_config(tiny_tsv, tmp_path / "run", **{"train.epochs": 1})
    before = config.to_dict()
    result = train(config, log=lambda _: None)
    assert config.to_dict() == before
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved == result.config.to_dict()
