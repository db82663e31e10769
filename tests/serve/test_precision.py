"""A text's prediction does not depend on the batch it is computed in (serve/precision.py)."""

from __future__ import annotations

import random

import pytest

from tweetsent.runs.predict import Predictor
from tweetsent.serve.app import ModelState
from tweetsent.serve.precision import MIN_ROWS, apply_precision
from tweetsent.serve.settings import ServeSettings

WORDS = ["love", "hate", "bus", "great", "awful", "meeting", "today", "phone", ":)", ":(", "zzz"]


def _batch_independent(run_dir, precision: str) -> tuple[int, int]:
    state = ModelState(run_dir, ServeSettings(precision=precision), Predictor.from_run(run_dir))
    rng = random.Random(0)
    pool = [" ".join(rng.choices(WORDS, k=rng.randint(0, 30))) for _ in range(60)]
    seen, differ, total = {}, 0, 0
    for _ in range(30):
        batch = rng.sample(pool, rng.randint(1, 40))
        for text, pred in zip(batch, state.predict(batch, attention=True), strict=True):
            total += 1
            answer = pred.to_dict()
            differ += text in seen and seen[text] != answer
            seen.setdefault(text, answer)
    return differ, total


@pytest.mark.parametrize("precision", ["mixed", "float64"])
def test_same_answer_in_any_batch(bilstm_run, precision):
    differ, total = _batch_independent(bilstm_run, precision)
    assert differ == 0 and total > 300


@pytest.mark.parametrize("precision", ["mixed", "float64"])
def test_same_attention_in_any_batch(attention_run, precision):
    differ, total = _batch_independent(attention_run, precision)
    assert differ == 0 and total > 300


@pytest.mark.parametrize("precision", ["mixed", "float64"])
def test_same_answer_in_any_batch_with_elmo(elmo_run, precision):
    """ELMo runs per request batch with no state carried from one call to the next."""
    differ, total = _batch_independent(elmo_run, precision)
    assert differ == 0 and total > 300


def test_mixed_runs_pooling_and_head_in_float64(bilstm_run):
    model = Predictor.from_run(bilstm_run).model
    assert apply_precision(model, "mixed") == MIN_ROWS
    assert next(model.encoder.parameters()).dtype.is_floating_point
    assert str(next(model.encoder.parameters()).dtype) == "torch.float32"
    assert str(next(model.head.parameters()).dtype) == "torch.float64"
    assert apply_precision(Predictor.from_run(bilstm_run).model, "float32") == 1
