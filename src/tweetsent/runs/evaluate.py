"""Evaluate a trained run on labelled files: all metrics plus the confusion matrix (`evaluate`,
streamed), or the per-tweet predictions of test files (`predict_labelled`, `tweetsent study`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from tweetsent.data.labels import LabelSet, apply_labels, file_label_mapping, known_label
from tweetsent.data.readers import Chunk, read_chunks, read_examples
from tweetsent.errors import DataError
from tweetsent.io import write_json
from tweetsent.metrics import metrics_from_confusion
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
class LabelledPredictions:
    """A run's predictions on labelled files: label ids (true, predicted) in file order
    (`predict_labelled`). Not `runs.writers.Scored`, the rows of an output file."""

    truth: np.ndarray
    pred: np.ndarray
    labels: list[str]
    skipped: int
    dropped_neutral: int


def _label_names(predictor: Predictor) -> list[str]:
    """The label names of the run's label set (`data.labels`); a DataError unless they are the
    model's, in its order."""
    names = list(LabelSet(predictor.run.config.data.labels).names)
    if names != list(predictor.labels):
        raise DataError(f"label set {names} does not match the model's {predictor.labels}")
    return names


def predict_labelled(
    predictor: Predictor,
    paths: Sequence[str],
    format: str = "auto",
    text_col: str = "text",
    label_col: str = "label",
    strict: bool = False,
) -> LabelledPredictions:
    """Predict every labelled example of `paths` (the run's label set applied), keeping the
    per-tweet labels (`tweetsent study`'s paired comparisons need them): the files are read
    whole, so this is for test files; `evaluate` streams files of any size."""
    examples, report = read_examples(
        paths, format=format, text_col=text_col, label_col=label_col, strict=strict
    )
    mode = predictor.run.config.data.labels
    examples, dropped = apply_labels(examples, mode)
    if not examples.texts:
        raise DataError(f"no labelled examples in {', '.join(map(str, paths))}")
    _label_names(predictor)
    index = {name: i for i, name in enumerate(predictor.labels)}
    labels = cast("list[str]", examples.labels)  # apply_labels kept labelled rows only
    truth = np.array([index[label] for label in labels], dtype=np.int64)
    pred = predictor.predict_proba(examples.texts).argmax(axis=1).astype(np.int64)
    return LabelledPredictions(truth, pred, list(predictor.labels), report.skipped, dropped)


def evaluate(
    predictor: Predictor,
    paths: Sequence[str],
    format: str = "auto",
    text_col: str = "text",
    label_col: str = "label",
    strict: bool = False,
    out: str | Path | None = None,
    chunk: int = 100_000,
) -> Evaluation:
    """Metrics of `predictor` on labelled files, read and scored `chunk` rows at a time: what
    is kept per file is, for each raw label, its count, first line and the predicted-class
    counts, so memory does not grow with the files and the result equals a whole-file read."""
    names = _label_names(predictor)
    num = len(names)
    tallies: dict[str, dict[str | None, list]] = {}  # path -> raw -> [count, line, predicted]

    def score(part: Chunk) -> None:
        ex = part.examples
        pred = predictor.predict_proba(ex.texts).argmax(axis=1)
        raws = tallies.setdefault(ex.paths[0], {})
        for raw, line, p in zip(ex.labels, ex.lines, pred.tolist(), strict=True):
            tally = raws.get(raw)
            if tally is None:
                tally = raws[raw] = [0, line, np.zeros(num, dtype=np.int64)]
                if raw is not None and not known_label(raw):  # fail now, not after the file
                    file_label_mapping(ex.paths[0], {r: t[:2] for r, t in raws.items()})
            tally[0] += 1
            tally[2][p] += 1

    report = read_chunks(paths, score, chunk, format, text_col, label_col, strict, True, False)
    confusion = np.zeros((num, num), dtype=np.int64)
    dropped = 0
    for path, raws in tallies.items():
        mapping = file_label_mapping(path, {raw: t[:2] for raw, t in raws.items()})
        for raw, (count, _, predicted) in raws.items():
            label = mapping[raw]  # type: ignore[index]
            if label not in names:  # binary: neutral rows are dropped
                dropped += count
                continue
            confusion[names.index(label)] += predicted
    if not confusion.sum():
        raise DataError(f"no labelled examples in {', '.join(map(str, paths))}")
    result = Evaluation(
        metrics=metrics_from_confusion(confusion, predictor.labels),
        labels=list(predictor.labels),
        confusion=confusion.tolist(),
        examples=int(confusion.sum()),
        skipped=report.skipped,
        dropped_neutral=dropped,
    )
    if out is not None:
        write_json(out, result.to_dict())
    return result
