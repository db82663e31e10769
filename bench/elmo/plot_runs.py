"""Held-out perplexity of several pretraining runs in one figure.

python bench/elmo/plot_runs.py OUT.png LABEL=RUN/perplexity.csv [LABEL=...] [--max-step N]
"""

from __future__ import annotations

import argparse
import csv

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("runs", nargs="+", help="LABEL=path/to/perplexity.csv")
    parser.add_argument("--max-step", type=int, default=0)
    args = parser.parse_args()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for spec in args.runs:
        label, path = spec.split("=", 1)
        with open(path, encoding="utf-8", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if int(r["step"]) > 0]
        if args.max_step:
            rows = [r for r in rows if int(r["step"]) <= args.max_step]
        steps = [int(r["step"]) for r in rows]
        ax.plot(steps, [float(r["mean"]) for r in rows], marker=".", label=label)
        ends = [r for r in rows if float(r["epoch"]).is_integer()]  # end-of-epoch evaluations
        ax.scatter(
            [int(r["step"]) for r in ends],
            [float(r["mean"]) for r in ends],
            s=40,
            facecolors="none",
            edgecolors="black",
            zorder=3,
        )
    ax.set_yscale("log")
    ax.set_xlabel("training step (circles: end of an epoch)")
    ax.set_ylabel("held-out perplexity (mean)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
