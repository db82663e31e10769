"""A classifier over ELMo features from a generated model: train (from the feature cache),
evaluate, predict (ELMo on the fly) and the run directory, through the API and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tweetsent.cli import main
from tweetsent.embed.elmo import ElmoEmbedder
from tweetsent.errors import DataError
from tweetsent.io import sha256_file
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

TEXTS = ["love this great day :)", "", "worst bus ever, so angry", "ok", "the report is at 9"]


def elmo_fields(files: tuple[Path, Path], **more) -> dict:
    return {
        "embed.kind": "elmo",
        "embed.elmo_options": str(files[0]),
        "embed.elmo_weights": str(files[1]),
        "embed.elmo_dropout": 0.0,
        **more,
    }


def test_train_evaluate_predict_with_cached_elmo(
    tiny_files, tiny_tsv, tiny_valid_tsv, tmp_path, make_config
) -> None:
    out = tmp_path / "run"
    fields = elmo_fields(tiny_files, **{"embed.elmo_concat": "random", "embed.dim": 8})
    config = make_config(tiny_tsv, out, **{"data.valid": [str(tiny_valid_tsv)], **fields})
    lines = []
    result = train(config, log=lines.append)
    assert any(line.startswith("elmo cache: 300 distinct tweets") for line in lines)
    assert result.metrics["avgrec"] > 0.6  # learnable from ELMo (+ random vectors)

    # The run directory records the biLM files' checksums and stores no biLM weight.
    meta = json.loads((out / "meta.json").read_text())["elmo"]
    assert meta["options_sha256"] == sha256_file(tiny_files[0])
    assert meta["weights_sha256"] == sha256_file(tiny_files[1])
    assert meta["layers"] == 3 and meta["dim"] == 16 and Path(meta["cache"]).is_dir()
    weights = load_file(out / "model.safetensors")
    assert {k for k in weights if k.startswith("embedder.")} == {
        "embedder.mix.scalars",
        "embedder.mix.gamma",
        "embedder.words.embedding.weight",
    }

    # Reloaded, the model computes ELMo on the fly and reproduces the validation scores.
    predictor = Predictor.from_run(out)
    assert isinstance(predictor.model.embedder, ElmoEmbedder)
    again = evaluate(predictor, [str(tiny_valid_tsv)])
    assert again.metrics["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert again.metrics["avgrec"] == pytest.approx(result.metrics["avgrec"])

    # A text's prediction does not depend on what else is in the batch (the server runs the
    # model in float64; in float32 only the last float32 bits may move).
    alone32 = [predictor.predict_proba([t])[0] for t in TEXTS]
    predictor.model.double()
    alone = [predictor.predict([t])[0].probs for t in TEXTS]
    for batch_size in (1, 2, 256):
        predictor.batch_size = batch_size
        together = predictor.predict(TEXTS * 2 + ["filler " * 40])
        assert [p.probs for p in together[: len(TEXTS)]] == alone
        assert [p.probs for p in together[len(TEXTS) : 2 * len(TEXTS)]] == alone
    predictor.model.float()
    mixed = predictor.predict_proba(TEXTS[::-1] + ["a b c d e f g"])[: len(TEXTS)][::-1]
    np.testing.assert_allclose(mixed, alone32, atol=1e-5, rtol=0)


def test_elmo_with_lexicon_columns_on_its_word_vectors(
    tiny_files, tiny_tsv, tmp_path, make_config
) -> None:
    lexicon = tmp_path / "lex.tsv"
    lexicon.write_text("love\t3\nangry\t-3\nsuperb\t4\n", encoding="utf-8")
    fields = elmo_fields(
        tiny_files,
        **{"embed.elmo_concat": "random", "embed.dim": 8, "embed.lexicon": str(lexicon)},
    )
    out = tmp_path / "run"
    train(make_config(tiny_tsv, out, **{"train.epochs": 1, **fields}), log=lambda _: None)
    predictor = Predictor.from_run(out)
    embedder = predictor.model.embedder
    assert embedder.output_dim == embedder.elmo_dim + 8 + 2  # ELMo, word vector, lexicon
    tokens = predictor.run.vocab.tokens
    features = embedder.words.features
    assert features[tokens.index("superb")].tolist() == [1.0, 1.0]  # not in training: joined
    assert features[tokens.index("angry")].tolist() == [-0.75, 1.0]
    assert predictor.predict_proba(TEXTS).shape == (len(TEXTS), 3)


def test_a_run_refuses_other_or_missing_elmo_files(
    tiny_files, tiny_tsv, tmp_path, make_config, make_model
) -> None:
    folder = tmp_path / "elmo"
    folder.mkdir()
    files = (folder / "options.json", folder / "weights.hdf5")
    for src, dest in zip(tiny_files, files, strict=True):
        shutil.copyfile(src, dest)
    out = tmp_path / "run"
    fields = elmo_fields(files, **{"embed.elmo_cache": False, "train.epochs": 1})
    lines = []
    train(make_config(tiny_tsv, out, **fields), log=lines.append)
    assert "elmo: features computed in every batch (embed.elmo_cache = false)" in lines
    assert json.loads((out / "meta.json").read_text())["elmo"]["cache"] is None
    assert not (tmp_path / "cache" / "elmo-features").exists()
    Predictor.from_run(out).predict(TEXTS)
    make_model(folder, seed=5)  # other weights under the same names
    with pytest.raises(DataError, match="differ from those the run was trained with"):
        Predictor.from_run(out)
    shutil.rmtree(folder)
    with pytest.raises(DataError, match="ELMo files are missing"):
        Predictor.from_run(out)


def test_cli_elmo_cache_train_predict(tiny_files, tiny_tsv, tmp_path, capsys) -> None:
    options, weights = map(str, tiny_files)
    common = ["--data", str(tiny_tsv), "--options", options, "--weights", weights]
    for shard in ("0/2", "1/2"):
        cache = ["--cache-dir", str(tmp_path / f"cache{shard[0]}"), "--shard", shard]
        assert main(["elmo", "cache", *common, *cache, "--threads", "1", "--no-progress"]) == 0
    roots = [str(tmp_path / "cache0"), str(tmp_path / "cache1")]
    assert main(["elmo", "merge", *roots, "--into", str(tmp_path / "cache")]) == 0
    capsys.readouterr()
    run = tmp_path / "run"
    flags = ["--min-freq", "1", "--workers", "1", "--hidden", "8", "--epochs", "1"]
    flags += ["--batch-size", "32", "--threads", "1", "--no-progress", "--embed", "elmo"]
    flags += ["--elmo-options", options, "--elmo-weights", weights, "--elmo-layers", "1,2"]
    config = tmp_path / "cache.toml"
    config.write_text(f'[data]\ncache_dir = "{tmp_path / "cache"}"\n', encoding="utf-8")
    args = ["train", "--config", str(config), "--data", str(tiny_tsv), "--out", str(run), *flags]
    assert main(args) == 0
    assert "already cached, 0 to compute" in capsys.readouterr().out  # the merged shards
    meta = json.loads((run / "meta.json").read_text())
    assert meta["elmo"]["mixed_layers"] == [1, 2]
    assert main(["predict", str(run), *TEXTS]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(TEXTS) and lines[1]["empty"]
    assert main(["elmo", "info", "small"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "small"
    assert main(["elmo", "cache", "--data", str(tiny_tsv)]) == 2
    assert "needs elmo_model, or elmo_options" in capsys.readouterr().err
