"""A transformer run behind the real server: predictions, batching and the model card."""

import json

import numpy as np
import pytest

from tiny_bert import tiny_bert
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

__all__ = ["tiny_bert"]

TEXTS = ["love this :)", "@bob worst day http://t.co/x 😂", "", "#happy tuesday meeting"]


@pytest.fixture(scope="module", params=["finetuned", "frozen"])
def transformer_run(request, tiny_bert, tmp_path_factory):
    from synthetic import synthetic_tweets, tiny_config, write_tsv

    root = tmp_path_factory.mktemp(f"tf-{request.param}")
    data = write_tsv(root / "train.tsv", synthetic_tweets(120, seed=4))
    overrides = {"embed.kind": "transformer", "embed.transformer": str(tiny_bert)}
    if request.param == "finetuned":
        overrides.update({"model.kind": "transformer", "model.pooling": "mean"})
    else:
        overrides.update({"model.pooling": "attention"})
    config = tiny_config(data, root / "run", **{**overrides, "train.epochs": 1})
    return train(config, log=lambda _: 0).run_dir


def test_server_scores_like_the_predictor(transformer_run, start_server):
    server = start_server(transformer_run)
    server.wait_ready()
    reply = server.predict(TEXTS)
    assert reply.status == 200, reply.body
    got = np.array([list(p["probs"].values()) for p in json.loads(reply.body)["predictions"]])
    expected = Predictor.from_run(transformer_run).predict_proba(TEXTS)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    card = json.loads(server.call("GET", "/v1/model").body)
    assert card["encoder"]["name"] == "bert" and card["encoder"]["layers"] == 3
    assert "config.json" in card["encoder"]["files"]
    assert "transformer" in card["summary"]
    assert "/tmp" not in json.dumps(card)  # no server paths
