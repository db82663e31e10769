"""The sparse n-gram classifier: the model contract, padding invariance, rebuilding a saved
model, and a run (`model.kind = "ngram"` with lexicon and cluster files) that trains, reloads,
predicts without those files, serves and exports with parity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from exported import assert_exports_with_parity, assert_predicts_without
from synthetic import synthetic_tweets, tiny_config, write_tsv
from tweetsent.config import RunConfig
from tweetsent.errors import ConfigError
from tweetsent.lexicons import Lexicon
from tweetsent.models import build_model
from tweetsent.models.ngram import NGramClassifier
from tweetsent.models.tables import CHAR_WIDTH, CLUSTER_COLUMNS, vocab_tables
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.runs.rundir import load_run
from tweetsent.train import train

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")

VOCAB = ["<pad>", "<unk>", "good", "bad", "not", "<hashtag>", "win", ",", "lol", "table", "<url>"]
LEXICONS = [
    Lexicon("a", {"good": 1.0, "bad": -1.0, "#win": 0.5}, "a.txt", "score"),
    Lexicon("b", {"lol": 0.5, "not": -0.25}, "b.txt", "score"),
]
CLUSTERS = {"good": "0001", "lol": "11110", "table": "101010101"}
LABELS = 3


def _config(**model) -> RunConfig:
    fields = {"model.kind": "ngram", "model.ngram_dim": 8, "model.ngram_buckets": 257}
    fields |= {f"model.{k}": v for k, v in model.items()}
    fields |= {"embed.lexicon": ["a.txt", "b.txt"], "embed.clusters": "clusters.txt"}
    return RunConfig().with_overrides(fields)


def _make(config: RunConfig, seed: int = 0, **kwargs) -> torch.nn.Module:
    torch.manual_seed(seed)
    tables = vocab_tables(config, VOCAB, LEXICONS, CLUSTERS)
    return build_model(config, len(VOCAB), LABELS, tables=tables, **kwargs)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([3, 8, 1, 5, 0])
    tokens = torch.randint(1, len(VOCAB), (5, 8), generator=torch.Generator().manual_seed(1))
    tokens[torch.arange(8)[None, :] >= lengths[:, None]] = 0
    return tokens, lengths


@pytest.mark.parametrize("hidden", [0, 6])
def test_output_contract(hidden):
    net = _make(_config(ngram_hidden=hidden, output_dropout=0.2))
    assert isinstance(net, NGramClassifier) and not net.has_attention
    assert net.chars.shape == (len(VOCAB), CHAR_WIDTH) and net.lexicon.num_lexicons == 2
    assert net.clusters.shape == (len(VOCAB), CLUSTER_COLUMNS)
    tokens, lengths = _batch()
    out = net(tokens, lengths)
    assert out.logits.shape == (5, LABELS) and out.loss is None and out.attention is None
    out = net(tokens, lengths, torch.tensor([0, 1, 2, 1, 0]))
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    net(tokens[:1], lengths[:1], torch.tensor([2])).loss.backward()  # a batch of one trains


@pytest.mark.parametrize(
    "model", [{}, {"ngram_hidden": 4}, {"ngram_chars": False}], ids=["linear", "hidden", "words"]
)
def test_padding_does_not_change_a_tweets_logits(model):
    net = _make(_config(**model)).eval()
    tokens, lengths = _batch()
    wider = torch.cat([tokens, torch.zeros(5, 3, dtype=torch.long)], dim=1)
    with torch.no_grad():
        together = net(wider, lengths).logits
        for row in range(5):
            n = max(int(lengths[row]), 1)
            alone = net(tokens[row : row + 1, :n], lengths[row : row + 1]).logits
            torch.testing.assert_close(alone[0], together[row], rtol=0, atol=1e-6)


def test_features_reach_the_logits():
    """Each input (unigrams, negation rows, bigrams, char n-grams, clusters, lexicon) changes
    the output: the model is not silently ignoring one."""
    net = _make(_config()).eval()
    ids = {token: i for i, token in enumerate(VOCAB)}

    def logits(*words):
        tokens = torch.tensor([[ids[w] for w in words]])
        return net(tokens, torch.tensor([len(words)])).logits

    with torch.no_grad():
        base = logits("good", "table")
        assert not torch.equal(base, logits("table", "good"))  # bigrams: order matters
        before = logits("not", "good")
        net.unigrams.weight[len(VOCAB) + ids["good"]] += 1.0  # good's negated row
        assert not torch.equal(before, logits("not", "good"))
        assert torch.equal(base, logits("good", "table"))  # affirmative rows untouched
        net.cluster_bag.weight[net.clusters[ids["table"], 0]] += 1.0
        assert not torch.equal(base, logits("good", "table"))
        base = logits("good", "table")
        net.char_grams.weight[net.chars[ids["table"], 0]] += 1.0
        assert not torch.equal(base, logits("good", "table"))


def test_without_lexicons_or_clusters_or_chars():
    config = RunConfig().with_overrides({"model.kind": "ngram", "model.ngram_chars": False})
    net = build_model(config, len(VOCAB), 2)
    assert net.lexicon is None and net.cluster_bag is None and net.char_grams is None
    assert net.chars is None and net.clusters is None
    assert set(net.state_dict()) == {
        "unigrams.weight",
        "bigrams.weight",
        "head.0.weight",
        "head.0.bias",
    }
    tokens, lengths = _batch()
    assert net(tokens, lengths).logits.shape == (5, 2)


def test_save_rebuild_load_gives_identical_logits(tmp_path: Path):
    config = _config(ngram_hidden=4)
    net = _make(config, class_weights=[1.0, 2.0, 0.5])
    net.train()
    tokens, lengths = _batch()
    net(tokens, lengths)  # moves the batch-norm running statistics
    net.eval()
    state = net.state_dict()
    assert "class_weights" not in state
    for key in ("chars", "clusters", "lexicon.scores", "lexicon.hashtag_id", "lexicon.negator"):
        assert key in state, key
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    tables = vocab_tables(config, VOCAB, LEXICONS, CLUSTERS)
    torch.manual_seed(99)  # no tables: zeros, filled by the weights
    rebuilt = build_model(config, len(VOCAB), LABELS, num_clusters=tables.num_clusters).eval()
    assert not rebuilt.chars.any() and not rebuilt.lexicon.present.any()
    rebuilt.load_state_dict(load_file(str(tmp_path / "model.safetensors")), strict=True)
    with torch.no_grad():
        assert torch.equal(net(tokens, lengths).logits, rebuilt(tokens, lengths).logits)


def test_ngram_with_elmo_is_a_config_error():
    with pytest.raises(ConfigError, match="ngram"):
        RunConfig().with_overrides(
            {"model.kind": "ngram", "embed.kind": "elmo", "embed.elmo_model": "small"}
        )


# ------------------------------------------------------------------------------------ a run

SCORES = "love\t3\nhate\t-3\ngreat\t2\nawful\t-2.5\n:)\t2\n:(\t-2\nsuperb\t3\ndreadful\t-3\n"
POLARITY = "good,positive\nbad,negative\nhappy,positive\nsad,negative\nmeeting,neutral\n"
CLUSTER_FILE = (
    "0000\tlove\t10\n0000\tsuperb\t3\n0001\tgreat\t5\n1110\thate\t9\n1110\tdreadful\t2\n"
    "1111\tawful\t4\n010101\tbus\t7\n010100\treport\t2\n"
)
TEXTS = ["I love this :)", "worst day ever :(", "bus update", "", "superb not dreadful " * 9]


@pytest.fixture(scope="module")
def ngram_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ngram")
    inputs = root / "inputs"
    inputs.mkdir()
    (inputs / "scores.tsv").write_text(SCORES, encoding="utf-8")
    (inputs / "polarity.csv").write_text(POLARITY, encoding="utf-8")
    (inputs / "clusters.txt").write_text(CLUSTER_FILE, encoding="utf-8")
    data = write_tsv(root / "train.tsv", synthetic_tweets(241, seed=1))  # a last batch of 1
    valid = write_tsv(root / "valid.tsv", synthetic_tweets(60, seed=2), start_id=5000)
    config = tiny_config(
        data,
        root / "run",
        **{
            "data.valid": [str(valid)],
            # a forced format too: its sha256 is still that of the file read
            "embed.lexicon": [str(inputs / "scores.tsv"), f"polarity:{inputs / 'polarity.csv'}"],
            "embed.clusters": str(inputs / "clusters.txt"),
            "model.kind": "ngram",
            "model.ngram_dim": 8,
            "model.ngram_buckets": 4096,
            "train.lr": 0.05,
            "train.epochs": 5,
        },
    )
    result = train(config, log=lambda *a: None)
    return result, inputs, valid


def test_ngram_run_trains_and_records_its_inputs(ngram_run):
    result, inputs, valid = ngram_run
    assert result.metrics["avgrec"] > 0.6
    run = result.run_dir
    meta = json.loads((run / "meta.json").read_text())["embeddings"]
    assert [row["name"] for row in meta["lexicons"]] == ["scores", "polarity"]
    assert [row["format"] for row in meta["lexicons"]] == ["score", "polarity"]
    assert all(len(row["sha256"]) == 64 for row in meta["lexicons"])
    clusters = meta["clusters"]
    assert clusters["words"] == 8 and clusters["path"] == str(inputs / "clusters.txt")
    tokens = json.loads((run / "vocab.json").read_text())["tokens"]
    assert {"superb", "dreadful"} <= set(tokens)  # lexicon words join the vocabulary
    assert clusters["vocabulary_covered"] == 8  # every clustered word is in the vocabulary
    assert clusters["ids"] == 6 + 1  # 6 paths; bus and report share the 4-bit prefix 0101
    weights = load_file(str(run / "model.safetensors"))
    assert weights["lexicon.present"].shape == (len(tokens), 2)
    assert weights["lexicon.scores"][tokens.index("superb")].tolist() == [1.0, 0.0]
    assert "n-gram model" in (run / "MODEL_CARD.md").read_text()
    again = evaluate(Predictor.from_run(run), [str(valid)]).metrics
    assert again["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert again["avgrec"] == pytest.approx(result.metrics["avgrec"])


def test_saved_ngram_run_reloads_identically(ngram_run, tmp_path):
    run = load_run(ngram_run[0].run_dir)
    model = run.model
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "again.safetensors"))
    torch.manual_seed(5)
    ids = json.loads((run.path / "meta.json").read_text())["embeddings"]["clusters"]["ids"]
    rebuilt = build_model(run.config, len(run.vocab), len(run.labels), num_clusters=ids).eval()
    rebuilt.load_state_dict(load_file(str(tmp_path / "again.safetensors")), strict=True)
    predictor = Predictor.from_run(run.path)
    _, data = predictor.encode(TEXTS)
    from tweetsent.data.batching import pad_batch

    tokens, lengths, _ = pad_batch(data, np.arange(len(TEXTS)))
    with torch.no_grad():
        assert torch.equal(model(tokens, lengths).logits, rebuilt(tokens, lengths).logits)
    first = predictor.predict_proba(TEXTS)
    np.testing.assert_array_equal(first, Predictor.from_run(run.path).predict_proba(TEXTS))


def test_prediction_needs_no_lexicon_or_cluster_file(ngram_run, tmp_path):
    result, inputs, _ = ngram_run
    assert_predicts_without(result.run_dir, inputs, TEXTS, tmp_path)


def test_ngram_run_exports_with_parity(ngram_run, tmp_path):
    assert_exports_with_parity(ngram_run[0].run_dir, TEXTS, tmp_path)


@pytest.mark.parametrize("precision", ["mixed", "float64"])
def test_served_ngram_run_answers_the_same_in_any_batch(ngram_run, precision):
    from tweetsent.serve.app import ModelState
    from tweetsent.serve.settings import ServeSettings

    run_dir = ngram_run[0].run_dir
    predictor = Predictor.from_run(run_dir)
    state = ModelState(run_dir, ServeSettings(precision=precision), predictor)
    assert "n-gram model" in state.card["summary"] and "word clusters" in state.card["summary"]
    card = json.dumps(state.card)
    assert str(ngram_run[1]) not in card and "scores.tsv" in card  # no server paths
    alone = [state.predict([text], attention=False)[0].to_dict() for text in TEXTS]
    together = [pred.to_dict() for pred in state.predict(TEXTS, attention=False)]
    assert alone == together
    local = predictor.predict(TEXTS)
    for pred, ref in zip(together, local, strict=True):
        assert pred["label"] == ref.label
