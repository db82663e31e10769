"""Shared test helpers for run directories: export parity through both formats, and
prediction after the files a run was trained from are moved away (tests/ is on pythonpath)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from tweetsent.runs.predict import Predictor


def assert_exports_with_parity(run_dir: Path, texts: Sequence[str], folder: Path) -> None:
    """TorchScript and ONNX exports of `run_dir` pass export's own parity check, and the saved
    files, loaded back, give the run's probabilities on `texts` within 1e-5."""
    pytest.importorskip("onnxruntime", reason="ONNX export needs onnxruntime (tweetsent[export])")
    import onnxruntime

    from tweetsent.data.batching import pad_batch
    from tweetsent.runs.export import TOLERANCE, export_run

    predictor = Predictor.from_run(run_dir)
    expected = predictor.predict_proba(texts)
    _, data = predictor.encode(texts)
    tokens, lengths, _ = pad_batch(data, np.arange(len(texts)))
    for fmt, suffix in (("torchscript", ".pt"), ("onnx", ".onnx")):
        result = export_run(run_dir, fmt, folder / f"model{suffix}")
        assert result.max_diff <= TOLERANCE
        if fmt == "torchscript":
            with torch.no_grad():
                got = torch.jit.load(str(result.path))(tokens, lengths).numpy()
        else:
            session = onnxruntime.InferenceSession(
                str(result.path), providers=["CPUExecutionProvider"]
            )
            feed = {"tokens": tokens.numpy(), "lengths": lengths.numpy()}
            got = session.run(["probs"], feed)[0]
        assert np.abs(got - expected).max() <= 1e-5, fmt


def assert_predicts_without(run_dir: Path, inputs: Path, texts: Sequence[str], tmp: Path) -> None:
    """The run's probabilities on `texts` are the same with its input folder moved away."""
    before = Predictor.from_run(run_dir).predict_proba(texts)
    moved = tmp / "moved"
    inputs.rename(moved)  # lexicon and cluster tables live in the weights, not in the files
    try:
        after = Predictor.from_run(run_dir).predict_proba(texts)
    finally:
        moved.rename(inputs)
    np.testing.assert_array_equal(before, after)
