"""The paired comparison on hand-made predictions: known differences, known interval behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tweetsent.metrics import metrics_from_confusion
from tweetsent.study.stats import batch_metrics, mean_sd, paired_bootstrap

LABELS = ["negative", "neutral", "positive"]


def _truth(n: int = 600) -> np.ndarray:
    return np.arange(n) % 3  # 200 tweets per class


def _wrong(truth: np.ndarray) -> np.ndarray:
    return (truth + 1) % 3


def test_mean_sd():
    assert mean_sd([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_sd([0.5]) == (0.5, 0.0)
    assert all(math.isnan(v) for v in mean_sd([]))


@pytest.mark.parametrize("labels", [LABELS, ["negative", "positive"], ["a", "b", "c", "d"]])
def test_batch_metrics_equal_the_projects_metrics(labels):
    rng = np.random.default_rng(0)
    k = len(labels)
    cells = rng.integers(0, 20, (50, k * k))
    cells[0] = 0  # an empty matrix
    cells[1, : k * k : k + 1] = 0  # nothing right
    for metric in ("accuracy", "precision", "recall", "f1", "avgrec", "f1_pn"):
        expected = [metrics_from_confusion(c.reshape(k, k), labels)[metric] for c in cells]
        assert batch_metrics(cells, labels, metric) == pytest.approx(expected, abs=1e-12)


def test_identical_predictions_differ_by_exactly_zero():
    truth = _truth()
    rng = np.random.default_rng(1)
    pred = [rng.integers(0, 3, len(truth)) for _ in range(3)]
    found = paired_bootstrap(truth, pred, pred, LABELS, metrics=("avgrec", "accuracy"))
    for paired in found.values():
        assert paired.delta == 0.0 and paired.low == 0.0 and paired.high == 0.0
        assert paired.per_seed == [0.0, 0.0, 0.0]
        assert paired.verdict == "no measurable difference"


def test_a_known_gain_is_measured_with_a_normal_theory_interval():
    """The arm fixes m of the baseline's errors and changes nothing else: its accuracy is
    higher by exactly m / N, and the interval has the width the binomial predicts."""
    truth = _truth(3000)
    base = _wrong(truth)
    base[::2] = truth[::2]  # the baseline is right on every other tweet
    arm = base.copy()
    fixed = np.arange(1, 3000, 2)[:150]  # 150 of its errors fixed
    arm[fixed] = truth[fixed]
    found = paired_bootstrap(truth, [arm], [base], LABELS, metrics=("accuracy",), resamples=2000)
    paired = found["accuracy"]
    assert paired.delta == pytest.approx(150 / 3000)
    p = 150 / 3000  # d_i = 1 on 150 tweets, else 0: sd of the mean = sqrt(p (1 - p) / N)
    half = 1.96 * math.sqrt(p * (1 - p) / 3000)
    assert paired.low < paired.delta < paired.high
    assert (paired.high - paired.low) / 2 == pytest.approx(half, rel=0.15)
    assert paired.low > 0 and paired.verdict == "better"


def test_swapping_arm_and_baseline_mirrors_the_result():
    truth = _truth()
    rng = np.random.default_rng(2)
    a = [np.where(rng.random(len(truth)) < 0.7, truth, _wrong(truth)) for _ in range(2)]
    b = [np.where(rng.random(len(truth)) < 0.6, truth, _wrong(truth)) for _ in range(2)]
    ab = paired_bootstrap(truth, a, b, LABELS, seed=5)["avgrec"]
    ba = paired_bootstrap(truth, b, a, LABELS, seed=5)["avgrec"]
    assert ba.delta == pytest.approx(-ab.delta)
    assert ba.low == pytest.approx(-ab.high) and ba.high == pytest.approx(-ab.low)
    assert ab.verdict == "better" and ba.verdict == "worse"


def test_gains_and_losses_that_cancel_leave_zero_inside_the_interval():
    truth = _truth()
    base = truth.copy()
    base[:100] = _wrong(truth[:100])  # wrong on tweets 0-99
    arm = truth.copy()
    arm[100:200] = _wrong(truth[100:200])  # right there, wrong on 100-199 instead
    paired = paired_bootstrap(truth, [arm], [base], LABELS, metrics=("accuracy",))["accuracy"]
    assert paired.delta == 0.0
    assert paired.low < 0 < paired.high
    assert paired.verdict == "no measurable difference"


def test_avgrec_difference_pooled_over_seeds_by_hand():
    """AvgRec is macro recall: fixing k tweets of one class raises it by k / (3 * class size).
    Seed 1 fixes 20 negative tweets, seed 2 fixes 40 positive ones: the mean gain is
    (20 / 600 + 40 / 600) / 2 with 200 tweets per class."""
    truth = _truth()
    base = _wrong(truth)
    negative = np.flatnonzero(truth == 0)
    positive = np.flatnonzero(truth == 2)
    arm1, arm2 = base.copy(), base.copy()
    arm1[negative[:20]] = 0
    arm2[positive[:40]] = 2
    paired = paired_bootstrap(truth, [arm1, arm2], [base, base], LABELS, seeds=[1, 2])["avgrec"]
    assert paired.per_seed == pytest.approx([20 / 600, 40 / 600])
    assert paired.delta == pytest.approx((20 / 600 + 40 / 600) / 2)
    assert paired.seeds == [1, 2]
    assert paired.to_dict()["ahead"] == 2


def test_a_difference_not_every_seed_shows_is_said_to_be_so():
    truth = _truth(3000)
    base = _wrong(truth)
    better = base.copy()
    better[:600] = truth[:600]  # +0.2 accuracy
    worse = base.copy()
    worse[:30] = truth[:30]
    base_right = base.copy()
    base_right[:60] = truth[:60]  # this seed's baseline is better than its arm
    found = paired_bootstrap(truth, [better, worse], [base, base_right], LABELS)["avgrec"]
    assert found.low > 0 and sum(d > 0 for d in found.per_seed) == 1
    assert found.verdict == "better on these tweets, on 1 of 2 seeds"


def test_seeded_and_deterministic():
    truth = _truth()
    rng = np.random.default_rng(3)
    a = [rng.integers(0, 3, len(truth))]
    b = [rng.integers(0, 3, len(truth))]
    one = paired_bootstrap(truth, a, b, LABELS, seed=7)["avgrec"]
    two = paired_bootstrap(truth, a, b, LABELS, seed=7)["avgrec"]
    other = paired_bootstrap(truth, a, b, LABELS, seed=8)["avgrec"]
    assert (one.low, one.high) == (two.low, two.high)
    assert other.delta == one.delta and (other.low, other.high) != (one.low, one.high)


def test_mismatched_inputs_are_refused():
    truth = _truth()
    with pytest.raises(ValueError, match="same seeds"):
        paired_bootstrap(truth, [truth, truth], [truth], LABELS)
    with pytest.raises(ValueError, match="length"):
        paired_bootstrap(truth, [truth[:10]], [truth[:10]], LABELS)
