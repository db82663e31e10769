"""Prototype inference backends for the default model against the float PyTorch model (issue 15).

On the texts of FILE (default bench/out/speed/distinct.txt, from bench/predict_speed.py),
encoded once with the run's `IdEncoder`, each backend runs the model alone, in this process, on
one thread, over the same length-grouped batches as `runs.torch_scorer.run_model` (most without
padding); best of --repeats, alternating. Reported per backend: model seconds, tweets/s, label
agreement with the float model and max |p - p_float| over every tweet.

  float        `run_model` on the PyTorch model (oneDNN LSTM; the product path)
  int8-dyn     `torch.ao.quantization.quantize_dynamic` of every nn.LSTM and nn.Linear. The
               encoder calls its per-direction nn.LSTM weights through `torch._VF.lstm` on
               unpadded batches, which a quantized LSTM does not have: a quantized
               bidirectional nn.LSTM built from both directions' weights replaces that call
               (padded batches run the quantized per-direction modules)
  bf16         the embedder and the encoder in bfloat16 (oneDNN's bf16 LSTM on CPUs with
               AVX512-BF16 / AMX), pooling and head in float32
  onnx         onnxruntime (1 intra-op thread) on RUN/model.onnx as `tweetsent export RUN
               --format onnx` writes it (padded graph: each direction its own LSTM op)
  onnx-bidir   onnxruntime on a graph for unpadded batches only: one bidirectional LSTM op
               (what the encoder's fused path computes), exported here to OUT/bidir.onnx;
               the few batches with padding run the padded graph above
  onnx-int8    onnxruntime on onnxruntime.quantization.quantize_dynamic(bidir.onnx)
  onnx (tweetsent)  the product's backend since issue 15, `runs.onnxrt.OnnxModel`: the graph
               written from the safetensors weights (embedding inside, one LSTM op per layer,
               a graph without padding for the unpadded batches), its own length batching

It also times `import torch` and `import onnxruntime` in fresh processes.

    python bench/predict_backends.py RUN [--input FILE] [--repeats 3] [--out bench/out/backends]
        [--test ../shared/data/semeval2017-task4a/twitter-2016test-A.tsv]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tweetsent.data import read_examples
from tweetsent.data.batching import length_batches, pad_batch
from tweetsent.data.prepare import EncodedSet
from tweetsent.data.readers import read_chunks
from tweetsent.runs.inference import IdEncoder
from tweetsent.runs.predict import Predictor
from tweetsent.runs.torch_scorer import run_model

BATCH = 512


def encoded(run: str, path: str) -> tuple[Predictor, EncodedSet]:
    predictor = Predictor.from_run(run, workers=1)
    chunks: list = []
    read_chunks(path, chunks.append, size=1 << 30, keep_rows=False)
    texts = chunks[0].examples.texts
    ids, offsets = IdEncoder(predictor.normalizer, predictor.run.vocab).encode(texts)
    return predictor, EncodedSet(ids, offsets, np.full(len(texts), -1, dtype=np.int64))


def batches(data: EncodedSet) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(rows, tokens (B, T) int64, lengths (B,) int64) of run_model's batches."""
    out = []
    for index in length_batches(data.lengths, BATCH):
        tokens, lengths, _ = pad_batch(data, index)
        out.append((index, tokens.numpy(), lengths.numpy()))
    return out


# -- int8 dynamic quantization ----------------------------------------------------------------


def bidirectional_lstm(fwd: nn.LSTM, bwd: nn.LSTM) -> nn.LSTM:
    """One bidirectional nn.LSTM with the weights of two one-direction ones."""
    both = nn.LSTM(fwd.input_size, fwd.hidden_size, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(both, f"{name}_l0").copy_(getattr(fwd, f"{name}_l0"))
            getattr(both, f"{name}_l0_reverse").copy_(getattr(bwd, f"{name}_l0"))
    return both.eval()


def quantized_model(model: nn.Module) -> nn.Module:
    import copy

    from torch.ao.quantization import quantize_dynamic

    model = copy.deepcopy(model).float().eval()
    encoder = model.encoder
    fused = [
        bidirectional_lstm(f, b)
        for f, b in zip(encoder.forward_layers, encoder.backward_layers, strict=True)
    ]
    qfused = [quantize_dynamic(m, {nn.LSTM}, dtype=torch.qint8) for m in fused]
    model = quantize_dynamic(model, {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    model.encoder._both_directions = lambda k, x: qfused[k](x)[0]  # (T, B, 2H)
    return model


def bfloat16_model(model: nn.Module) -> nn.Module:
    import copy

    model = copy.deepcopy(model).float().eval()
    model.embedder.to(torch.bfloat16)
    model.encoder.to(torch.bfloat16)
    model.pooling.register_forward_pre_hook(_float32_inputs)
    return model


def _float32_inputs(module: nn.Module, args: tuple) -> tuple:
    return tuple(a.float() if torch.is_tensor(a) and a.is_floating_point() else a for a in args)


# -- ONNX ---------------------------------------------------------------------------------------


class Bidirectional(nn.Module):
    """tokens (B, T) without padding -> probs (B, C), the encoder's fused path as one LSTM."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        encoder = model.encoder
        self.embedder = model.embedder
        self.lstm = bidirectional_lstm(encoder.forward_layers[0], encoder.backward_layers[0])
        self.head = model.head

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedder(tokens).transpose(0, 1)  # (T, B, D)
        states = self.lstm(x)[0]  # (T, B, 2H)
        pooled = states.amax(dim=0)  # max pooling over time
        return torch.softmax(self.head(pooled), dim=-1)


def export_bidirectional(model: nn.Module, path: Path) -> None:
    wrapper = Bidirectional(model.float().eval()).eval()
    example = torch.ones(3, 7, dtype=torch.int64)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            input_names=["tokens"],
            output_names=["probs"],
            dynamic_axes={"tokens": {0: "batch", 1: "time"}, "probs": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def ort_session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


# -- timing -------------------------------------------------------------------------------------


def import_seconds(module: str, repeats: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
        for _ in range(repeats)
    ]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--input", default="bench/out/speed/distinct.txt")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out/backends"))
    parser.add_argument("--test", help="a labelled file: each backend's AvgRec on it")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # torch.ao's deprecation notes, exporter notes
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    predictor, data = encoded(args.run, args.input)
    model = predictor.model
    n = len(data)
    parts = batches(data)
    onnx_path = Path(args.run) / "model.onnx"
    if not onnx_path.is_file():
        raise SystemExit(f"{onnx_path}: run `tweetsent export {args.run} --format onnx` first")
    bidir_path, int8_path = args.out / "bidir.onnx", args.out / "bidir-int8.onnx"
    export_bidirectional(model, bidir_path)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(bidir_path), str(int8_path), weight_type=QuantType.QInt8)
    qmodel = quantized_model(model)
    bmodel = bfloat16_model(model)
    sessions = {
        "onnx": ort_session(onnx_path),
        "onnx-bidir": ort_session(bidir_path),
        "onnx-int8": ort_session(int8_path),
    }

    def torch_probs(m: nn.Module, data: EncodedSet = data) -> np.ndarray:
        return run_model(m, data, BATCH, torch.device("cpu"))[0]

    def ort_probs(name: str, data: EncodedSet = data, parts: list = parts) -> np.ndarray:
        session = sessions[name]
        probs = np.zeros((len(data), len(predictor.labels)), dtype=np.float32)
        for rows, tokens, lengths in parts:
            if (lengths == tokens.shape[1]).all() and name != "onnx":
                probs[rows] = session.run(["probs"], {"tokens": tokens})[0]
            else:  # the padded graph (the few batches with padding, for the bidir graphs)
                feed = {"tokens": tokens, "lengths": lengths}
                probs[rows] = sessions["onnx"].run(["probs"], feed)[0]
        return probs

    from tweetsent.runs.onnxrt import OnnxModel  # the product's onnx backend (issue 15)

    product = OnnxModel(predictor.run, BATCH)

    backends = {
        "float": lambda *a: torch_probs(model, *a[:1]),
        "onnx (tweetsent)": lambda *a: product.score(a[0] if a else data)[0],
        "int8-dyn": lambda *a: torch_probs(qmodel, *a[:1]),
        "bf16": lambda *a: torch_probs(bmodel, *a[:1]),
        "onnx": lambda *a: ort_probs("onnx", *a),
        "onnx-bidir": lambda *a: ort_probs("onnx-bidir", *a),
        "onnx-int8": lambda *a: ort_probs("onnx-int8", *a),
    }
    unpadded = sum(int((lengths == tokens.shape[1]).all()) for _, tokens, lengths in parts)
    times: dict[str, list[float]] = {name: [] for name in backends}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, fn in backends.items():
            start = time.perf_counter()
            outputs[name] = fn()
            times[name].append(time.perf_counter() - start)
    reference = outputs["float"]
    labels = reference.argmax(axis=1)
    rows = {}
    for name in backends:
        probs = outputs[name]
        rows[name] = {
            "seconds": min(times[name]),
            "tweets_per_s": n / min(times[name]),
            "agreement": float((probs.argmax(axis=1) == labels).mean()),
            "max_abs_diff": float(np.abs(probs.astype(np.float64) - reference).max()),
        }
    if args.test:  # accuracy on a labelled file: AvgRec (macro recall) of each backend
        examples, _ = read_examples([args.test])
        ids, offsets = IdEncoder(predictor.normalizer, predictor.run.vocab).encode(examples.texts)
        test = EncodedSet(ids, offsets, np.full(len(offsets) - 1, -1, dtype=np.int64))
        gold = np.array([predictor.labels.index(label) for label in examples.labels])
        for name, fn in backends.items():
            predicted = fn(test, batches(test)).argmax(axis=1)
            recall = [(predicted[gold == c] == c).mean() for c in range(len(predictor.labels))]
            rows[name]["test_avgrec"] = float(np.mean(recall))
            rows[name]["test_agreement"] = float(
                (predicted == backends["float"](test, batches(test)).argmax(axis=1)).mean()
            )
    imports = {m: import_seconds(m, args.repeats) for m in ("torch", "onnxruntime", "numpy")}
    load_after = os.getloadavg()
    print(
        f"{n:,} tweets, {len(parts)} batches ({unpadded} without padding); model only, one "
        f"thread, best of {args.repeats}, alternating; load average {load_before[0]:.2f} "
        f"before, {load_after[0]:.2f} after"
    )
    print()
    test = f" | AvgRec on {Path(args.test).name}" if args.test else ""
    print(f"| backend | model s | tweets/s | vs float | labels = float | max abs prob diff{test} |")
    print("|---|---|---|---|---|---|" + ("---|" if args.test else ""))
    base = rows["float"]["seconds"]
    for name, row in rows.items():
        print(
            f"| {name} | {row['seconds']:.2f} | {row['tweets_per_s']:,.0f} "
            f"| {base / row['seconds']:.2f}x | {row['agreement']:.4%} "
            f"| {row['max_abs_diff']:.2e} |" + (f" {row['test_avgrec']:.4f} |" if args.test else "")
        )
    print()
    print(
        "imports (fresh process, best of "
        f"{args.repeats}): " + ", ".join(f"`import {m}` {s:.2f} s" for m, s in imports.items())
    )
    result = {"rows": rows, "imports": imports, "load": [load_before, load_after], "tweets": n}
    (args.out / "backends.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
