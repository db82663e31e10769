"""The helper-process backend (runs.helper): a helper process that loads the model while the command
reads and cleans. Each test runs a fresh interpreter, as the `tweetsent` command does (the
helper is only started where torch is not imported yet)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tweetsent.runs.predict import Predictor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TEXTS = ["good day", "", "the movie was not good , bad bad day", "love :)", "sad " * 80]


def _python(code: str, *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout
    )


SCORE = """
import json, sys
from tweetsent.runs.predict import Predictor
texts = json.loads(sys.argv[3])
with Predictor.from_run(sys.argv[1], background=True, backend=sys.argv[2], workers=2) as p:
    assert p.background
    probs = p.predict_proba(texts).tolist()
    preds = [x.to_dict() for x in p.predict(texts)]
    queued = p.predict_arrays_queued(texts).result().probs.tolist()
print(json.dumps({"probs": probs, "preds": preds, "queued": queued,
                  "torch": "torch" in sys.modules}))
"""


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_background_scores_equal_in_process_ones(batch_run: Path, backend):
    done = _python(SCORE, str(batch_run), backend, json.dumps(TEXTS))
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["torch"] is False  # the helper imported it (torch) or nothing did (onnx)
    expected = Predictor.from_run(batch_run).predict_proba(TEXTS)
    probs = np.array(got["probs"], dtype=np.float32)
    if backend == "torch":  # the same model, the same batches: the same bits
        assert np.array_equal(probs, expected)
    else:
        assert np.abs(probs - expected).max() <= 1e-5
    assert np.array_equal(np.array(got["queued"], dtype=np.float32), probs)
    assert [p["text"] for p in got["preds"]] == TEXTS
    assert [p["empty"] for p in got["preds"]] == [False, True, False, False, False]


DIES = """
import os, signal, sys
from tweetsent.errors import TweetsentError
from tweetsent.runs.predict import Predictor
p = Predictor.from_run(sys.argv[1], background=True, backend="torch")
p.scorer.wait_ready()
os.kill(p.scorer._process.pid, signal.SIGKILL)
try:
    p.predict_proba(["good day"])
except TweetsentError as exc:
    print(exc)
p.close()
"""


def test_a_helper_that_dies_fails_the_call_instead_of_hanging(batch_run: Path):
    done = _python(DIES, str(batch_run), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "scoring process stopped unexpectedly (killed by signal 9)" in done.stdout


def test_weights_that_do_not_load_are_one_line_errors(batch_run: Path, tmp_path: Path):
    """A damaged weights file: the helper's load error reaches the command as its own one-line
    error, exit status 2, and no output file is left behind."""
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "vocab.json", "meta.json"):
        (run / name).write_bytes((batch_run / name).read_bytes())
    (run / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    texts = tmp_path / "in.txt"
    texts.write_text("good day\n" * 30, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    for backend in ("torch", "auto"):
        done = subprocess.run(
            [sys.executable, "-m", "tweetsent.cli", "predict", str(run), "--input", str(texts),
             "--output", str(out), "--backend", backend, "--no-progress"],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        assert "model.safetensors: cannot read weights" in lines[0]
        assert not out.exists()
