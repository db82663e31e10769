"""What a finished run leaves for people: history CSV, metrics JSON, figure, model card."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.config import RunConfig
from tweetsent.data.prepare import Prepared
from tweetsent.io import atomic_write, read_json, write_json
from tweetsent.runs.card import split_name, summary, training
from tweetsent.runs.rundir import META
from tweetsent.train.plots import plot_learning_curves


def describe(config: RunConfig) -> str:
    """The figure title: the model (`runs.card.summary`) and its training settings."""
    return f"{summary(config)} | {training(config)}"


def write_history(path: Path, history: Sequence[dict[str, Any]]) -> None:
    if not history:
        return
    fields = list(history[0].keys())
    with atomic_write(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(history)


def write_outputs(
    run_dir: Path,
    config: RunConfig,
    prepared: Prepared,
    history: Sequence[dict[str, Any]],
    best_epoch: int,
    metrics: dict[str, float],
    matrix: np.ndarray,
) -> None:
    write_history(run_dir / "history.csv", history)
    split = scored_split(config)
    write_json(
        run_dir / "metrics.json",
        {
            "split": split,
            "best_epoch": best_epoch,
            "metrics": metrics,
            "labels": prepared.labels,
            "confusion_matrix": matrix.tolist(),
        },
    )
    title = describe(config)
    plot_learning_curves(history, title, run_dir / "learning_curves.png")
    meta = read_json(run_dir / META)
    meta["scores"] = {"split": split, "best_epoch": best_epoch, **metrics}
    write_json(run_dir / META, meta)
    write_card(run_dir, config, prepared, best_epoch, metrics, meta)


def scored_split(config: RunConfig) -> str:
    """What a run's scores were measured on: its validation split, unless it trained on it."""
    return split_name(config.data.train_on_valid)


def _epoch_note(config: RunConfig, best_epoch: int) -> str:
    if config.data.train_on_valid:
        return f"in-sample: trained on them too; last epoch {best_epoch}"
    return f"best epoch {best_epoch}" if config.train.keep == "best" else f"last epoch {best_epoch}"


def write_card(
    run_dir: Path,
    config: RunConfig,
    prepared: Prepared,
    best_epoch: int,
    metrics: dict[str, float],
    meta: dict[str, Any],
) -> None:
    report = prepared.report
    lines = [
        "# Model card",
        "",
        f"- model: {summary(config)}",
        f"- training: {training(config)}",
        f"- labels: {', '.join(prepared.labels)}",
        f"- training data: {', '.join(config.data.train)} ({len(prepared.train):,} tweets; "
        f"class counts {report.get('class_counts')})",
        f"- validation: {', '.join(config.data.valid) or 'stratified hold-out of the training'}"
        f" ({len(prepared.valid):,} tweets)",
        f"- skipped rows: {report['train'].get('skipped', 0)} (train)",
        f"- vocabulary: {len(prepared.vocab):,} tokens (min_freq {config.data.min_freq})",
        f"- embeddings: {meta.get('embeddings', {}).get('kind', config.embed.kind)}",
        f"- trained on: {meta.get('device')}, torch {meta.get('torch')}, tweetsent "
        f"{meta.get('tweetsent')}",
        "",
        f"## Validation scores ({_epoch_note(config, best_epoch)})",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v:.4f} |" for k, v in metrics.items()],
        "",
        "Settings: see config.json. Normalizer settings: config.json [text].",
        "",
    ]
    with atomic_write(run_dir / "MODEL_CARD.md", "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
