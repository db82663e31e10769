"""The study's learning-curve figure: loss plus accuracy / precision / recall / F1 per epoch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tweetsent.io import atomic_path  # noqa: E402

PANELS = (
    ("loss", "Loss"),
    ("accuracy", "Accuracy"),
    ("precision", "Precision (macro)"),
    ("recall", "Recall (macro) = AvgRec"),
    ("f1", "F1 (macro)"),
    ("f1_pn", "F1-PN"),
)


def plot_learning_curves(history: Sequence[dict], title: str, path: str | Path) -> Path:
    """Save a 2 x 3 grid of train/validation curves; the last value is printed beside each."""
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), constrained_layout=True)
    epochs = [row["epoch"] for row in history]
    for ax, (key, label) in zip(axes.flat, PANELS, strict=True):
        for split, style in (("train", "-o"), ("valid", "-s")):
            values = [row.get(f"{split}_{key}") for row in history]
            if not values or any(v is None for v in values):
                continue
            ax.plot(epochs, values, style, markersize=3, label=split)
            ax.annotate(
                f"{values[-1]:.3f}",
                (epochs[-1], values[-1]),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
