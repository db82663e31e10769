"""Evaluate a trained run on labelled files: all metrics plus the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.data.labels import LabelSet, apply_labels
from tweetsent.data.readers import read_examples
from tweetsent.errors import DataError
from tweetsent.io import write_json
from tweetsent.metrics import compute_metrics, confusion_matrix
from tweetsent.runs.predict import Predictor


@dataclass
class Evaluation:
    metrics: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]
    examples: int
    skipped: int
    dropped_neutral: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def table(self) -> str:
        lines = [f"{name:>10}  {value:.4f}" for name, value in self.metrics.items()]
        width = max(len(label) for label in self.labels) + 2
        header = " " * width + "".join(f"{label[:9]:>10}" for label in self.labels)
        rows = [
            f"{label:<{width}}" + "".join(f"{n:>10}" for n in row)
            for label, row in zip(self.labels, self.confusion, strict=True)
        ]
        return "\n".join([*lines, "", "confusion (rows: true, columns: predicted)", header, *rows])


@dataclass
class Scored:
    """A run's predictions on labelled files: label ids (true, predicted) in file order."""

    truth: np.ndarray
    pred: np.ndarray
    labels: list[str]
    skipped: int
    dropped_neutral: int


def score_files(
    predictor: Predictor,
    paths: Sequence[str],
    format: str = "auto",
    text_col: str = "text",
    label_col: str = "label",
    strict: bool = False,
) -> Scored:
    """Predict every labelled example of `paths` (the run's label set applied)."""
    examples, report = read_examples(
        paths, format=format, text_col=text_col, label_col=label_col, strict=strict
    )
    mode = predictor.run.config.data.labels
    examples, dropped = apply_labels(examples, mode)
    if not examples.texts:
        raise DataError(f"no labelled examples in {', '.join(map(str, paths))}")
    names = LabelSet(mode).names
    index = {name: i for i, name in enumerate(predictor.labels)}
    if list(names) != list(predictor.labels):
        raise DataError(f"label set {list(names)} does not match the model's {predictor.labels}")
    truth = np.array([index[label] for label in examples.labels], dtype=np.int64)
    pred = predictor.predict_proba(examples.texts).argmax(axis=1).astype(np.int64)
    return Scored(truth, pred, list(predictor.labels), report.skipped, dropped)


def evaluate(
    predictor: Predictor,
    paths: Sequence[str],
    format: str = "auto",
    text_col: str = "text",
    label_col: str = "label",
    strict: bool = False,
    out: str | Path | None = None,
) -> Evaluation:
    scored = score_files(predictor, paths, format, text_col, label_col, strict)
    truth, pred, labels = scored.truth, scored.pred, scored.labels
    result = Evaluation(
        metrics=compute_metrics(truth, pred, labels),
        labels=labels,
        confusion=confusion_matrix(truth, pred, len(labels)).tolist(),
        examples=len(truth),
        skipped=scored.skipped,
        dropped_neutral=scored.dropped_neutral,
    )
    if out is not None:
        write_json(out, result.to_dict())
    return result
