"""A tiny study end to end (2 arms x 2 seeds): killed after its first run, resumed without
training that run again, and a report whose every number is recomputed here from the run
directories."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from tweetsent.cli import main
from tweetsent.errors import ConfigError
from tweetsent.metrics import compute_metrics
from tweetsent.search.storage import open_storage
from tweetsent.study import load_study, run_study, write_report
from tweetsent.study.stats import mean_sd, paired_bootstrap

RUNS = [("lstm", 1), ("gru", 1), ("lstm", 2), ("gru", 2)]


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def _kill_after_first_run(process: subprocess.Popen, runs: Path) -> Path:
    """Kill the study as soon as one run directory has finished training (metrics.json), while
    the next run trains; return the finished run."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        done = list(runs.glob("*/seed-*/metrics.json"))
        if done:
            process.kill()
            return done[0].parent
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise AssertionError("no run finished before the study ended or timed out")


def _trials(spec) -> list[optuna.trial.FrozenTrial]:
    s = spec.settings
    storage = open_storage(f"sqlite:///{(Path(s.out) / 'studies.db').resolve()}")
    return optuna.load_study(study_name=s.name, storage=storage).get_trials()


@pytest.fixture(scope="module")
def killed_and_resumed(module_study):
    """The tiny study killed once its first run has finished, then resumed (shared by the
    tests below; the last one removes the database)."""
    path = module_study
    spec = load_study(path)
    runs = spec.study_dir / "runs"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "tweetsent.cli", "study", str(path), "--no-progress"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = _kill_after_first_run(process, runs)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -9
    finished_before = {p.parent for p in runs.glob("*/seed-*/metrics.json")}
    assert first in finished_before and len(finished_before) < 4
    stamps = {
        run: {name: _stamp(run / name) for name in ("model.safetensors", "history.csv")}
        for run in finished_before
    }
    with pytest.raises(ConfigError, match="already exists.*--resume"):
        run_study(spec, log=lambda _: None)
    lines: list[str] = []
    report = run_study(spec, resume=True, log=lines.append)
    return spec, report, lines, stamps


@pytest.mark.slow
def test_resume_after_a_kill_trains_only_what_did_not_finish(killed_and_resumed):
    spec, report, lines, stamps = killed_and_resumed
    held = len(stamps)
    assert f"{held} finished, {4 - held} queued (" in lines[0]
    for run, files in stamps.items():  # the runs that had finished were not trained again
        assert {name: _stamp(run / name) for name in files} == files
    assert report.complete and report.results["finished_runs"] == 4
    trials = _trials(spec)
    told = [
        (t.user_attrs["arm"], t.user_attrs["seed"]) for t in trials if t.state.name == "COMPLETE"
    ]
    assert sorted(told) + [] == sorted(set(told))  # no (arm, seed) trained twice
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    # resuming a finished study queues nothing
    again: list[str] = []
    run_study(spec, resume=True, log=again.append)
    assert "4 finished, 0 queued (0 newly)" in again[0]


def _recompute(spec) -> dict:
    """Every number of the report, from the run directories' own files."""
    out = {}
    for arm, seed in RUNS:
        run = spec.run_dir(arm, seed)
        test = json.loads((run / "test.json").read_text())
        with open(run / "history.csv", newline="") as handle:
            history = list(csv.DictReader(handle))
        metrics = json.loads((run / "metrics.json").read_text())
        out[arm, seed] = {
            "test": compute_metrics(test["truth"], test["pred"], test["labels"]),
            "valid": metrics["metrics"]["avgrec"],
            "best_epoch": metrics["best_epoch"],
            "seconds": sum(float(row["seconds"]) for row in history),
            "gap": float(history[-1]["gap"]),
            "truth": np.array(test["truth"]),
            "pred": np.array(test["pred"]),
            "labels": test["labels"],
        }
    return out


@pytest.mark.slow
def test_report_numbers_equal_those_recomputed_from_the_run_directories(killed_and_resumed):
    spec, report, _, _ = killed_and_resumed
    runs = _recompute(spec)
    results = json.loads((spec.study_dir / "results.json").read_text())
    assert results == json.loads(json.dumps(report.results))
    assert results["test_tweets"] == 90 and results["missing_runs"] == []
    for arm in ("lstm", "gru"):
        entry = results["arms"][arm]
        mine = [runs[arm, seed] for seed in (1, 2)]
        for metric in ("avgrec", "f1_pn", "accuracy", "f1"):
            mean, sd = mean_sd([r["test"][metric] for r in mine])
            assert entry["test"][metric]["mean"] == pytest.approx(mean, abs=1e-12)
            assert entry["test"][metric]["sd"] == pytest.approx(sd, abs=1e-12)
        assert entry["valid"]["avgrec"]["mean"] == pytest.approx(
            mean_sd([r["valid"] for r in mine])[0]
        )
        assert entry["seconds"]["values"] == pytest.approx([r["seconds"] for r in mine])
        assert entry["best_epoch"]["values"] == [r["best_epoch"] for r in mine]
        assert entry["gap"]["values"] == pytest.approx([r["gap"] for r in mine])
    expected = paired_bootstrap(
        runs["lstm", 1]["truth"],
        [runs["gru", s]["pred"] for s in (1, 2)],
        [runs["lstm", s]["pred"] for s in (1, 2)],
        runs["lstm", 1]["labels"],
        resamples=200,
        seeds=[1, 2],
    )["avgrec"]
    comparison = results["arms"]["gru"]["comparison"]["avgrec"]
    assert comparison["delta"] == pytest.approx(expected.delta)
    assert comparison["ci"] == pytest.approx([expected.low, expected.high])
    assert comparison["delta"] == pytest.approx(
        np.mean(
            [runs["gru", s]["test"]["avgrec"] - runs["lstm", s]["test"]["avgrec"] for s in (1, 2)]
        )
    )
    best = max(("lstm", "gru"), key=lambda a: np.mean([runs[a, s]["valid"] for s in (1, 2)]))
    assert results["best_arm"] == best  # chosen on validation
    for name in ("curves", "bars", "differences", "confusion"):
        assert report.files[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (spec.study_dir / "report.md").read_text()
    assert f"{results['arms']['gru']['test']['avgrec']['mean']:.4f}" in text
    assert "INCOMPLETE" not in text


@pytest.mark.slow
def test_any_two_arms_compared_from_the_command_line(killed_and_resumed, capsys):
    spec, report, _, _ = killed_and_resumed
    assert main(["study", spec.source, "--compare", "gru", "lstm"]) == 0
    line = capsys.readouterr().out.strip()
    delta = report.results["arms"]["gru"]["comparison"]["avgrec"]["delta"]
    assert line.startswith(f"gru - lstm over seeds [1, 2]: AvgRec {delta:+.4f} [")
    assert main(["study", spec.source, "--compare", "lstm", "cnn"]) == 2
    assert "no arm 'cnn' to compare" in capsys.readouterr().err


@pytest.mark.slow
def test_the_report_again_from_the_run_directories_alone(killed_and_resumed, capsys):
    spec, report, _, _ = killed_and_resumed
    (Path(spec.settings.out) / "studies.db").unlink()  # no database: run directories only
    before = (spec.study_dir / "results.json").read_text()
    assert main(["study", spec.source, "--report-only", "--quiet"]) == 0
    assert (spec.study_dir / "results.json").read_text() == before  # deterministic, same numbers
    out = capsys.readouterr().out
    assert "study tiny: 4/4 runs" in out and "against lstm:" in out


def test_an_unfinished_study_reports_what_finished_and_says_so(study_toml):
    spec = load_study(study_toml())
    report = write_report(spec, log=lambda _: None)
    assert not report.complete and report.results["finished_runs"] == 0
    assert "INCOMPLETE: 0 of 4 runs finished" in report.files["report"].read_text()


def test_report_only_on_a_study_that_never_ran_exits_1_and_names_no_missing_folder(
    study_toml, capsys
):
    """`--report-only` before any run: the report says INCOMPLETE, the command exits 1 as an
    incomplete study does (docs/study.md), and names no logs folder that does not exist."""
    path = study_toml()
    assert main(["study", str(path), "--report-only", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "incomplete: 0 of 4 runs finished; no run was tried here yet; --resume" in err
    assert "logs" not in err and not (load_study(path).study_dir / "logs").exists()


def test_a_failing_arm_is_reported_and_the_others_finish(study_toml, capsys):
    """A run that raises is a failed trial (the search's handling): the worker goes on, the
    report lists what is missing, the command exits 1 and says how to go on."""
    arms = '[arms.lstm]\n[arms.broken]\nembed.kind = "vectors"\nembed.path = "no-such.vec"\n'
    path = study_toml(arms=arms)
    assert main(["study", str(path), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "incomplete: 2 of 4 runs finished" in captured.err and "--resume" in captured.err
    assert f"failed runs are in {load_study(path).study_dir / 'logs'}" in captured.err
    spec = load_study(path)
    results = json.loads((spec.study_dir / "results.json").read_text())
    assert results["missing_runs"] == [["broken", 1], ["broken", 2]]
    assert results["arms"]["lstm"]["seeds"] == [1, 2]
    logs = (spec.study_dir / "logs" / "worker-0.log").read_text()
    assert "no-such.vec" in logs
    assert "INCOMPLETE: 2 of 4 runs finished" in (spec.study_dir / "report.md").read_text()
