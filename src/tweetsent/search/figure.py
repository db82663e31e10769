"""Parallel coordinates of a study: one vertical axis per searched field, the objective last.

Each finished trial is a line across the axes, coloured by its objective. Numeric axes run
from the lowest to the highest value seen (log-scaled when the values span more than a factor
of 20), categorical axes space their values evenly; a field a trial does not use (a condition
did not hold) sits on the "n/a" mark below the axis. Follow-ups of the overfitting rule are
dashed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tweetsent.io import atomic_path  # noqa: E402

NA = -0.1  # where a field a trial does not use is drawn


def _axis(values: list[Any]) -> tuple[Callable, list[float], list[str], bool]:
    """A map value -> [0, 1], tick positions and labels, and whether the axis is categorical."""
    present = [v for v in values if v is not None]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    distinct = sorted(set(present), key=lambda v: (str(type(v)), v))
    if not numeric or len(distinct) <= 1:
        place = {v: (i + 0.5) / len(distinct) for i, v in enumerate(distinct)}
        labels = [str(v) if v != "" else '""' for v in place]  # "": an empty choice
        return (lambda v: place.get(v, NA)), list(place.values()), labels, True
    lo, hi = min(distinct), max(distinct)
    log = lo > 0 and hi / lo > 20

    def scale(v: float) -> float:
        if v is None:
            return NA
        return (math.log(v / lo) / math.log(hi / lo)) if log else (v - lo) / (hi - lo)

    ticks = distinct if len(distinct) <= 6 else [lo, (lo * hi) ** 0.5 if log else (lo + hi) / 2, hi]
    return scale, [scale(t) for t in ticks], [f"{t:.3g}" for t in ticks], False


def _jitter(row: dict[str, Any], name: str, scales: dict) -> float:
    """A small fixed offset per trial on categorical axes, so that lines sharing a value part."""
    if name == "value" or not scales[name][3]:
        return 0.0
    return ((int(row.get("trial", 0)) * 0.618034) % 1.0 - 0.5) * 0.05


def plot_parallel(
    rows: list[dict[str, Any]], fields: list[str], metric: str, title: str, path: str | Path
) -> Path:
    """Draw `rows` (dicts with the fields, "value" and "origin") into a PNG at `path`."""
    path = Path(path)
    values = [r["value"] for r in rows]
    axes = [*fields, "value"]
    fig_w = max(6.0, 1.6 * len(axes))
    fig, ax = plt.subplots(figsize=(fig_w, 4.8), dpi=110)
    if rows:
        cmap = plt.get_cmap("viridis")
        vlo, vhi = min(values), max(values)
        norm = plt.Normalize(vlo, vhi if vhi > vlo else vlo + 1e-9)
        scales = {name: _axis([r.get(name) for r in rows]) for name in axes}
        order = sorted(rows, key=lambda r: r["value"])  # best drawn last, on top
        for row in order:
            ys = [scales[name][0](row.get(name)) + _jitter(row, name, scales) for name in axes]
            dashed = str(row.get("origin", "")).startswith("overfit")
            ax.plot(
                range(len(axes)),
                ys,
                color=cmap(norm(row["value"])),
                alpha=0.75,
                linewidth=1.4,
                linestyle="--" if dashed else "-",
            )
        for i, name in enumerate(axes):
            ax.axvline(i, color="0.3", linewidth=0.8)
            _, ticks, labels, _ = scales[name]
            for y, label in zip(ticks, labels, strict=True):
                ax.text(i + 0.03, y, label, fontsize=7, va="center")
            if any(r.get(name) is None for r in rows):
                ax.text(i + 0.03, NA, "n/a", fontsize=7, va="center", color="0.4")
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02)
        bar.set_label(f"validation {metric}")
    ax.set_xticks(range(len(axes)))
    ax.set_xticklabels([a if a != "value" else metric for a in axes], rotation=20, fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(NA - 0.08, 1.05)
    ax.set_xlim(-0.2, len(axes) - 0.5)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path
