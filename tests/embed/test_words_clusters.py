"""Twitter word clusters beside the word vectors (`WordEmbedder` cluster columns), and an RNN
run with clusters and tweet-level lexicon features: trains, reloads, predicts without the
input files, exports with parity."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from exported import assert_exports_with_parity, assert_predicts_without
from synthetic import synthetic_tweets, tiny_config, write_tsv
from tweetsent.config import RunConfig
from tweetsent.embed import WordEmbedder
from tweetsent.errors import ConfigError
from tweetsent.lexicons import FEATURES_PER_LEXICON, Lexicon
from tweetsent.models import build_model
from tweetsent.models.tables import CLUSTER_COLUMNS, vocab_tables
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.runs.rundir import load_run
from tweetsent.train import train

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")

IDS = np.array([[0, 0], [0, 0], [1, 2], [3, 2], [0, 0]])  # (V, P): rows 2 and 3 share id 2


def test_cluster_columns_are_the_sum_of_the_ids_embeddings():
    embedder = WordEmbedder(5, 3, clusters=IDS, num_clusters=3, cluster_dim=4).eval()
    assert embedder.output_dim == 3 + 4
    table = embedder.cluster_embedding.weight  # (4, 4), row 0 = no cluster, zeros
    assert not table[0].any()
    out = embedder(torch.tensor([[2, 3, 4, 0]]))  # (1, 4, 7)
    assert out.shape == (1, 4, 7)
    torch.testing.assert_close(out[0, 0, 3:], table[1] + table[2])
    torch.testing.assert_close(out[0, 1, 3:], table[3] + table[2])
    assert not out[0, 2, 3:].any() and not out[0, 3].any()  # no cluster; padding
    out.sum().backward()
    assert table.grad is not None and embedder.clusters.grad is None  # trained; a buffer


def test_cluster_ids_are_saved_and_a_rebuilt_embedder_fills_them():
    features = np.array([[0, 0], [0, 0], [0.5, 1], [-1, 1], [0, 0]], dtype=np.float32)
    embedder = WordEmbedder(5, 3, features=features, clusters=IDS, num_clusters=3, cluster_dim=2)
    assert embedder.output_dim == 3 + 2 + 2  # vector, lexicon columns, clusters
    assert {"features", "clusters", "cluster_embedding.weight"} <= set(embedder.state_dict())
    rebuilt = WordEmbedder(5, 3, num_features=2, cluster_width=2, num_clusters=3, cluster_dim=2)
    assert not rebuilt.clusters.any()
    rebuilt.load_state_dict(embedder.state_dict())
    tokens = torch.tensor([[2, 3, 1]])
    embedder.eval(), rebuilt.eval()
    assert torch.equal(rebuilt(tokens), embedder(tokens))
    assert torch.equal(embedder(tokens)[0, :, 3:5], torch.from_numpy(features[[2, 3, 1]]))


def test_cluster_ids_of_another_vocabulary_are_rejected():
    with pytest.raises(ValueError, match="cluster ids"):
        WordEmbedder(4, 3, clusters=IDS, num_clusters=3)
    plain = WordEmbedder(5, 3, clusters=IDS)  # no cluster ids in use: no columns
    assert plain.output_dim == 3 and plain.cluster_embedding is None


VOCAB = ["<pad>", "<unk>", "good", "bad", "not", "lol", "table"]
LEXICONS = [Lexicon("a", {"good": 1.0, "bad": -1.0}, "a", "score")]
CLUSTERS = {"good": "0001", "lol": "111100001", "table": "11110"}


@pytest.mark.parametrize("kind", ["rnn", "feedforward"])
def test_heads_read_tweet_features_beside_the_pooled_vector(kind):
    config = RunConfig().with_overrides(
        {
            "model.kind": kind,
            "model.tweet_features": True,
            "model.hidden_size": 4,
            "model.mlp_hidden": 4,
            "embed.dim": 6,
            "embed.cluster_dim": 3,
            "embed.lexicon": ["a.txt"],
            "embed.clusters": "c.txt",
        }
    )
    tables = vocab_tables(config, VOCAB, LEXICONS, CLUSTERS)
    torch.manual_seed(0)
    net = build_model(config, len(VOCAB), 3, tables=tables)
    assert net.embedder.output_dim == 6 + 2 + 3 and net.tweet_features.output_dim == 16
    first = next(m for m in net.head.modules() if isinstance(m, torch.nn.Linear))
    pooled = 8 if kind == "rnn" else net.embedder.output_dim  # BiLSTM(4) max pooling
    assert first.in_features == pooled + FEATURES_PER_LEXICON
    tokens = torch.tensor([[4, 2, 5, 6], [3, 0, 0, 0]])
    out = net(tokens, torch.tensor([4, 1]), torch.tensor([0, 2]))
    assert out.logits.shape == (2, 3)
    out.loss.backward()
    net.train()(tokens[:1], torch.tensor([4]))  # a training batch of one tweet
    torch.manual_seed(0)
    again = build_model(config, len(VOCAB), 3, num_clusters=tables.num_clusters)
    assert set(again.state_dict()) == set(net.state_dict())
    no_features = config.with_overrides({"model.tweet_features": False})
    assert build_model(no_features, len(VOCAB), 3, tables=tables).tweet_features is None


def test_tweet_features_with_elmo_or_without_lexicons_are_config_errors():
    elmo = {"embed.kind": "elmo", "embed.elmo_model": "small", "embed.elmo_concat": "random"}
    with pytest.raises(ConfigError, match="model.tweet_features: not available with ELMo"):
        RunConfig().with_overrides(
            {**elmo, "embed.lexicon": ["a.txt"], "model.tweet_features": True}
        )
    with pytest.raises(ConfigError, match="model.tweet_features: needs lexicons"):
        RunConfig().with_overrides({"model.tweet_features": True})


# ------------------------------------------------------------------------------------ a run

TEXTS = ["I love this :)", "worst day ever :(", "bus update", "", "superb not dreadful " * 9]


@pytest.fixture(scope="module")
def rnn_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("clusters")
    inputs = root / "inputs"
    inputs.mkdir()
    lexicon = inputs / "lex.tsv"
    lexicon.write_text("love\t3\nhate\t-3\nsuperb\t3\ndreadful\t-3\n#happy\t2\n", "utf-8")
    clusters = inputs / "clusters.txt"
    clusters.write_text(
        "00001\tlove\t9\n00001\tsuperb\t2\n00010\tgreat\t3\n11100\thate\t8\n11100\tdreadful\t1\n",
        "utf-8",
    )
    data = write_tsv(root / "train.tsv", synthetic_tweets(240, seed=1))
    valid = write_tsv(root / "valid.tsv", synthetic_tweets(60, seed=2), start_id=5000)
    overrides = {
        "data.valid": [str(valid)],
        "embed.lexicon": [str(lexicon)],
        "embed.clusters": str(clusters),
        "embed.cluster_dim": 4,
        "model.tweet_features": True,
    }
    result = train(tiny_config(data, root / "run", **overrides), log=lambda *a: None)
    return result, inputs, valid


def test_rnn_run_with_clusters_and_tweet_features(rnn_run):
    result, inputs, valid = rnn_run
    assert result.metrics["avgrec"] > 0.6
    run = result.run_dir
    meta = json.loads((run / "meta.json").read_text())["embeddings"]
    assert meta["clusters"]["ids"] == 3 + 3  # 3 paths and their 4-bit prefixes
    assert meta["clusters"]["vocabulary_covered"] == 5
    tokens = json.loads((run / "vocab.json").read_text())["tokens"]
    weights = load_file(str(run / "model.safetensors"))
    clusters = weights["embedder.clusters"]
    assert clusters.shape == (len(tokens), CLUSTER_COLUMNS)
    assert clusters[tokens.index("superb")].tolist() == clusters[tokens.index("love")].tolist()
    assert weights["embedder.cluster_embedding.weight"].shape == (6 + 1, 4)
    assert weights["tweet_features.features.scores"].shape == (len(tokens), 1)
    assert "tweet_features.norm.running_mean" in weights
    card = (run / "MODEL_CARD.md").read_text()
    assert "lexicon scores (lex.tsv)" in card and "word clusters (clusters.txt)" in card
    again = evaluate(Predictor.from_run(run), [str(valid)]).metrics
    assert again["avgrec"] == pytest.approx(result.metrics["avgrec"])


def test_rnn_run_reloads_and_predicts_without_its_input_files(rnn_run, tmp_path):
    result, inputs, _ = rnn_run
    assert load_run(result.run_dir).model.tweet_features is not None
    assert_predicts_without(result.run_dir, inputs, TEXTS, tmp_path)


def test_rnn_run_with_clusters_and_tweet_features_exports_with_parity(rnn_run, tmp_path):
    assert_exports_with_parity(rnn_run[0].run_dir, TEXTS, tmp_path)
