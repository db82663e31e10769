"""The study's figures, drawn from the run records (PNG, written atomically):

- curves: validation AvgRec, validation accuracy and the train - valid accuracy gap per epoch,
  one colour per arm, the mean over seeds as a line and the seeds' range as a band;
- bars: test AvgRec, F1-PN, accuracy and macro F1 per arm, mean with the seeds' sd as error bars;
- differences: each arm minus the baseline with its paired-bootstrap interval;
- confusion: the best arm's test confusion matrix, summed over seeds, rows normalised.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tweetsent.io import atomic_path  # noqa: E402
from tweetsent.study.results import RunRecord  # noqa: E402

CURVES = (("valid_avgrec", "validation AvgRec"), ("valid_accuracy", "validation accuracy"),
          ("gap", "train - valid accuracy"))  # fmt: skip
BARS = (("avgrec", "AvgRec"), ("f1_pn", "F1-PN"), ("accuracy", "accuracy"), ("f1", "macro F1"))


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _colours(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def plot_curves(records: dict[str, dict[int, RunRecord]], path: Path, title: str) -> Path:
    """Per arm and epoch: the mean over the seeds that ran that epoch, the band their range
    (early stopping ends seeds at different epochs; a point needs one seed, a band two)."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), constrained_layout=True)
    for colour, (arm, runs) in zip(_colours(len(records)), records.items(), strict=True):
        for ax, (key, _) in zip(axes, CURVES, strict=True):
            by_epoch: dict[int, list[float]] = {}
            for record in runs.values():
                for row in record.history:
                    value = row.get(key, math.nan)
                    if not math.isnan(value):
                        by_epoch.setdefault(int(row["epoch"]), []).append(value)
            epochs = sorted(by_epoch)
            mean = [float(np.mean(by_epoch[e])) for e in epochs]
            ax.plot(epochs, mean, "-o", color=colour, markersize=3, label=arm, linewidth=1.4)
            banded = [e for e in epochs if len(by_epoch[e]) > 1]
            if banded:
                low = [min(by_epoch[e]) for e in banded]
                high = [max(by_epoch[e]) for e in banded]
                ax.fill_between(banded, low, high, color=colour, alpha=0.15, linewidth=0)
    for ax, (_, label) in zip(axes, CURVES, strict=True):
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"{title}: mean over seeds (line), range of the seeds (band)", fontsize=10)
    return _save(fig, path)


def plot_bars(summary: dict[str, dict], path: Path, title: str) -> Path:
    """`summary[arm]["test"][metric]` = {"mean", "sd"}: grouped bars with sd error bars."""
    arms = list(summary)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.9 * len(arms) + 3), 4.8), constrained_layout=True)
    width = 0.8 / len(BARS)
    x = np.arange(len(arms))
    lows: list[float] = []
    for i, (metric, label) in enumerate(BARS):
        means = [summary[a]["test"][metric]["mean"] for a in arms]
        sds = [summary[a]["test"][metric]["sd"] for a in arms]
        lows.extend(m - s for m, s in zip(means, sds, strict=True))
        ax.bar(
            x + (i - (len(BARS) - 1) / 2) * width, means, width, yerr=sds, capsize=2, label=label
        )
    ax.set_xticks(x)
    ax.set_xticklabels(arms, rotation=25, ha="right", fontsize=8)
    finite = [v for v in lows if not math.isnan(v)]
    ax.set_ylim(max(0.0, min(finite, default=0.0) - 0.05), None)
    ax.set_ylabel("test score (mean ± sd over seeds)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=len(BARS))
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_differences(rows: list[tuple[str, dict]], baseline: str, path: Path, title: str) -> Path:
    """(arm, Paired.to_dict()) rows: the difference with its interval, one line per arm."""
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.8), constrained_layout=True)
    for y, (_, comparison) in enumerate(rows):
        low, high = comparison["ci"]
        colour = {"better": "tab:green", "worse": "tab:red"}.get(comparison["verdict"], "0.4")
        if comparison["verdict"].startswith(("better ", "worse ")):  # not on every seed
            colour = "tab:olive" if comparison["verdict"].startswith("better") else "tab:orange"
        ax.plot([low, high], [y, y], color=colour, linewidth=2)
        ax.plot([comparison["delta"]], [y], "o", color=colour)
        ax.plot(comparison["per_seed"], [y] * len(comparison["per_seed"]), "x", color="0.5",
                markersize=4)  # fmt: skip
    ax.axvline(0.0, color="0.2", linewidth=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([arm for arm, _ in rows], fontsize=8)
    ax.invert_yaxis()
    metric = rows[0][1]["metric"] if rows else "avgrec"
    ax.set_xlabel(f"test {metric}: arm - {baseline} (dot: mean over seeds, x: each seed)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_confusion(matrix: np.ndarray, labels: list[str], path: Path, title: str) -> Path:
    """Counts in the cells, colour = share of the true class (row)."""
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0)
    fig, ax = plt.subplots(figsize=(5.2, 4.6), constrained_layout=True)
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if share[i, j] > 0.6 else "black"
            text = f"{int(matrix[i, j])}\n{share[i, j]:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    ax.set_title(title, fontsize=9)
    return _save(fig, path)
