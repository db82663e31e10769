"""An ensemble run served like any run: a real `tweetsent serve` process, and answers that do
not depend on the batch under each precision (`ensemble_run`: tests/serve/conftest.py)."""

from __future__ import annotations

import random

import pytest

from tweetsent.runs.predict import Predictor
from tweetsent.serve.app import ModelState
from tweetsent.serve.settings import ServeSettings

WORDS = ["love", "hate", "bus", "great", "awful", "meeting", "today", "phone", ":)", ":(", "zzz"]


def test_served_ensemble_answers_like_its_predictor(ensemble_server, ensemble_run):
    texts = ["I love this, best day :)", "worst day ever :(", "bus update", ""]
    reply = ensemble_server.predict(texts, attention=True)
    assert reply.status == 200
    body = reply.json()
    assert body["attention_available"] is True
    predictor = Predictor.from_run(ensemble_run)
    local = predictor.predict(texts)
    assert body["labels"] == list(local[0].probs)
    for text, pred, ref in zip(texts, body["predictions"], local, strict=True):
        assert pred["label"] == ref.label
        assert pred["probs"] == pytest.approx(ref.probs, abs=1e-5)
        tokens = [p["token"] for p in pred["attention"]]
        assert tokens == (predictor.normalizer.tokenize(text) or [""])
        assert sum(p["weight"] for p in pred["attention"]) == pytest.approx(1.0, abs=1e-4)
    card = ensemble_server.call("GET", "/v1/model")
    assert card.status == 200 and card.json()["labels"] == body["labels"]


@pytest.mark.parametrize("precision", ["mixed", "float64"])
def test_same_answer_in_any_batch(ensemble_run, precision):
    predictor = Predictor.from_run(ensemble_run)
    state = ModelState(ensemble_run, ServeSettings(precision=precision), predictor)
    rng = random.Random(0)
    pool = [" ".join(rng.choices(WORDS, k=rng.randint(0, 30))) for _ in range(40)]
    seen, differ, total = {}, 0, 0
    for _ in range(15):
        batch = rng.sample(pool, rng.randint(1, 30))
        for text, pred in zip(batch, state.predict(batch, attention=True), strict=True):
            total += 1
            answer = pred.to_dict()
            differ += text in seen and seen[text] != answer
            seen.setdefault(text, answer)
    assert differ == 0 and total > 100
