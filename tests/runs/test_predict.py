"""Predictor: length-grouped batches, the id encoder and forked workers change nothing but speed.

Every fast path is checked against the plain one: each text predicted alone, tokens encoded
through `Normalizer.tokenize` + `Vocabulary.encode`, everything in one process.
"""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

import tweetsent.runs.inference as inference
import tweetsent.runs.predict as predict_module
import tweetsent.runs.torch_scorer as torch_scorer
from synthetic import synthetic_tweets, tiny_config, write_tsv
from tweetsent.runs.inference import IdEncoder
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

TRICKY = [
    "",  # empty
    "   \t ",  # only whitespace: empty after cleaning
    "love love love this :) :) #happy http://t.co/x @friend",
    "the worst worst day :( sooooo sad!!!!",
    "UNSEEN wordz nobody knows &amp; &lt;3",
    "meeting tuesday",
    "great",  # one token
    " ".join(["great", "awful"] * 50),  # longer than max_tokens
    "café “quoted” 😂😂😂 👍🏽",
    "meeting tuesday",  # a duplicate
]


def corpus(n: int, seed: int = 0) -> list[str]:
    """Texts of many lengths (1..70 words) with duplicates, empties and unknown words."""
    rng = np.random.default_rng(seed)
    words = ["love", "hate", "meeting", "tuesday", "great", "awful", "the", "my", "phone"]
    words += [":)", ":(", "#win", "@bob", "zzzq"]
    texts = [" ".join(rng.choice(words, rng.integers(1, 70)).tolist()) for _ in range(n)]
    for i in range(0, n, 17):
        texts[i] = TRICKY[i % len(TRICKY)]
    return texts


@pytest.fixture(scope="module", params=["max", "attention"])
def predictor(request, tmp_path_factory) -> Predictor:
    """A tiny BiLSTM run (one epoch, 16-d), read back in small batches, in-process."""
    root = tmp_path_factory.mktemp(f"predict-{request.param}")
    data = write_tsv(root / "train.tsv", synthetic_tweets(120, seed=3), start_id=0)
    overrides = {"model.pooling": request.param, "text.max_tokens": 40, "train.epochs": 1}
    config = tiny_config(data, root / "run", **overrides, **{"train.lr": 0.002})
    train(config, log=lambda _: None)
    return Predictor.from_run(root / "run", batch_size=8, workers=1)


def test_grouped_batches_match_one_text_at_a_time(predictor: Predictor) -> None:
    texts = corpus(60) + TRICKY
    together = predictor.predict_proba(texts)
    alone = np.concatenate([predictor.predict_proba([t]) for t in texts])
    assert together.shape == (len(texts), len(predictor.labels))
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)


def test_predict_objects_agree_with_arrays_and_keep_input_order(predictor: Predictor) -> None:
    texts = TRICKY + corpus(30, seed=1)
    preds = predictor.predict(texts)
    arrays = predictor.predict_arrays(texts)
    assert [p.text for p in preds] == texts
    assert [p.label for p in preds] == arrays.labels == predictor.predict_labels(texts)
    for pred, row in zip(preds, arrays.probs, strict=True):
        assert list(pred.probs) == list(predictor.labels)
        assert list(pred.probs.values()) == [round(float(p), 6) for p in row]
    assert [p.empty for p in preds] == arrays.empty.tolist()
    assert preds[0].empty and preds[1].empty and not preds[2].empty
    assert predictor.predict([]) == [] and predictor.predict_proba([]).shape == (0, 3)


def test_id_encoder_equals_tokenize_then_encode(predictor: Predictor) -> None:
    texts = TRICKY + corpus(40, seed=2)
    ids, offsets = IdEncoder(predictor.normalizer, predictor.run.vocab).encode(texts)
    vocab, normalizer = predictor.run.vocab, predictor.normalizer
    expected = [vocab.encode(normalizer.tokenize(t)) for t in texts]
    got = [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    assert got == expected
    assert max(map(len, got)) == 40  # the max_tokens cap


@pytest.fixture
def forking(predictor, monkeypatch) -> Predictor:
    """The predictor with two workers, forking for 10 texts or more, in slices of 7+ texts."""
    monkeypatch.setattr(torch_scorer, "PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(inference, "SLICE_ROWS", 7)
    monkeypatch.setattr(predictor.scorer, "workers", 2)
    return predictor


def test_forked_workers_give_the_same_predictions(forking, monkeypatch) -> None:
    texts = corpus(90, seed=4)
    texts += texts[:25]  # repeated texts are scored once
    serial = forking.scorer.score(forking._inputs(texts))  # in this process
    calls = []
    run = forking.scorer.score  # runs the model
    monkeypatch.setattr(forking.scorer, "score", lambda part: calls.append(part) or run(part))
    forked = forking.predict_arrays(texts)
    streamed = list(forking.predict_stream(texts, chunk=40))
    assert calls == []  # the model ran in the worker processes only, never in this one
    np.testing.assert_allclose(forked.probs, serial[0], rtol=0, atol=1e-6)
    assert forked.empty.tolist() == (serial[1] == 0).tolist()
    assert [p.text for p in streamed] == texts
    assert [p.label for p in streamed] == forked.labels
    preds = forking.predict(texts)
    assert [p.text for p in preds] == texts and [p.label for p in preds] == forked.labels
    assert preds[90:] == preds[:25] and len({id(p) for p in preds}) == len(preds)  # copies
    assert len({id(p.probs) for p in preds}) == len(preds)


def test_a_worker_that_dies_is_an_error_not_a_hang(forking, monkeypatch) -> None:
    parent = os.getpid()

    def die(data):
        assert os.getpid() != parent, "the model ran in the test process"
        os._exit(3)

    monkeypatch.setattr(forking.scorer, "score", die)
    with pytest.raises(BrokenProcessPool):
        forking.predict_arrays(corpus(30, seed=6))


def test_attention_predictions_keep_their_weights(predictor: Predictor) -> None:
    if not predictor.has_attention:
        pytest.skip("max pooling: no attention weights")
    texts = ["love this :)", "", "meeting tuesday at the office"]
    preds = predictor.predict(texts, attention=True)
    plain = predictor.predict(texts)
    assert [p.label for p in preds] == [p.label for p in plain]
    for pred in preds:
        assert len(pred.attention) == len(pred.tokens)
        assert sum(pred.attention) == pytest.approx(1.0, abs=1e-5)


def test_round6_is_pythons_round_for_float32() -> None:
    rng = np.random.default_rng(5)
    ties = np.array([0.0078125, 0.5, 1 / 1024, 3 / 128, 0.0, 1.0], dtype=np.float32)  # k + 1/2
    probs = np.concatenate([rng.random(30_000, dtype=np.float32), ties]).reshape(-1, 3)
    expected = [[round(float(p), 6) for p in row] for row in probs]
    assert predict_module.round6(probs) == expected
    assert predict_module.round6(probs.astype(np.float64)) == expected
