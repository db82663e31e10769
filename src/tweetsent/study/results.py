"""What a study's run directories hold, read back: per run its validation history, best
epoch, train time and test predictions (`test.json`, written once the run has trained).

Nothing here reads the study's database: the report is regenerated from the run directories
alone (`tweetsent study STUDY.toml --report-only`).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.data.labels import apply_labels
from tweetsent.data.readers import read_examples
from tweetsent.errors import DataError, TweetsentError
from tweetsent.io import read_capped, read_json, sha256_file, write_json
from tweetsent.metrics import compute_metrics, confusion_matrix
from tweetsent.runs.evaluate import predict_labelled
from tweetsent.runs.predict import Predictor
from tweetsent.runs.rundir import CONFIG, WEIGHTS
from tweetsent.study.spec import StudySpec

TEST = "test.json"  # a run's scores on the study's test files, beside metrics.json


@dataclass
class RunRecord:
    """One finished (arm, seed) run as its directory tells it."""

    arm: str
    seed: int
    path: Path
    history: list[dict[str, float]]
    best_epoch: int
    valid: dict[str, float]  # validation metrics of the best epoch (metrics.json)
    test: dict[str, float]  # test metrics recomputed from test.json's predictions
    truth: np.ndarray
    pred: np.ndarray
    labels: list[str]
    seconds: float  # training time: the epochs' seconds in history.csv
    gap: float  # last epoch's train - valid accuracy gap
    extra: dict[str, Any] = field(default_factory=dict)


def trained(path: Path) -> bool:
    """A run that finished training (not merely started)."""
    return (path / "metrics.json").is_file() and (path / WEIGHTS).is_file()


def check_data_files(spec: StudySpec) -> None:
    """Read every data file of the study (each active arm's train and valid files, the test
    files) as its runs and the test scoring will, labels mapped: a file that cannot be read,
    holds no labelled row or an unknown label is a one-line `DataError` before anything
    trains (not after every run has)."""
    seen: set[tuple] = set()
    for arm in spec.active:
        data = spec.config(arm.name, spec.settings.seeds[0]).data
        reads = [(tuple(data.train), data.format, data.text_col, data.label_col, data.strict)]
        if data.valid:
            reads.append(
                (tuple(data.valid), data.format, data.text_col, data.label_col, data.strict)
            )
        reads.append((tuple(spec.test), "auto", "text", "label", False))  # as predict_labelled
        for key in reads:
            if (key, data.labels) not in seen:
                seen.add((key, data.labels))
                _check_labelled(key, data.labels)


def _check_labelled(read: tuple, mode: str) -> None:
    paths, fmt, text_col, label_col, strict = read
    examples, _ = read_examples(list(paths), fmt, text_col, label_col, strict)
    examples, _ = apply_labels(examples, mode)
    if not examples.texts:
        raise DataError(f"no labelled examples in {', '.join(paths)}")


def _test_sources(spec: StudySpec) -> list[dict[str, str]]:
    return [{"path": str(p), "sha256": sha256_file(p)} for p in spec.test]


def score_runs(spec: StudySpec, log=print, workers: int = 1) -> int:
    """Score every trained run on the test files, once (again when a test file changed);
    returns how many were scored now."""
    sources = _test_sources(spec)
    done = 0
    for arm, seed in spec.planned():
        path = spec.run_dir(arm, seed)
        if not trained(path):
            continue
        if (path / TEST).is_file() and read_json(path / TEST).get("files") == sources:
            continue
        scored = predict_labelled(Predictor.from_run(path, workers=workers), spec.test)
        metrics = compute_metrics(scored.truth, scored.pred, scored.labels)
        write_json(
            path / TEST,
            {
                "files": sources,
                "labels": scored.labels,
                "metrics": metrics,
                "skipped": scored.skipped,
                "truth": scored.truth.tolist(),
                "pred": scored.pred.tolist(),
            },
        )
        done += 1
        log(f"test {arm} seed {seed}: avgrec {metrics['avgrec']:.4f}")
    return done


def _history(path: Path) -> list[dict[str, float]]:
    text = read_capped(path / "history.csv").decode("utf-8")  # a regular file, size capped
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return [{k: _number(v) for k, v in row.items()} for row in rows]


def _number(text: str) -> float:
    if text in ("True", "False"):
        return float(text == "True")
    try:
        return float(text)
    except ValueError:
        return math.nan


def read_record(spec: StudySpec, arm: str, seed: int) -> RunRecord | None:
    """The run of (arm, seed), or None when it has not finished (trained and scored)."""
    path = spec.run_dir(arm, seed)
    if not (trained(path) and (path / TEST).is_file() and (path / "history.csv").is_file()):
        return None
    try:
        config = read_json(path / CONFIG)
        metrics = read_json(path / "metrics.json")
        test = read_json(path / TEST)
        history = _history(path)
    except (OSError, ValueError) as exc:
        raise TweetsentError(f"{path}: cannot read the run ({exc})") from None
    if config.get("train", {}).get("seed") != seed:
        raise TweetsentError(f"{path}: config.json has train.seed {config['train'].get('seed')}")
    truth = np.asarray(test["truth"], dtype=np.int64)
    pred = np.asarray(test["pred"], dtype=np.int64)
    labels = list(test["labels"])
    return RunRecord(
        arm=arm,
        seed=seed,
        path=path,
        history=history,
        best_epoch=int(metrics["best_epoch"]),
        valid={k: float(v) for k, v in metrics["metrics"].items()},
        test=compute_metrics(truth, pred, labels),
        truth=truth,
        pred=pred,
        labels=labels,
        seconds=float(sum(row.get("seconds", 0.0) for row in history)),
        gap=float(history[-1]["gap"]) if history else math.nan,
        extra={"confusion": confusion_matrix(truth, pred, len(labels))},
    )


def read_arm(spec: StudySpec, arm: str) -> dict[int, RunRecord]:
    """The finished runs of one arm, by seed."""
    found = {seed: read_record(spec, arm, seed) for seed in spec.settings.seeds}
    return {seed: record for seed, record in found.items() if record is not None}


def read_records(spec: StudySpec) -> dict[str, dict[int, RunRecord]]:
    """Every finished run, by arm then seed (arms and seeds in the study's order)."""
    records = {arm.name: read_arm(spec, arm.name) for arm in spec.active}
    return {arm: runs for arm, runs in records.items() if runs}
