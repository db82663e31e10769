"""Where the time of `tweetsent predict RUN --input FILE --output OUT.jsonl` goes (issue 15).

A fresh child process mimics the command stage by stage, in-process and on one thread (one
torch thread, no forked workers), so that each stage's figure is its CPU cost; the stages are
timed with `time.perf_counter` (wall) and `time.process_time` (CPU):

  import torch        `import torch`
  import tweetsent    the rest of the command's imports (`tweetsent.cli`, `runs.batch`)
  load run            `Predictor.from_run(RUN)` (config, vocabulary, safetensors, model build)
  read                `data.readers.read_chunks` over the file (one chunk)
  clean + tokenize    `IdEncoder.encode(texts)` with an empty memo (the product's path:
    + ids             cleaning and tokenizing each distinct chunk, its vocabulary ids, arrays)
  of which id look-   `Vocabulary.encode` of the tokens of every distinct chunk (the look-ups
    ups               the row above makes), inside the row above
  model: LSTM         the encoder's forward (a forward hook), inside the next row
  model: all          `runs.torch_scorer.run_model` over the encoded texts: batching, embedding, the
                      BiLSTM, pooling, head, softmax
  write               `Scored.of` (rounding, labels) and `JsonlWriter.write` to a file

Each child runs --repeats times (the minimum per stage is kept); the parent also times
`python -c pass` and the whole command (wall, and CPU of the command and its workers from
`getrusage`), alternating with the children, and how long each child's interpreter takes to
exit after its last line (with and without the collector frozen at exit). The LSTM's
arithmetic (2 directions x 4 gates x 2 (D + H) H FLOPs per token) is set against the measured
LSTM time.

With `--backend onnx` (what the command runs for the default model since issue 15) the child
imports no torch: "load run" is importing onnxruntime, reading the safetensors with numpy,
writing the ONNX graph and opening its sessions (`runs.onnxrt.OnnxModel`), and "model: all" is
`OnnxModel.score` on one thread; the whole command is timed with `--backend onnx` too.

    python bench/predict_profile.py RUN [--input FILE] [--repeats 3] [--backend torch|onnx]

FILE defaults to bench/out/speed/distinct.txt, written by bench/predict_speed.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

STAGES = [
    "import torch",
    "import tweetsent",
    "load run",
    "read",
    "clean + tokenize + ids",
    "of which id look-ups",
    "model: LSTM",
    "model: all",
    "write",
]
INSIDE = {"of which id look-ups": "previous", "model: LSTM": "next"}
# The onnx backend (`--backend onnx`, the command's default for this model): no torch at all.
ONNX_STAGES = [
    "import tweetsent",
    "load run: onnxruntime, graph, sessions",
    "read",
    "clean + tokenize + ids",
    "of which id look-ups",
    "model: all",
    "write",
]


def child(run: str, path: str, out: str, freeze: bool, backend: str = "torch") -> None:
    """One fresh process: time each stage; print {stage: [wall, cpu]} and counts as JSON, and
    the clock time at which the interpreter's exit begins (freeze: the collector frozen at
    exit, as the `tweetsent` command does)."""
    if freeze:
        import atexit
        import gc

        atexit.register(gc.freeze)
    times: dict[str, list[float]] = {}
    clock: list[float] = []

    def start() -> None:
        clock[:] = [time.perf_counter(), time.process_time()]

    def stop(stage: str) -> None:
        times[stage] = [time.perf_counter() - clock[0], time.process_time() - clock[1]]

    onnx = backend == "onnx"
    if not onnx:
        start()
        import torch

        stop("import torch")
        torch.set_num_threads(1)
    start()
    import tweetsent.cli  # noqa: F401
    from tweetsent.data.prepare import EncodedSet
    from tweetsent.data.readers import read_chunks
    from tweetsent.runs.batch import predict_file  # noqa: F401
    from tweetsent.runs.inference import IdEncoder
    from tweetsent.runs.predict import BatchPrediction, Predictor
    from tweetsent.runs.writers import Scored, open_writer

    stop("import tweetsent")
    start()
    if onnx:
        from tweetsent.runs.onnxrt import OnnxModel
        from tweetsent.runs.rundir import read_run

        loaded = read_run(run)
        model = OnnxModel(loaded, 512)
        stop("load run: onnxruntime, graph, sessions")
        normalizer = Predictor(loaded).normalizer
        labels, vocab = loaded.labels, loaded.vocab
    else:
        from tweetsent.runs.torch_scorer import run_model

        predictor = Predictor.from_run(run, workers=1)
        stop("load run")
        normalizer, labels, vocab = predictor.normalizer, predictor.labels, predictor.run.vocab
    chunks = []
    start()
    read_chunks(path, chunks.append, size=1 << 30, keep_rows=False)
    stop("read")
    texts = chunks[0].examples.texts
    start()
    ids, offsets = IdEncoder(normalizer, vocab).encode(texts)  # the product's path, cold
    stop("clean + tokenize + ids")
    memo: dict = {}  # chunk -> tokens: the distinct chunks the encoder looked up
    normalizer.map_chunks(texts, normalizer.chunk_tokens, memo, 1 << 30, [])
    start()
    for tokens in memo.values():
        vocab.encode(tokens)
    stop("of which id look-ups")
    data = EncodedSet(ids, offsets, np.full(len(texts), -1, dtype=np.int64))
    if onnx:
        start()
        probs = model.score(data)[0]
        stop("model: all")
    else:
        torch_model = predictor.model
        lstm = [0.0, 0.0]

        def pre(module, args) -> None:
            lstm.extend([time.perf_counter(), time.process_time()])

        def post(module, args, output) -> None:
            cpu, wall = time.process_time() - lstm.pop(), time.perf_counter() - lstm.pop()
            lstm[0] += wall
            lstm[1] += cpu

        torch_model.encoder.register_forward_pre_hook(pre)
        torch_model.encoder.register_forward_hook(post)
        start()
        probs = run_model(torch_model, data, predictor.batch_size, predictor.device)[0]
        stop("model: all")
        times["model: LSTM"] = lstm[:2]
    batch = BatchPrediction(list(labels), probs, data.lengths == 0)
    start()
    with open_writer(out, labels, "jsonl", False, path) as writer:
        writer.write(chunks[0], Scored.of(texts, batch))
    stop("write")
    tokens = int(data.lengths.clip(min=1).sum())  # an empty tweet is run as one token
    result = {"times": times, "tweets": len(texts), "tokens": tokens}
    print(json.dumps({**result, "exit_starts": time.time()}), flush=True)  # then the exit


def _rusage_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def lstm_flops_per_token(run: str) -> tuple[int, dict]:
    config = json.loads((Path(run) / "config.json").read_text())
    model = config["model"]
    hidden = model["hidden_size"]
    dim = config["embed"]["dim"]
    directions = 2 if model["bidirectional"] else 1
    gates = 4 if model["cell"] == "lstm" else 3
    return directions * gates * 2 * (dim + hidden) * hidden, {"D": dim, "H": hidden}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--input", default="bench/out/speed/distinct.txt")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out/profile"))
    parser.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--freeze", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.run, args.input, str(args.out / "child.jsonl"), args.freeze, args.backend)
        return
    if not Path(args.input).is_file():
        raise SystemExit(f"{args.input}: run bench/predict_speed.py first (it writes the file)")
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    runs, start_wall, whole_wall, whole_cpu = [], [], [], []
    exits: dict[str, list[float]] = {}
    command = [sys.executable, "-m", "tweetsent.cli", "predict", args.run, "--input", args.input]
    command += ["--output", str(args.out / "whole.jsonl"), "--no-progress"]
    command += ["--backend", args.backend]
    me = [sys.executable, __file__, args.run, "--input", args.input, "--out", str(args.out)]
    me += ["--backend", args.backend]
    stages = ONNX_STAGES if args.backend == "onnx" else STAGES
    for _ in range(args.repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        start_wall.append(time.perf_counter() - t)
        for freeze in (False, True):
            flags = ["--child", "--freeze"] if freeze else ["--child"]
            out = subprocess.run([*me, *flags], check=True, capture_output=True, text=True)
            ended = time.time()
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            stage = "exit, collector frozen" if freeze else "exit"
            exits.setdefault(stage, []).append(ended - runs[-1]["exit_starts"])
        cpu, t = _rusage_cpu(), time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        whole_wall.append(time.perf_counter() - t)
        whole_cpu.append(_rusage_cpu() - cpu)
    n, tokens = runs[0]["tweets"], runs[0]["tokens"]
    best = {s: [min(r["times"][s][i] for r in runs) for i in (0, 1)] for s in stages}
    flops, dims = lstm_flops_per_token(args.run)
    lstm_s = best["model: LSTM" if "model: LSTM" in best else "model: all"][1]
    summed = sum(best[s][1] for s in stages if s not in INSIDE)
    lines = [
        f"{n:,} tweets, {tokens:,} tokens ({tokens / n:.1f} a tweet); best of {args.repeats}; "
        f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (1 min)",
        "",
        f"backend: {args.backend}",
        "",
        "| stage (one process, one thread) | wall s | CPU s | share of the stages' CPU |",
        "|---|---|---|---|",
        f"| interpreter start (`python -c pass`) | {min(start_wall):.2f} | | |",
    ]
    for stage in stages:
        wall, cpu = best[stage]
        share = f"{cpu / summed:.0%}"
        if stage in INSIDE:
            share = f"(inside the {INSIDE[stage]} row)"
        lines.append(f"| {stage} | {wall:.2f} | {cpu:.2f} | {share} |")
    lines += [
        f"| interpreter exit (collector as Python leaves it) | {min(exits['exit']):.2f} | | |",
        f"| interpreter exit, collector frozen at exit (`tweetsent` since issue 15) "
        f"| {min(exits['exit, collector frozen']):.2f} | | |",
        f"| sum of the stages | | {summed:.2f} | 100% |",
        f"| whole `tweetsent predict --backend {args.backend}` | {min(whole_wall):.2f} "
        f"| {min(whole_cpu):.2f} (all its processes) | |",
        "",
        f"BiLSTM arithmetic ({'the whole model' if args.backend == 'onnx' else 'the encoder'}"
        f"): {flops:,} FLOPs a token (2 directions x 4 gates x 2 (D + H) H, "
        f"D = {dims['D']}, H = {dims['H']}) x {tokens:,} tokens = {flops * tokens / 1e9:.1f} "
        f"GFLOP in {lstm_s:.2f} CPU-s: {flops * tokens / lstm_s / 1e9:.1f} GFLOP/s on one core",
    ]
    result = {
        "best": best,
        "runs": runs,
        "python_start": start_wall,
        "whole_wall": whole_wall,
        "whole_cpu": whole_cpu,
        "exit": exits,
        "lstm_flops_per_token": flops,
    }
    (args.out / "profile.json").write_text(json.dumps(result, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
