"""TorchScript and ONNX export: parity with the PyTorch model (max |dp| <= 1e-5)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tweetsent.cli import main
from tweetsent.config import ModelConfig
from tweetsent.data.batching import pad_batch
from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.runs import export as export_module
from tweetsent.runs.export import TOLERANCE, export_run
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")

TEXTS = ["I love this :)", "worst day ever :(", "bus update", "", "the the the game movie " * 9]


def _train(make_config, tiny_tsv, tmp_path, **overrides):
    config = make_config(tiny_tsv, tmp_path / "run", **overrides)
    return train(config, log=lambda *a: None).run_dir


def _exported_probs(path, fmt, tokens, lengths) -> np.ndarray:
    if fmt == "torchscript":
        module = torch.jit.load(str(path))
        with torch.no_grad():
            return module(tokens, lengths).numpy()
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probs"], {"tokens": tokens.numpy(), "lengths": lengths.numpy()})[0]


def _check_both_formats(run_dir):
    pytest.importorskip("onnxruntime", reason="ONNX export needs onnxruntime (tweetsent[export])")
    predictor = Predictor.from_run(run_dir)
    expected = predictor.predict_proba(TEXTS)  # (n, C), what `tweetsent predict` computes
    _, data = predictor.encode(TEXTS)
    tokens, lengths, _ = pad_batch(data, np.arange(len(TEXTS)))
    for fmt in ("torchscript", "onnx"):
        result = export_run(run_dir, fmt)
        assert result.path.is_file() and result.max_diff <= TOLERANCE
        got = _exported_probs(result.path, fmt, tokens, lengths)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-5, fmt
        sidecar = json.loads(result.path.with_name(result.path.name + ".json").read_text())
        assert sidecar["labels"] == predictor.labels and sidecar["format"] == fmt


def test_bilstm_exports_with_parity(make_config, tiny_tsv, tmp_path):
    _check_both_formats(_train(make_config, tiny_tsv, tmp_path))


VARIANTS = {
    "gru-unidirectional-2-layers-last": {
        "model.cell": "gru",
        "model.bidirectional": False,
        "model.num_layers": 2,
        "model.pooling": "last",
    },
    "bilstm-mean": {"model.pooling": "mean"},
    "feedforward": {"model.kind": "feedforward"},
    "cnn-max": {"model.kind": "cnn", "model.cnn_widths": [1, 2, 3, 4]},
    "bilstm-attention": {"model.pooling": "attention"},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_other_models_export_with_parity(make_config, tiny_tsv, tmp_path, name):
    overrides = VARIANTS[name]
    if overrides.get("model.pooling") == "attention":
        try:
            ModelConfig(pooling="attention")
        except ConfigError:
            pytest.skip("self-attention pooling is not in ModelConfig yet")
    _check_both_formats(_train(make_config, tiny_tsv, tmp_path, **overrides))


def test_lexicon_model_exports_with_parity(make_config, tiny_tsv, tmp_path):
    lexicon = tmp_path / "lex.tsv"
    lexicon.write_text("love\t3\nworst\t-3.5\n:)\t2\n", encoding="utf-8")
    _check_both_formats(_train(make_config, tiny_tsv, tmp_path, **{"embed.lexicon": str(lexicon)}))


def test_failed_parity_writes_nothing(make_config, tiny_tsv, tmp_path, monkeypatch):
    run_dir = _train(make_config, tiny_tsv, tmp_path)
    monkeypatch.setattr(export_module, "TOLERANCE", -1.0)
    with pytest.raises(TweetsentError, match="differs from PyTorch"):
        export_run(run_dir, "torchscript")
    assert not (run_dir / "model.pt").exists()
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".model")]


def test_cli_export_and_bad_format(make_config, tiny_tsv, tmp_path, capsys):
    run_dir = _train(make_config, tiny_tsv, tmp_path)
    out = tmp_path / "exported" / "bilstm.pt"
    assert main(["export", str(run_dir), "--format", "torchscript", "--out", str(out)]) == 0
    assert out.is_file() and "max |prob difference|" in capsys.readouterr().out
    with pytest.raises(TweetsentError, match="format"):
        export_run(run_dir, "tflite")
    assert main(["export", str(tmp_path / "missing"), "--format", "onnx"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
