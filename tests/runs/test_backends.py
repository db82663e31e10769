"""The one decision point of prediction (runs.backends.open_scorer): the run directory is read
once, the backend chosen once, and the command line only passes its flags on."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tweetsent.cli import main
from tweetsent.runs import onnxrt
from tweetsent.runs.backends import open_scorer
from tweetsent.runs.onnxrt import OnnxScorer
from tweetsent.runs.predict import Predictor
from tweetsent.runs.torch_scorer import TorchScorer

SRC = Path(__file__).resolve().parents[2] / "src" / "tweetsent"


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_predict_command_reads_config_json_once(
    batch_run, tmp_path, config_reads, monkeypatch, backend
):
    """And decides the backend once: `onnxrt.scorable` is asked once with --backend auto,
    never with --backend torch."""
    asked = []
    scorable = onnxrt.scorable
    monkeypatch.setattr(onnxrt, "scorable", lambda run: asked.append(run) or scorable(run))
    texts = tmp_path / "in.txt"
    texts.write_text("good day\nbad movie\nlove\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    argv = ["predict", str(batch_run), "--input", str(texts), "--output", str(out)]
    assert main([*argv, "--backend", backend, "--no-progress"]) == 0
    assert config_reads == [str(batch_run / "config.json")]
    config_reads.clear()
    assert main(["predict", str(batch_run), "good day", "--backend", backend]) == 0
    assert config_reads == [str(batch_run / "config.json")]
    assert len(asked) == (2 if backend == "auto" else 0)  # one a command


def test_predict_with_attention_reads_config_json_once(batch_run, config_reads, capsys):
    assert main(["predict", str(batch_run), "good day", "--attention"]) == 0
    assert config_reads == [str(batch_run / "config.json")]
    assert json.loads(capsys.readouterr().out)["label"]


COUNT_OPENS = """
import os, sys
log = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        if os.fsdecode(args[0]).endswith("config.json"):
            os.write(log, f"{os.getpid()}\\n".encode())

sys.addaudithook(hook)
from tweetsent.cli import main
code = main(sys.argv[2:])
print("torch" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_with_a_helper_process_config_json_is_read_once_in_all(batch_run, tmp_path, backend):
    """The helper process inherits the run as the command read it: one open of config.json
    in both processes together."""
    if backend == "auto":
        pytest.importorskip("onnxruntime")
    log = tmp_path / "opens.log"
    texts = tmp_path / "in.txt"
    texts.write_text("good day\nbad movie\nlove\n" * 10, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    argv = ["predict", str(batch_run), "--input", str(texts), "--output", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", COUNT_OPENS, str(log), *argv, "--backend", backend, "--no-progress"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"  # torch in the helper only, or none
    assert len(log.read_text().splitlines()) == 1
    assert len(out.read_text().splitlines()) == 30


def test_one_factory_picks_each_backend(batch_run):
    pytest.importorskip("onnxruntime")
    run, scorer = open_scorer(batch_run)  # torch: the default
    assert isinstance(scorer, TorchScorer) and run.model is not None
    run, scorer = open_scorer(batch_run, backend="auto")  # an RNN over word vectors
    with_onnx = Predictor(run, scorer)
    assert isinstance(scorer, OnnxScorer) and run.model is None and with_onnx.background
    with_onnx.close()
    run, scorer = open_scorer(batch_run, backend="auto", attention=True)  # weights: torch here
    assert isinstance(scorer, TorchScorer)
    # torch is imported in this test process: a helper would not pay, the backend runs here
    run, scorer = open_scorer(batch_run, backend="torch", background=True)
    assert isinstance(scorer, TorchScorer)


def test_the_command_line_leaves_the_backend_to_the_factory():
    """cli/ imports no backend module: it parses flags and calls `Predictor.from_run`."""
    backends = {"tweetsent.runs." + name for name in ("backends", "onnxrt", "helper")}
    backends |= {"tweetsent.runs.torch_scorer", "tweetsent.runs.inference"}
    for path in (SRC / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                names = {a.name for a in node.names}
            else:
                continue
            assert not names & backends, f"{path.name} imports {names & backends}"
