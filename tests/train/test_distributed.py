"""`tweetsent train` under torchrun: 2 gloo ranks take the steps of one process with the same
global batch, rank 0 alone writes, and a 2-rank run resumes in one process.

Dropout is off in the equality check (every rank draws its own masks: equal in distribution,
not in value, to one process's); the class weights and the self-attention penalty are on, so
the loss of each rank's share is weighted as in the global batch. 209 training tweets in
batches of 16 end with a batch of one row: rank 1 has no row there and runs at factor 0.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from synthetic import TINY_TRAIN_FLAGS, synthetic_tweets, tiny_config, write_tsv
from torchrun_cli import run_torchrun
from tweetsent.cli import main
from tweetsent.train import train

NO_DROPOUT = {"embed.dropout": 0.0, "model.layer_dropout": 0.0, "model.output_dropout": 0.0}
SETTINGS = {**NO_DROPOUT, "model.pooling": "attention", "train.early_stopping": ""}
FLAGS = ["--embed-dropout", "0", "--layer-dropout", "0", "--dropout", "0"]
FLAGS += ["--pooling", "attention", "--early-stopping", "", "--batch-size", "16", "--lr", "0.01"]


def _history(run: Path) -> list[dict[str, str]]:
    with open(run / "history.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _assert_same_run(a: Path, b: Path, atol: float = 1e-5) -> None:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_allclose(wa[name], wb[name], atol=atol, rtol=0, err_msg=name)
    ha, hb = _history(a), _history(b)
    assert len(ha) == len(hb)
    for ra, rb in zip(ha, hb, strict=True):
        for key in ("train_loss", "train_accuracy", "train_penalty", "valid_loss", "valid_avgrec"):
            assert float(ra[key]) == pytest.approx(float(rb[key]), abs=atol), key


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ddp-data")
    rows = synthetic_tweets(269, seed=3)
    return write_tsv(folder / "train.tsv", rows[:209]), write_tsv(folder / "valid.tsv", rows[209:])


def test_two_ranks_equal_one_process_and_resume_in_one(data, tmp_path, monkeypatch):
    monkeypatch.setenv("TWEETSENT_CACHE", str(tmp_path / "cache"))  # the ranks' token cache
    train_tsv, valid_tsv = data
    ranks, guard = tmp_path / "ranks", tmp_path / "ranks"
    args = ["train", "--data", str(train_tsv), "--valid", str(valid_tsv), "--out", str(ranks)]
    args += [*TINY_TRAIN_FLAGS, *FLAGS, "--epochs", "2", "--device", "cpu"]
    job = run_torchrun(2, args, guard=guard)
    assert job.returncode == 0, job.stderr[-3000:]
    assert job.stdout.count("run directory:") == 1  # rank 0 alone reports
    assert job.stdout.count("\nepoch 2:") == 1  # ... and logs

    overrides = {**SETTINGS, "data.valid": [str(valid_tsv)], "train.epochs": 2}
    one = train(tiny_config(train_tsv, tmp_path / "one", **overrides), log=lambda _: None)
    _assert_same_run(one.run_dir, ranks)

    # The 2-rank checkpoint (2 epochs) resumes in one process: 2 more epochs equal 4 in one.
    assert main([*args, "--epochs", "4", "--resume", "--no-progress"]) == 0
    four = {**overrides, "train.epochs": 4}
    whole = train(tiny_config(train_tsv, tmp_path / "whole", **four), log=lambda _: None)
    _assert_same_run(whole.run_dir, ranks)


def test_a_recipe_under_torchrun_is_a_one_line_error(data, tmp_path, monkeypatch, capsys):
    recipe = tmp_path / "recipe.toml"
    (tmp_path / "a.toml").write_text("", encoding="utf-8")
    (tmp_path / "b.toml").write_text('[model]\ncell = "gru"\n', encoding="utf-8")
    recipe.write_text('[ensemble]\nmembers = ["a.toml", "b.toml"]\n', encoding="utf-8")
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "0")):
        monkeypatch.setenv(name, value)  # as torchrun sets them; refused before any collective
    argv = ["train", "--config", str(recipe), "--data", str(data[0]), "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ensemble recipe does not run under torchrun" in err[0]
    assert not (tmp_path / "r").exists()
