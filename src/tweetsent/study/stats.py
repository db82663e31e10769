"""Summaries over seeds and the paired bootstrap that compares an arm with the baseline.

The comparison of arm A with baseline B over seeds s = 1..S, on the same N test tweets:

    delta = 1/S sum_s [ m(y, a_s) - m(y, b_s) ]          m: AvgRec, F1-PN, accuracy, ...

and its confidence interval from a paired bootstrap over the test tweets: each resample draws
N tweets with replacement (one draw shared by every run, so the pairing is kept), delta is
computed on it, and the interval is the (1 - confidence)/2 and (1 + confidence)/2 quantiles of
the resampled deltas (percentile interval). AvgRec and F1 are not sums over tweets, so each
resample rebuilds the confusion matrices from the drawn tweets' counts. The resamples come from
`numpy.random.default_rng(seed)`: the same inputs give the same interval.

The interval measures how much the test tweets' sampling moves delta; the spread between seeds
is reported beside it (`per_seed`), since a difference the seeds do not agree on is no gain.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value); NaN for none."""
    values = [float(v) for v in values]
    if not values:
        return math.nan, math.nan
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), sd


@dataclass
class Paired:
    """Arm minus baseline on one metric, pooled over the shared seeds."""

    metric: str
    delta: float
    low: float
    high: float
    per_seed: list[float]  # the difference seed by seed (full test set)
    seeds: list[int]

    @property
    def verdict(self) -> str:
        """From the interval; a difference that not every seed shows is said to be so."""
        if self.low > 0 or self.high < 0:
            word = "better" if self.low > 0 else "worse"
            agree = sum((d > 0) if self.low > 0 else (d < 0) for d in self.per_seed)
            if agree < len(self.per_seed):
                return f"{word} on these tweets, on {agree} of {len(self.per_seed)} seeds"
            return word
        return "no measurable difference"

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "delta": self.delta,
            "ci": [self.low, self.high],
            "per_seed": self.per_seed,
            "seeds": self.seeds,
            "ahead": sum(d > 0 for d in self.per_seed),
            "verdict": self.verdict,
        }


def batch_metrics(cells: np.ndarray, labels: Sequence[str], metric: str) -> np.ndarray:
    """`metric` of every confusion matrix in `cells` (..., k * k; rows true, columns predicted)
    at once; the same numbers as `metrics.metrics_from_confusion` (a test holds them equal)."""
    k = len(labels)
    m = cells.reshape(*cells.shape[:-1], k, k).astype(np.float64)
    tp = np.diagonal(m, axis1=-2, axis2=-1)
    predicted, actual = m.sum(axis=-2), m.sum(axis=-1)
    if metric == "accuracy":
        total = m.sum(axis=(-2, -1))
        return np.divide(tp.sum(axis=-1), total, out=np.zeros_like(total), where=total > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    if metric in ("avgrec", "recall"):
        return recall.mean(axis=-1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    if metric == "precision":
        return precision.mean(axis=-1)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    if metric == "f1":
        return f1.mean(axis=-1)
    if metric == "f1_pn":
        polar = [i for i, name in enumerate(labels) if name in ("positive", "negative")]
        return f1[..., polar or list(range(k))].mean(axis=-1)
    raise ValueError(f"no metric {metric!r} from a confusion matrix")


def paired_bootstrap(
    truth: np.ndarray,
    arm: Sequence[np.ndarray],
    baseline: Sequence[np.ndarray],
    labels: Sequence[str],
    metrics: Sequence[str] = ("avgrec",),
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    seeds: Sequence[int] | None = None,
) -> dict[str, Paired]:
    """Arm minus baseline, paired by seed (`arm[i]` and `baseline[i]`: predicted label ids of
    the same seed on the tweets of `truth`), with percentile intervals; see the module doc."""
    truth = np.asarray(truth, dtype=np.int64)
    if len(arm) != len(baseline) or not arm:
        raise ValueError("paired_bootstrap: one prediction array per seed for both, same seeds")
    k, n = len(labels), len(truth)
    runs = np.stack([*arm, *baseline]).astype(np.int64)  # (2S, N)
    if runs.shape[1] != n:
        raise ValueError("paired_bootstrap: predictions and truth differ in length")
    cell = truth[None, :] * k + runs + (np.arange(len(runs)) * k * k)[:, None]  # (2S, N)
    cell = cell.ravel()
    rng = np.random.default_rng(seed)
    size = len(runs) * k * k
    full = np.bincount(cell, minlength=size).reshape(len(runs), k * k)
    boot = np.empty((resamples, len(runs), k * k))
    for b in range(resamples):
        weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        boot[b] = np.bincount(cell, weights=np.tile(weights, len(runs)), minlength=size).reshape(
            len(runs), k * k
        )
    s = len(arm)
    out = {}
    for metric in metrics:
        values = batch_metrics(full, labels, metric)  # (2S,)
        per_seed = values[:s] - values[s:]
        resampled = batch_metrics(boot, labels, metric)  # (B, 2S)
        deltas = (resampled[:, :s] - resampled[:, s:]).mean(axis=1)
        tail = (1.0 - confidence) / 2
        low, high = np.quantile(deltas, [tail, 1.0 - tail])
        out[metric] = Paired(
            metric,
            float(per_seed.mean()),
            float(low),
            float(high),
            [float(d) for d in per_seed],
            list(seeds) if seeds is not None else list(range(s)),
        )
    return out
