"""On a CUDA device: training, prediction and ELMo give what they give on the CPU.

Skipped without CUDA (CI has none); run on a GPU machine with
`python -m pytest tests/test_cuda.py tests/pretrain/test_pretrain.py -k cuda`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tiny_elmo import TINY, write_model
from tweetsent.embed.elmo import batch_to_ids, load_bilm
from tweetsent.io import read_json
from tweetsent.models import MaxPooling
from tweetsent.models.inputs import lengths_mask
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

TEXTS = ["i love this phone :)", "worst day ever #fail", "", "@user see you at 8pm"]


def tiny_elmo(folder: Path) -> tuple[Path, Path]:
    return write_model(folder)


def test_training_on_cuda_is_recorded_and_predicts_like_the_cpu(tiny_tsv, tmp_path, make_config):
    result = train(make_config(tiny_tsv, tmp_path / "run", **{"train.device": "cuda"}))
    assert result.device.startswith("cuda")
    assert read_json(result.run_dir / "meta.json")["device"].startswith("cuda")
    on_gpu = Predictor.from_run(result.run_dir, device="cuda").predict_proba(TEXTS)
    on_cpu = Predictor.from_run(result.run_dir, device="cpu").predict_proba(TEXTS)
    # cuDNN's RNNs use TF32 tensor cores on Ampere and later (torch.backends.cudnn.allow_tf32,
    # on by default): a 10-bit mantissa, so probabilities agree to ~1e-3, not to float32's 1e-6
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=0, atol=2e-3)


def test_elmo_on_cuda_matches_the_cpu(tmp_path):
    options, weights = tiny_elmo(tmp_path)
    ids = batch_to_ids([["hello", "world", ":)"], ["#fail"]], TINY.max_chars)
    on_cpu = load_bilm(options, weights, device="cpu")(ids)
    on_gpu = load_bilm(options, weights, device="cuda")(ids.cuda())
    for a, b in zip(on_cpu.layers, on_gpu.layers, strict=True):
        torch.testing.assert_close(b.cpu(), a, rtol=0, atol=1e-5)


def test_elmo_classifier_trains_on_cuda_from_the_cache(tiny_tsv, tmp_path, make_config):
    options, weights = tiny_elmo(tmp_path)
    fields = {"embed.kind": "elmo", "embed.elmo_options": str(options)}
    fields.update({"embed.elmo_weights": str(weights), "train.device": "cuda", "train.epochs": 2})
    result = train(make_config(tiny_tsv, tmp_path / "run", **fields))
    assert result.device.startswith("cuda")
    probs = Predictor.from_run(result.run_dir, device="cuda").predict_proba(TEXTS)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-5)


def test_max_pooling_on_cuda_reads_no_device_value():
    """The unpadded fast path is chosen from the CPU lengths: no device -> host sync."""
    states = torch.randn(3, 4, 8, device="cuda")  # (B, T, H)
    lengths = torch.tensor([4, 4, 4])  # CPU, as `checked_inputs` leaves them
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any synchronizing call raises
    try:
        mask = lengths_mask(lengths, 4, states.device)  # (B, T)
        fast = MaxPooling(8)(states, mask, lengths)[0]
        padded = MaxPooling(8)(states, mask, torch.tensor([4, 2, 1]))[0]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.equal(fast.cpu(), states.amax(dim=1).cpu())
    assert padded.shape == (3, 8)
