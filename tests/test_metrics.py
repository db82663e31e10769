import numpy as np
import pytest

from tweetsent.metrics import compute_metrics, confusion_matrix

LABELS = ["negative", "neutral", "positive"]


def test_hand_computed_example():
    truth = [0, 0, 1, 1, 1, 2, 2, 2, 2, 2]
    pred = [0, 1, 1, 1, 0, 2, 2, 2, 1, 0]
    m = compute_metrics(truth, pred, LABELS)
    # recalls: neg 1/2, neu 2/3, pos 3/5
    assert m["avgrec"] == pytest.approx((1 / 2 + 2 / 3 + 3 / 5) / 3)
    assert m["accuracy"] == pytest.approx(6 / 10)
    # precision neg 1/3, pos 3/3 -> F1 neg 0.4, F1 pos 0.75
    assert m["f1_pn"] == pytest.approx((0.4 + 0.75) / 2)
    assert confusion_matrix(truth, pred, 3).tolist() == [[1, 1, 0], [1, 2, 0], [1, 1, 3]]


def test_absent_class_gives_zero_not_nan():
    m = compute_metrics([0, 0], [0, 0], LABELS)
    assert all(np.isfinite(v) for v in m.values())
    assert m["accuracy"] == 1.0
