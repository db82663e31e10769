"""The ONNX Runtime backend (runs.onnxrt): parity with the torch model, the graph it writes,
what it refuses, and that scoring with it never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from tweetsent.cli import main
from tweetsent.config import RunConfig
from tweetsent.data.encoded import EncodedSet
from tweetsent.errors import TweetsentError
from tweetsent.models import build_model
from tweetsent.runs import onnxrt
from tweetsent.runs.predict import Predictor
from tweetsent.runs.rundir import read_run, save_run_files, save_weights
from tweetsent.text import Vocabulary

pytest.importorskip("onnxruntime", reason="the onnx backend needs onnxruntime")

TOLERANCE = 1e-5  # max |p_onnx - p_torch| (float32 rounding: ~4e-7 measured)
WORDS = ["good", "bad", "day", "love", "hate", "the", "movie", "game", "happy", "sad", "not"]
TEXTS = [
    "good day",
    "",  # empty: one padding token, as torch reads it
    "the movie was not good , bad bad day",
    "love",
    "hate the game " * 12,  # long: beyond max_tokens
    "happy happy sad unknownword",
    "@user http://t.co/x #love :)",
    "   ",
    "day " * 3,
    "good movie",
    "sad",
    "the game the movie the day",
]


def make_run(tmp_path: Path, seed: int = 0, **model) -> Path:
    """A run directory with a random model of `model` settings (no training needed)."""
    settings = {"embed.kind": "random", "embed.dim": 8, "model.hidden_size": 6}
    settings.update({f"model.{k}": v for k, v in model.items()})
    config = RunConfig().with_overrides(settings)
    vocab = Vocabulary(["<pad>", "<unk>", *WORDS, "<user>", "<url>", "<hashtag>", ":)"])
    torch.manual_seed(seed)
    module = build_model(config, len(vocab), 3)
    with torch.no_grad():  # biases and embeddings far from 0: the gates matter
        for param in module.parameters():
            param.mul_(3.0)
    run = tmp_path / f"run-{seed}"
    save_run_files(run, config, vocab, ["negative", "neutral", "positive"], {})
    save_weights(module, run / "model.safetensors")
    return run


CASES = [
    {},  # the default: BiLSTM, max pooling
    {"pooling": "mean"},
    {"pooling": "last"},
    {"cell": "gru"},
    {"cell": "gru", "pooling": "last", "bidirectional": False},
    {"bidirectional": False, "pooling": "max", "num_layers": 2},
    {"num_layers": 2, "pooling": "mean"},
    {"cell": "gru", "num_layers": 3, "pooling": "max"},
]


@pytest.mark.parametrize("model", CASES, ids=lambda m: ",".join(f"{k}={v}" for k, v in m.items()))
def test_onnx_scores_match_torch(tmp_path, model):
    run = make_run(tmp_path, **model)
    torch_model = Predictor.from_run(run)
    with Predictor.from_run(run, backend="onnx") as onnx:
        assert onnx.background and onnx.run.model is None
        expected = torch_model.predict_proba(TEXTS)
        got = onnx.predict_proba(TEXTS)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= TOLERANCE
        assert (got.argmax(1) == expected.argmax(1)).all()
        batch = onnx.predict_arrays(TEXTS)
        assert batch.empty.tolist() == torch_model.predict_arrays(TEXTS).empty.tolist()


@pytest.mark.parametrize("model", CASES, ids=lambda m: ",".join(f"{k}={v}" for k, v in m.items()))
def test_the_graph_writer_reads_the_models_own_parameter_names(model):
    """runs/onnxrt.py builds its graph from the weights file by name (`expected_shapes`): the
    tie to models/ that the import graph cannot see. The names and shapes must be exactly the
    state dict of the model that models.build_model makes, so renaming or reshaping a
    parameter in models/ fails here, not as a silent fall-back to torch."""
    settings = {"embed.kind": "random", "embed.dim": 8, "model.hidden_size": 6}
    config = RunConfig().with_overrides({**settings, **{f"model.{k}": v for k, v in model.items()}})
    module = build_model(config, 23, 3)
    held = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    assert held == onnxrt.expected_shapes(config, 23, 3)
    assert onnxrt.supports(config, set(held))


def test_onnx_batches_with_and_without_padding_agree(tmp_path):
    """Rows alone (no padding, the unpadded graph) score as in a padded batch."""
    run = make_run(tmp_path, seed=4)
    with Predictor.from_run(run, backend="onnx", batch_size=512) as together:
        mixed = together.predict_proba(TEXTS)
    with Predictor.from_run(run, backend="onnx", batch_size=1) as alone:
        single = alone.predict_proba(TEXTS)
    assert np.abs(mixed - single).max() <= TOLERANCE


def random_ids(rows: int, lengths: list[int], seed: int = 0) -> EncodedSet:
    """`rows` tweets of random ids (vocabulary of 17), their lengths drawn from `lengths`."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice(lengths, rows)
    return EncodedSet.from_ids([rng.integers(1, 17, n).tolist() for n in sizes], [-1] * rows)


def test_the_padded_session_is_opened_when_a_padded_batch_first_arrives(tmp_path, monkeypatch):
    """One tweet, or rows of one length, never need the padded graph: it is built on demand,
    once, however many threads ask for it at the same time."""
    built = []
    write = onnxrt.model_bytes
    monkeypatch.setattr(onnxrt, "model_bytes", lambda *a: built.append(a[2]) or write(*a))
    model = onnxrt.OnnxModel(read_run(make_run(tmp_path)))
    model.score(random_ids(1, [5]))
    model.score(random_ids(300, [7]))
    assert built == [False]
    mixed = random_ids(200, [2, 3, 9])
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(model.score, [mixed] * 4))
    assert built == [False, True]
    assert all(np.array_equal(r[0], results[0][0]) for r in results)


def test_unpadded_batches_in_pieces_score_as_in_one_call(tmp_path, monkeypatch):
    """`PIECE_ROWS`: rows are scored independently, so pieces change no bit of the output."""
    model = onnxrt.OnnxModel(read_run(make_run(tmp_path, seed=6)))
    data = random_ids(700, [4, 11])  # two batches of ~350 rows, no padding: three pieces each
    pieces = model.score(data)[0]
    monkeypatch.setattr(onnxrt, "PIECE_ROWS", 10**6)
    assert np.array_equal(pieces, model.score(data)[0])


def test_graph_is_valid_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    for model in CASES:
        run = make_run(tmp_path, **model)
        from safetensors.numpy import load_file

        weights = load_file(str(run / "model.safetensors"))
        config = read_run(run).config
        for padded in (True, False):
            proto = onnx.load_from_string(onnxrt.model_bytes(config, weights, padded))
            onnx.checker.check_model(proto, full_check=True)
            names = [i.name for i in proto.graph.input]
            assert names == (["tokens", "lengths", "mask"] if padded else ["tokens"])
            assert [o.name for o in proto.graph.output] == ["probs"]


def test_varint_encodes_like_protobuf():
    assert onnxrt._varint(0) == b"\x00"
    assert onnxrt._varint(1) == b"\x01"
    assert onnxrt._varint(300) == b"\xac\x02"
    assert onnxrt._varint(-1) == b"\xff" * 9 + b"\x01"  # int64 -1: ten bytes


def test_unsupported_runs_are_refused_with_a_reason(tmp_path):
    run = make_run(tmp_path, pooling="attention")
    assert not onnxrt.scorable(read_run(run))
    with pytest.raises(TweetsentError, match="pooling 'attention'.*--backend torch"):
        Predictor.from_run(run, backend="onnx")
    with Predictor.from_run(run, backend="auto") as auto:  # torch, in this process
        assert not auto.background and auto.has_attention
    with pytest.raises(TweetsentError, match="runs on the CPU"):
        Predictor.from_run(make_run(tmp_path, seed=1), backend="onnx", device="cuda")


def test_damaged_weights_fail_in_one_line(tmp_path):
    run = make_run(tmp_path)
    weights = run / "model.safetensors"
    data = bytearray(weights.read_bytes())
    header = int.from_bytes(data[:8], "little")
    data[8 + header + 4 : 8 + header + 8] = np.array([np.nan], dtype=np.float32).tobytes()
    weights.write_bytes(bytes(data))
    with (
        Predictor.from_run(run, backend="onnx") as predictor,
        pytest.raises(TweetsentError, match="NaN or infinite"),
    ):
        predictor.predict_proba(["good day"])


def test_cli_backend_onnx_matches_torch(tmp_path, capsys):
    run = make_run(tmp_path, seed=2)
    texts = tmp_path / "in.txt"
    texts.write_text("\n".join(t for t in TEXTS if t.strip()) + "\n", encoding="utf-8")
    outputs = {}
    for backend in ("onnx", "torch"):
        out = tmp_path / f"{backend}.jsonl"
        code = main(["predict", str(run), "--input", str(texts), "--output", str(out),
                     "--backend", backend, "--no-progress"])  # fmt: skip
        assert code == 0
        outputs[backend] = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["label"] for r in outputs["onnx"]] == [r["label"] for r in outputs["torch"]]
    for a, b in zip(outputs["onnx"], outputs["torch"], strict=True):
        assert a["text"] == b["text"]
        assert max(abs(a["probs"][k] - b["probs"][k]) for k in a["probs"]) <= TOLERANCE
    attention = make_run(tmp_path, seed=3, pooling="attention")
    code = main(["predict", str(attention), "good day", "--backend", "onnx"])
    assert code == 2
    assert "--backend torch" in capsys.readouterr().err


CHECK_NO_TORCH = """
import json, sys
from tweetsent.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "torch": "torch" in sys.modules}), file=sys.stderr)
"""


def test_predict_command_never_imports_torch_with_onnx(tmp_path):
    """The whole `tweetsent predict` command, in a fresh process: ONNX Runtime in the helper
    process, and torch in neither (the helper ends with os._exit; its modules are its own)."""
    run = make_run(tmp_path, seed=5)
    texts = tmp_path / "in.txt"
    texts.write_text("good day\nbad movie\n\nlove\n" * 50, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    argv = ["predict", str(run), "--input", str(texts), "--output", str(out), "--no-progress"]
    done = subprocess.run(
        [sys.executable, "-c", CHECK_NO_TORCH, *argv], capture_output=True, text=True, timeout=120
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "torch": False}, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 150  # blank lines are skipped
    expected = Predictor.from_run(run).predict_proba([r["text"] for r in rows])
    got = np.array([list(r["probs"].values()) for r in rows])
    assert np.abs(got - expected).max() <= TOLERANCE + 1e-6  # + JSON's 6-decimal rounding
