"""Transformer runs end to end on a tiny random BERT: frozen features (cached once) under the
existing heads, fine-tuning with its schedule, resume, self-contained run directories."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from synthetic import TINY_TRAIN_FLAGS
from tweetsent.cli import main
from tweetsent.errors import TweetsentError
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.inference import CONTEXTUAL_SLICE_ROWS
from tweetsent.runs.predict import Predictor
from tweetsent.train import train
from tweetsent.train.loop import param_groups, scheduled_lr

TEXTS = ["love this :)", "@bob worst day http://t.co/x 😂", "", "#happy tuesday meeting"]


def frozen(model, **more):
    return {"embed.kind": "transformer", "embed.transformer": str(model), **more}


def finetuned(model, **more):
    return frozen(
        model,
        **{
            "model.kind": "transformer",
            "model.pooling": "mean",
            "train.optimizer": "adamw",
            "train.lr": 1e-2,
            "train.encoder_lr": 5e-3,
            "train.weight_decay": 0.01,
            "train.layer_decay": 0.8,
            "train.schedule": "linear",
            "train.warmup": 0.1,
            **more,
        },
    )


@pytest.fixture
def bert(tiny_bert, tmp_path):
    """A private copy of the tiny model (tests delete or damage it)."""
    return shutil.copytree(tiny_bert, tmp_path / "bert")


def test_frozen_features_are_cached_once(bert, tiny_tsv, tmp_path, make_config):
    logs: list[str] = []
    config = make_config(tiny_tsv, tmp_path / "a", **frozen(bert, **{"train.epochs": 2}))
    first = train(config, log=logs.append)
    assert any("240 tweets computed" in line for line in logs)  # train + valid, once
    logs.clear()
    config = make_config(tiny_tsv, tmp_path / "b", **frozen(bert, **{"train.epochs": 2}))
    second = train(config, log=logs.append)
    assert any("0 tweets computed" in line for line in logs)  # the second run reads the cache
    assert second.history[-1]["valid_loss"] == pytest.approx(first.history[-1]["valid_loss"])
    meta = json.loads((first.run_dir / "meta.json").read_text())
    assert meta["transformer"]["cache"] and meta["transformer"]["layers"] == 3
    saved = json.loads((first.run_dir / "config.json").read_text())
    assert saved["embed"]["transformer_emoji"] == "words"  # "auto" resolved and recorded


def test_cached_and_on_the_fly_features_train_alike(bert, tiny_tsv, tmp_path, make_config):
    """Features from the cache and computed in every batch are the same float16 numbers."""
    runs = []
    for name, cache in (("cached", True), ("live", False)):
        overrides = frozen(bert, **{"train.epochs": 2, "embed.elmo_cache": cache})
        runs.append(train(make_config(tiny_tsv, tmp_path / name, **overrides), log=lambda _: 0))
    a, b = (r.history for r in runs)
    assert [r["valid_loss"] for r in a] == pytest.approx([r["valid_loss"] for r in b], abs=1e-3)


@pytest.mark.parametrize("head", ["rnn-attention", "feedforward", "cnn"])
def test_frozen_heads_predict_from_their_own_copy(head, bert, tiny_tsv, tmp_path, make_config):
    """The run keeps the encoder's files: it predicts with the model folder gone."""
    kind, _, pooling = head.partition("-")
    overrides = frozen(bert, **{"model.kind": kind, "train.epochs": 1})
    if pooling:
        overrides["model.pooling"] = pooling
    if kind == "cnn":  # the mix projected to 8 columns before the head
        overrides["embed.transformer_proj"] = 8
    run = train(make_config(tiny_tsv, tmp_path / "run", **overrides), log=lambda _: 0).run_dir
    before = Predictor.from_run(run).predict_proba(TEXTS)
    shutil.rmtree(bert)
    moved = shutil.copytree(run, tmp_path / "moved")
    after = Predictor.from_run(moved).predict_proba(TEXTS)
    np.testing.assert_allclose(after, before, atol=1e-6)
    assert np.allclose(after.sum(1), 1.0)
    if kind == "cnn":
        from tweetsent.runs.rundir import load_run

        embedder = load_run(moved).model.embedder
        assert embedder.output_dim == 8 and tuple(embedder.proj.weight.shape) == (8, 32)
    if pooling == "attention":
        explained = Predictor.from_run(moved).predict(TEXTS[:1], attention=True)[0]
        assert explained.tokens == ["love", "this", ":)"] and len(explained.attention) == 3


def test_finetune_learns_and_reloads(bert, tiny_tsv, tiny_valid_tsv, tmp_path, make_config):
    overrides = finetuned(bert, **{"train.epochs": 3, "data.valid": [str(tiny_valid_tsv)]})
    result = train(make_config(tiny_tsv, tmp_path / "ft", **overrides), log=lambda _: 0)
    run = result.run_dir
    assert not (run / "encoder" / "model.safetensors").exists()  # its weights: model.safetensors
    assert result.metrics["avgrec"] > 0.5  # the learnable toy task (chance: 1/3)
    again = evaluate(Predictor.from_run(run), [str(tiny_valid_tsv)])
    assert again.metrics["avgrec"] == pytest.approx(result.metrics["avgrec"])
    shutil.rmtree(bert)
    assert Predictor.from_run(run).predict_labels(TEXTS)  # no source folder needed
    # `tweetsent predict` scores it in a helper process, in slices small enough for both threads
    code = (
        "import sys; from tweetsent.runs.backends import open_scorer; "
        "_, s = open_scorer(sys.argv[1], background=True); "
        "print(type(s).__name__, s.slice_rows); s.close()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(run)], capture_output=True, text=True, timeout=300
    )
    assert done.stdout.split() == ["HelperScorer", str(CONTEXTUAL_SLICE_ROWS)], done.stderr


def test_finetune_reads_tweet_features_beside_the_pooled_vector(
    bert, tiny_tsv, tiny_valid_tsv, tmp_path, make_config
):
    overrides = finetuned(
        bert,
        **{
            "train.epochs": 2,
            "data.valid": [str(tiny_valid_tsv)],
            "embed.lexicon": ["vader"],
            "model.tweet_features": True,
        },
    )
    result = train(make_config(tiny_tsv, tmp_path / "lex", **overrides), log=lambda _: 0)
    predictor = Predictor.from_run(result.run_dir)
    model = predictor.model
    assert model.tweet_features is not None and model.tweet_features.output_dim == 16
    assert model.head[1].in_features == model.embedder.output_dim + 16
    again = evaluate(predictor, [str(tiny_valid_tsv)])
    assert again.metrics["avgrec"] == pytest.approx(result.metrics["avgrec"])
    shutil.rmtree(bert)  # the lexicon scores travel in the weights, the encoder in the run
    scored = Predictor.from_run(result.run_dir).predict_proba(["love it", "awful terrible"])
    with torch.no_grad():  # the head reads the features: without VADER's scores, other numbers
        model.tweet_features.features.scores.zero_()
    assert not np.allclose(predictor.predict_proba(["love it", "awful terrible"]), scored)
    from tweetsent.runs.export import export_run

    with pytest.raises(TweetsentError, match="reads tweet features"):
        export_run(result.run_dir, "onnx")
    assert not (result.run_dir / "model.onnx").exists()


def test_transformer_lexicons_need_tweet_features(bert, tiny_tsv, tmp_path, make_config):
    from tweetsent.errors import ConfigError

    with pytest.raises(ConfigError, match="set model.tweet_features = true"):
        make_config(tiny_tsv, tmp_path / "x", **finetuned(bert, **{"embed.lexicon": ["vader"]}))


def test_a_finished_transformer_member_counts_as_complete(bert, tiny_tsv, tmp_path, make_config):
    from tweetsent.train.recipe import _complete

    config = make_config(tiny_tsv, tmp_path / "r", **frozen(bert, **{"train.epochs": 1}))
    assert config.embed.transformer_emoji == "auto"
    run = train(config, log=lambda _: 0).run_dir
    saved = json.loads((run / "config.json").read_text())["embed"]["transformer_emoji"]
    assert saved in ("words", "keep")  # resolved by training
    assert _complete(run, config)  # a recipe run again reuses it instead of training it again
    other = config.with_overrides(
        {"embed.transformer_emoji": "keep" if saved == "words" else "words"}
    )
    assert not _complete(run, other)


class Killed(Exception):
    pass


def test_finetune_resume_matches_an_uninterrupted_run(bert, tiny_tsv, tmp_path, make_config):
    overrides = finetuned(bert, **{"train.epochs": 2, "train.accumulate": 2})
    whole = train(make_config(tiny_tsv, tmp_path / "whole", **overrides), log=lambda _: 0)

    def kill(row):
        raise Killed

    config = make_config(tiny_tsv, tmp_path / "cut", **overrides)
    with pytest.raises(Killed):
        train(config, log=lambda _: 0, on_epoch=kill)
    resumed = train(config, resume=True, log=lambda _: 0)
    assert [r["valid_loss"] for r in resumed.history] == pytest.approx(
        [r["valid_loss"] for r in whole.history], abs=1e-5
    )
    a = Predictor.from_run(whole.run_dir).predict_proba(TEXTS)
    b = Predictor.from_run(resumed.run_dir).predict_proba(TEXTS)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_damaged_encoder_file_is_one_line(bert, tiny_tsv, tmp_path, make_config, capsys):
    overrides = frozen(bert, **{"train.epochs": 1})
    run = train(make_config(tiny_tsv, tmp_path / "run", **overrides), log=lambda _: 0).run_dir
    with open(run / "encoder" / "model.safetensors", "r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(TweetsentError, match="differs from the one it was trained with"):
        Predictor.from_run(run)
    capsys.readouterr()
    assert main(["predict", str(run), "good day"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "encoder" in err
    (run / "encoder" / "vocab.txt").unlink()
    with pytest.raises(TweetsentError, match="encoder file is missing"):
        Predictor.from_run(run)


def test_layer_decay_groups_and_schedule(bert, tiny_tsv, tmp_path, make_config):
    from tweetsent.models import build_model

    config = make_config(tiny_tsv, tmp_path / "x", **finetuned(bert))
    model = build_model(config, 10, 3)
    groups = param_groups(model, config.train)
    names = {id(p): n for n, p in model.named_parameters()}
    rate = {names[id(p)]: g["lr"] for g in groups for p in g["params"]}
    assert rate["head.1.weight"] == pytest.approx(1e-2)
    assert rate["embedder.model.encoder.layer.1.output.dense.weight"] == pytest.approx(5e-3)
    assert rate["embedder.model.encoder.layer.0.output.dense.weight"] == pytest.approx(4e-3)
    assert rate["embedder.model.embeddings.word_embeddings.weight"] == pytest.approx(3.2e-3)
    no_decay = {names[id(p)] for g in groups if g["weight_decay"] == 0 for p in g["params"]}
    assert "embedder.model.embeddings.LayerNorm.weight" in no_decay
    assert "head.1.bias" in no_decay and "head.1.weight" not in no_decay
    tc = config.train  # warm-up 10% of 20 steps, then linear decay to 0
    factors = [scheduled_lr(step, 20, tc) for step in range(20)]
    assert factors[0] == pytest.approx(0.5) and factors[1] == pytest.approx(1.0)
    assert factors[2] == 1.0 and factors[-1] == pytest.approx(1 / 18)
    assert all(np.diff(factors[2:]) < 0)


def test_cli_train_predict_evaluate(bert, tiny_tsv, tmp_path, capsys):
    out = tmp_path / "run"
    flags = [*TINY_TRAIN_FLAGS, "--epochs", "1", "--batch-size", "16"]
    flags += ["--embed", "transformer", "--transformer", str(bert), "--model", "transformer"]
    flags += ["--pooling", "mean", "--encoder-lr", "1e-3", "--warmup", "0.1", "--accumulate", "2"]
    assert main(["train", "--data", str(tiny_tsv), "--out", str(out), *flags]) == 0
    assert main(["predict", str(out), "love it", "hate it"]) == 0
    assert main(["evaluate", str(out), "--data", str(tiny_tsv)]) == 0
    capsys.readouterr()
    hub = ["--embed", "transformer", "--transformer", "someone/some-model"]
    code = main(["train", "--data", str(tiny_tsv), "--out", str(tmp_path / "x"), *hub])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "never downloads" in err


NO_TRANSFORMERS = """
import json, sys
import tweetsent
from tweetsent.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "transformers": "transformers" in sys.modules}), file=sys.stderr)
"""


def test_other_runs_never_import_transformers(tiny_tsv, tmp_path, make_config):
    """`import tweetsent` and a word-vector run's commands leave `transformers` unimported."""
    run = train(make_config(tiny_tsv, tmp_path / "run", **{"train.epochs": 1}), log=lambda _: 0)
    for argv in (
        ["predict", str(run.run_dir), "good day", "--backend", "torch"],
        ["evaluate", str(run.run_dir), "--data", str(tiny_tsv)],
    ):
        done = subprocess.run(
            [sys.executable, "-c", NO_TRANSFORMERS, *argv],
            capture_output=True,
            text=True,
            timeout=300,
        )
        report = json.loads(done.stderr.strip().splitlines()[-1])
        assert report == {"code": 0, "transformers": False}, done.stderr


def test_model_output_does_not_depend_on_its_batch(bert, tiny_tsv, tmp_path, make_config):
    overrides = finetuned(bert, **{"train.epochs": 1})
    run = train(make_config(tiny_tsv, tmp_path / "ft", **overrides), log=lambda _: 0).run_dir
    predictor = Predictor.from_run(run)
    together = predictor.predict_proba(TEXTS)
    alone = np.concatenate([predictor.predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert torch.get_num_threads() >= 1


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_finetuned_run_exports_with_parity(fmt, bert, tiny_tsv, tmp_path, make_config):
    pytest.importorskip("onnx")
    from tweetsent.embed.transformer import transformer_source_for_run
    from tweetsent.runs.export import export_run

    overrides = finetuned(bert, **{"train.epochs": 1})
    run = train(make_config(tiny_tsv, tmp_path / "ft", **overrides), log=lambda _: 0).run_dir
    result = export_run(run, fmt)
    assert result.max_diff <= 1e-5 and result.path.is_file()
    sidecar = json.loads(result.path.with_name(result.path.name + ".json").read_text())
    assert set(sidecar["inputs"]) == {"input_ids", "attention_mask"}
    if fmt == "onnx":  # a consumer: the run's tokenizer + ONNX Runtime = the predictor
        import onnxruntime

        from tweetsent.config import RunConfig
        from tweetsent.text import Normalizer

        config = RunConfig.from_dict(json.loads((run / "config.json").read_text()))
        meta = json.loads((run / "meta.json").read_text())
        encoder = transformer_source_for_run(run, meta["transformer"]).load()
        norm = Normalizer(config.text)
        ids, mask, _ = encoder.encode([norm.contextual(t, config.embed)[1] for t in TEXTS])
        session = onnxruntime.InferenceSession(str(result.path))
        probs = session.run(["probs"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
        expected = Predictor.from_run(run).predict_proba(TEXTS)
        np.testing.assert_allclose(probs[0], expected, atol=1e-5)


def test_frozen_run_export_is_refused_in_one_line(bert, tiny_tsv, tmp_path, make_config):
    from tweetsent.runs.export import export_run

    run = train(make_config(tiny_tsv, tmp_path / "r", **frozen(bert)), log=lambda _: 0).run_dir
    with pytest.raises(TweetsentError, match="TransformerEmbedder embeddings are not supported"):
        export_run(run, "onnx")


def test_cache_command_fills_what_training_reads(bert, tiny_tsv, tmp_path, capsys):
    cache = tmp_path / "cache"
    argv = ["transformer", "cache", "--data", str(tiny_tsv), "--transformer", str(bert)]
    argv += ["--cache-dir", str(cache), "--no-progress", "--threads", "1"]
    assert main(argv) == 0
    assert "computed 240 tweets" in capsys.readouterr().out
    assert main(argv) == 0  # everything cached: nothing to compute
    assert "computed 0 tweets" in capsys.readouterr().out
    out = tmp_path / "run"
    flags = [*TINY_TRAIN_FLAGS, "--epochs", "1", "--embed", "transformer", "--transformer"]
    flags += [str(bert), "--elmo-cache-dir", str(cache)]
    assert main(["train", "--data", str(tiny_tsv), "--out", str(out), *flags]) == 0
    assert "transformer: 0 tweets computed" in capsys.readouterr().out
    assert main(["transformer", "info", str(bert)]) == 0
    assert "emoji (embed.transformer_emoji = auto): words" in capsys.readouterr().out


def test_ensemble_of_a_transformer_and_a_word_vector_run(bert, tiny_tsv, tmp_path, make_config):
    from tweetsent.runs.ensemble import build_ensemble

    a = train(make_config(tiny_tsv, tmp_path / "ft", **finetuned(bert)), log=lambda _: 0)
    b = train(make_config(tiny_tsv, tmp_path / "rnn"), log=lambda _: 0)
    out = tmp_path / "both"
    build_ensemble([a.run_dir, b.run_dir], out, weights="fit")
    shutil.rmtree(bert)  # the members keep their own encoder copy
    probs = Predictor.from_run(out).predict_proba(TEXTS)
    members = [Predictor.from_run(r.run_dir).predict_proba(TEXTS) for r in (a, b)]
    weights = json.loads((out / "meta.json").read_text())["ensemble"]["weights"]
    mixed = sum(w * p for w, p in zip(weights, members, strict=True))
    np.testing.assert_allclose(probs, mixed, atol=1e-5)


def test_finetuning_under_torchrun_equals_one_process(tiny_tsv, tmp_path, monkeypatch):
    """2 gloo ranks take the steps of one process with the same global batch (the schedule
    and the layer-wise rates included); dropout off, as every rank draws its own masks."""
    from safetensors.numpy import load_file

    from tiny_bert import write_tiny_bert
    from torchrun_cli import run_torchrun

    monkeypatch.setenv("TWEETSENT_CACHE", str(tmp_path / "cache"))
    model = write_tiny_bert(tmp_path / "bert0", dropout=0.0)
    ranks = tmp_path / "ranks"
    args = ["train", "--data", str(tiny_tsv), "--out", str(ranks), *TINY_TRAIN_FLAGS]
    args += ["--embed", "transformer", "--transformer", str(model), "--model", "transformer"]
    args += ["--pooling", "mean", "--dropout", "0", "--optimizer", "adamw", "--lr", "0.01"]
    args += ["--encoder-lr", "0.005", "--layer-decay", "0.8", "--schedule", "linear"]
    args += ["--warmup", "0.1", "--epochs", "2", "--batch-size", "16", "--device", "cpu"]
    job = run_torchrun(2, args, guard=ranks)
    assert job.returncode == 0, job.stderr[-3000:]
    overrides = finetuned(model, **{"model.output_dropout": 0.0, "train.epochs": 2})
    overrides["train.weight_decay"] = 0.0
    one = train(make_one(tiny_tsv, tmp_path / "one", overrides), log=lambda _: None)
    a, b = load_file(str(one.run_dir / "model.safetensors")), load_file(str(ranks / WEIGHTS))
    assert a.keys() == b.keys()
    for name in a:
        if name.endswith("attention.self.key.bias"):
            # softmax cancels a key bias: its gradient is zero up to rounding, which Adam's
            # normalised step turns into noise of full step size (in one process too)
            continue
        np.testing.assert_allclose(a[name], b[name], atol=2e-5, rtol=0, err_msg=name)


WEIGHTS = "model.safetensors"


def make_one(data, out, overrides):
    from synthetic import tiny_config

    return tiny_config(data, out, **overrides)


@pytest.mark.parametrize("cached", [True, False])
def test_one_layer_projection_trains_on_the_same_numbers(cached, tiny_bert):
    """Training with one layer and a projection projects first and scales after
    (g P(dropout(x)) + b): the same outputs and gradients as mixing first, same dropout mask."""
    from tweetsent.embed.transformer import TransformerEmbedder, TransformerSource
    from tweetsent.text.align import ElmoInput

    source = TransformerSource.from_folder(tiny_bert)
    embedder = TransformerEmbedder(source.load(trainable=False), [2], 0.4, source, proj=5)
    with torch.no_grad():
        embedder.mix.gamma.fill_(1.7)
    pieces = [("love", "this", ":)"), ("@user", "worst", "day", "ever"), ()]
    words = [ElmoInput(p, tuple(range(len(p))), "encoder-words") for p in pieces]
    width = max(len(w) for w in words)
    tokens = torch.tensor([[1] * len(w) + [0] * (width - len(w)) for w in words])
    features = embedder.features(words)
    if cached:  # a cache batch holding only the mixed layer
        features = type(features)(features.layers[2:], features.mask, (2,))
    outputs, grads = [], []
    for fast in (True, False):
        embedder.zero_grad()
        torch.manual_seed(5)
        if fast:
            out = embedder(tokens, features)
        else:  # the general order: ScalarMix (dropout, padding), then the projection
            layers, mask, picked = embedder.held_layers(tokens, features)
            out = embedder.proj(embedder.mix(layers, mask, picked=picked))
        (out * torch.arange(out.numel()).view(out.shape).sin()).sum().backward()
        outputs.append(out.detach())
        grads.append([p.grad.clone() for p in (embedder.proj.weight, embedder.mix.gamma)])
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-5, atol=1e-6)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert (outputs[0] != 0).any() and grads[0][1].abs().item() > 0
