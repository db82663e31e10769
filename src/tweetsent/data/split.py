"""Stratified hold-out split, deterministic from a seed."""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence


def stratified_split(
    labels: Sequence[Hashable], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Split row indices into (kept, held_out) with `fraction` of each class held out.

    Per class c with n_c rows: held_out_c = round(n_c * fraction), clamped to [1, n_c - 1] when
    n_c >= 2 and 0 < fraction, so every class with two or more rows appears on both sides; a
    class with one row stays on the kept side. Rows are shuffled per class with
    `random.Random(seed)` (classes visited in sorted order), so the split depends only on the
    labels, the fraction and the seed. Both index lists are returned in ascending order.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
    by_class: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    rng = random.Random(seed)
    kept: list[int] = []
    held: list[int] = []
    for label in sorted(by_class, key=repr):
        rows = by_class[label]
        rng.shuffle(rows)
        n = len(rows)
        k = round(n * fraction)
        if fraction > 0 and n >= 2:
            k = min(max(k, 1), n - 1)
        elif n < 2:
            k = 0
        held.extend(rows[:k])
        kept.extend(rows[k:])
    return sorted(kept), sorted(held)
