"""What a pretraining run leaves beside its checkpoint: the official options.json + weights.hdf5,
the held-out perplexity curve as perplexity.csv and perplexity.png (written by rank 0 alone
under torchrun)."""

from __future__ import annotations

import csv
from pathlib import Path

from tweetsent.embed.elmo.options import ElmoOptions
from tweetsent.embed.elmo.weights import save_hdf5
from tweetsent.io import atomic_path, atomic_write
from tweetsent.pretrain.model import BiLmLanguageModel


def write_outputs(
    model: BiLmLanguageModel, options: ElmoOptions, out: Path, history: list[dict[str, float]]
) -> None:
    """options.json + weights.hdf5 (official layout), perplexity.csv and perplexity.png."""
    options.save(out / "options.json")
    save_hdf5(model.bilm, out / "weights.hdf5")
    columns = ["step", "epoch", "forward", "backward", "mean", "seconds"]
    with atomic_write(out / "perplexity.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: row.get(k) for k in columns} for row in history)
    if history:
        plot_perplexity(history, out / "perplexity.png")


def plot_perplexity(history: list[dict[str, float]], path: Path) -> None:
    """Held-out perplexity (log scale) against training steps."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    steps = [row["step"] for row in history]
    for key, style in (("forward", "--"), ("backward", ":"), ("mean", "-")):
        ax.plot(steps, [row[key] for row in history], style, marker=".", label=key)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("held-out perplexity")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
