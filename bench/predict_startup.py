"""Where the fixed start-up of `tweetsent predict RUN "one tweet"` goes, stage by stage (issue 24).

The command (default backend, a run ONNX Runtime can score) forks a scoring helper once it
has imported what deciding the backend needs, then both go on at once:

  before the fork   interpreter; imports (`tweetsent.cli`, `runs.backends`, `runs.onnxrt`:
                    numpy, `runs.helper` and `parallel`: multiprocessing); `read_run` (config,
                    vocabulary, labels: the one read) and `onnxrt.scorable` (the weights'
                    header); the fork itself (the helper inherits the run read)
  helper            import onnxruntime; `onnxrt.OnnxModel(run)` as the tree builds it: the
                    safetensors weights, the ONNX graphs (`onnxrt.model_bytes`), their
                    sessions (counted: two before the padded graph was built on demand)
  command           the rest of its imports (`runs.predict`, `runs.batch`, `runs.writers`,
                    `data.readers`); the `Predictor` over the run read; the tweet's ids
  after both        the tweet scored (`OnnxModel.score`), the line written, the exit

Two fresh child processes run the stages in that order on one thread, timing each (wall and
CPU of that process, `time.perf_counter` / `time.process_time`): one the stages before the
fork and the helper's (its exit is `os._exit`, as the helper's), the other the stages before
the fork and the command's, whose interpreter exit (collector frozen, as the command's) is
timed by the parent; the fork is timed in the real command's way (`HelperScorer.start`,
closed at once). The critical path is the stages
before the fork, then the longer of helper and command, then the tail: compared with the
whole command's wall time, measured alternately with `python -c pass`, VADER on one tweet
(`SentimentIntensityAnalyzer().polarity_scores`, process included) and `import torch`, best of
--repeats. Prints a markdown table; run it under two trees' PYTHONPATH to compare them.

    python bench/predict_startup.py RUN [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TWEET = "I love this new phone :)"

CHILD = r"""
import atexit, gc, json, os, sys, time
run_dir, tweet, role = sys.argv[1], sys.argv[2], sys.argv[3]
atexit.register(gc.freeze)  # as the command does (cli._fast_exit)
times = {}
clock = []

def start():
    clock[:] = [time.perf_counter(), time.process_time()]

def stop(stage):
    times[stage] = [time.perf_counter() - clock[0], time.process_time() - clock[1]]

start()
import tweetsent.cli
from tweetsent.io import output_target
from tweetsent.parallel import usable_cpus
from tweetsent.runs import backends, onnxrt
from tweetsent.runs.helper import HelperScorer
from tweetsent.runs.rundir import read_run
stop("before: imports (cli, numpy, multiprocessing)")
start()
run = read_run(run_dir)
assert onnxrt.scorable(run)
stop("before: read_run, scorable (config.json, vocab, weights header)")
start()
scorer = HelperScorer.start(run, threads=1, backend="onnx")
stop("before: fork (HelperScorer.start)")
scorer.close()
if role == "helper":
    from tweetsent.runs.predict import Predictor
    data = Predictor(run, device="cpu")._inputs([tweet])  # the ids the command sends
    start()
    import onnxruntime as ort
    stop("helper: import onnxruntime")
    # `OnnxModel(run)` as the tree builds it, its graphs and sessions timed where it makes them
    spent = {"graphs": [0.0, 0.0, 0], "sessions": [0.0, 0.0, 0]}

    def timing(kind, call):
        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            value = call(*args, **kwargs)
            spent[kind][0] += time.perf_counter() - wall
            spent[kind][1] += time.process_time() - cpu
            spent[kind][2] += 1
            return value
        return timed

    onnxrt.model_bytes = timing("graphs", onnxrt.model_bytes)
    ort.InferenceSession = timing("sessions", ort.InferenceSession)
    start()
    model = onnxrt.OnnxModel(run)
    stop("helper: OnnxModel")
    whole = times.pop("helper: OnnxModel")
    graphs, sessions = spent["graphs"], spent["sessions"]
    times["helper: weights (safetensors, checks)"] = [
        whole[i] - graphs[i] - sessions[i] for i in (0, 1)
    ]
    times[f"helper: ONNX graphs (model_bytes x{graphs[2]})"] = graphs[:2]
    times[f"helper: sessions (x{sessions[2]})"] = sessions[:2]
    start()
    model.score(data)
    stop("after: score the tweet (OnnxModel.score)")
    print(json.dumps({"times": times}), flush=True)
    os._exit(0)  # the helper ends so
start()
from tweetsent.data.examples import Examples
from tweetsent.data.readers import Chunk
from tweetsent.runs.batch import predict_file
from tweetsent.runs.predict import BatchPrediction, Predictor
from tweetsent.runs.writers import Scored, open_writer
stop("command: imports (runs.predict, batch, writers)")
start()
predictor = Predictor(run, device="cpu")
data = predictor._inputs([tweet])
stop("command: Predictor, the tweet's ids")
start()
import numpy as np
probs = np.full((1, len(run.labels)), 1 / len(run.labels), dtype=np.float32)
batch = BatchPrediction(list(run.labels), probs, data.lengths == 0)
with open(os.devnull, "w") as devnull:
    sys.stdout, saved = devnull, sys.stdout
    with open_writer(None, run.labels) as out:
        out.write(Chunk(Examples(), None), Scored.of([tweet], batch))
    sys.stdout = saved
stop("after: write the line")
print(json.dumps({"times": times, "exit_starts": time.time()}), flush=True)
"""

VADER = r"""
import json, sys
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
print(json.dumps(SentimentIntensityAnalyzer().polarity_scores(sys.argv[1])))
"""


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run directory ONNX Runtime can score (the default model)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    whole: dict[str, list[float]] = {}
    stages: dict[str, list[list[float]]] = {}
    exits: list[float] = []
    load_before = os.getloadavg()[0]
    for _ in range(args.repeats):
        for name, argv in [
            ("python -c pass", [py, "-c", "pass"]),
            (
                "tweetsent predict RUN TWEET",
                [py, "-m", "tweetsent.cli", "predict", args.run, TWEET],
            ),
            ("VADER on the tweet (process)", [py, "-c", VADER, TWEET]),
            ("import torch (process)", [py, "-c", "import torch"]),
        ]:
            whole.setdefault(name, []).append(wall(argv))
        for role in ("helper", "command"):
            done = subprocess.run(
                [py, "-c", CHILD, args.run, TWEET, role], check=True, capture_output=True, text=True
            )
            ended = time.time()
            child = json.loads(done.stdout.strip().splitlines()[-1])
            if role == "command":
                exits.append(ended - child["exit_starts"])
            for stage, value in child["times"].items():
                stages.setdefault(stage, []).append(value)
    best = {s: [min(v[i] for v in values) * 1000 for i in (0, 1)] for s, values in stages.items()}
    part = {p: sum(best[s][1] for s in best if s.startswith(p)) for p in ("before", "helper",
            "command", "after")}  # fmt: skip
    interp = min(whole["python -c pass"]) * 1000
    critical = interp + part["before"] + max(part["helper"], part["command"]) + part["after"]
    critical += min(exits) * 1000
    lines = [
        f"best of {args.repeats}, alternating; load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after (1 min); {os.cpu_count()} CPUs",
        "",
        "| whole process | best ms | median ms |",
        "|---|---|---|",
    ]
    for name, values in whole.items():
        lines.append(
            f"| {name} | {min(values) * 1000:.0f} | {statistics.median(values) * 1000:.0f} |"
        )
    lines += ["", "| stage (one thread) | wall ms | CPU ms |", "|---|---|---|"]
    lines.append(f"| interpreter start (`python -c pass`) | {interp:.0f} | |")
    for stage, (w, c) in best.items():
        lines.append(f"| {stage} | {w:.1f} | {c:.1f} |")
    lines.append(f"| interpreter exit | {min(exits) * 1000:.1f} | |")
    lines += [
        "",
        f"CPU ms by part: before the fork {part['before']:.0f}, helper {part['helper']:.0f}, "
        f"command after the fork {part['command']:.0f}, after both {part['after']:.0f}; "
        f"critical path (interpreter + before + max(helper, command) + after + exit) "
        f"{critical:.0f} ms against {min(whole['tweetsent predict RUN TWEET']) * 1000:.0f} ms "
        "measured",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
