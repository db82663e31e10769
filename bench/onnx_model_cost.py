"""The ONNX Runtime model's own cost in two source trees, alternating: build, one tweet, a file.

    python bench/onnx_model_cost.py RUN --input distinct.txt --trees ../main/src src [--repeats 5]

Each repeat runs one fresh child process per tree, in turn (so that a change in the machine's
load hits both), with PYTHONPATH set to the tree. The child reads the run (`read_run`) and the
file's ids (`Predictor._inputs`: the command's encoding), then times, wall and CPU of the
process (`time.perf_counter`, `time.process_time`):

  build      `OnnxModel(run)`: weights, graph(s), session(s): what the helper does before the
             first tweet
  one tweet  `score` of the file's first line alone (the one-tweet command's call)
  file       `score` of every line of the file, in one call (the helper's slices are smaller;
             the batches, 512 rows grouped by length, are the same)

and the SHA-256 of the file's probabilities (float32 bytes), which must be the same in every
tree: outputs stay bit-identical. Prints a markdown table of the best of --repeats (median
beside it) with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import hashlib, json, sys, time
run_dir, path = sys.argv[1], sys.argv[2]
from tweetsent.runs.onnxrt import OnnxModel
from tweetsent.runs.predict import Predictor
from tweetsent.runs.rundir import read_run
import onnxruntime  # imported before the clock starts: its import is not the model's cost

run = read_run(run_dir)
with open(path, encoding="utf-8") as f:
    texts = [line.rstrip("\n") for line in f if line.strip()]
predictor = Predictor(run, device="cpu")
one, data = predictor._inputs(texts[:1]), predictor._inputs(texts)
times = {}

def timed(stage, call):
    wall, cpu = time.perf_counter(), time.process_time()
    value = call()
    times[stage] = [time.perf_counter() - wall, time.process_time() - cpu]
    return value

model = timed("build", lambda: OnnxModel(run))
timed("one tweet", lambda: model.score(one))
probs, _ = timed("file", lambda: model.score(data))
digest = hashlib.sha256(probs.astype("<f4").tobytes()).hexdigest()
print(json.dumps({"times": times, "sha256": digest, "n": len(texts)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run directory ONNX Runtime can score")
    parser.add_argument("--input", required=True, help="one tweet a line")
    parser.add_argument("--trees", nargs="+", required=True, help="source folders (PYTHONPATH)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, list[list[float]]]] = {t: {} for t in args.trees}
    digests: dict[str, set[str]] = {t: set() for t in args.trees}
    n = 0
    for _ in range(args.repeats):
        for tree in args.trees:
            env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
            done = subprocess.run(
                [sys.executable, "-c", CHILD, args.run, args.input],
                check=True, capture_output=True, text=True, env=env,
            )  # fmt: skip
            child = json.loads(done.stdout.strip().splitlines()[-1])
            for stage, value in child["times"].items():
                results[tree].setdefault(stage, []).append(value)
            digests[tree].add(child["sha256"])
            n = child["n"]
    lines = [
        f"{n} tweets; best of {args.repeats} (median), trees alternating; load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after (1 min); "
        f"{os.cpu_count()} CPUs",
        "",
        "| tree | stage | wall ms | CPU ms |",
        "|---|---|---|---|",
    ]
    for tree, stages in results.items():
        for stage, values in stages.items():
            w = [v[0] * 1000 for v in values]
            c = [v[1] * 1000 for v in values]
            lines.append(
                f"| {tree} | {stage} | {min(w):.1f} ({statistics.median(w):.1f}) | "
                f"{min(c):.1f} ({statistics.median(c):.1f}) |"
            )
    every = set().union(*digests.values())
    verdict = "identical" if len(every) == 1 else "DIFFERENT"
    hashes = ", ".join(f"{t}: {' '.join(h[:12] for h in sorted(d))}" for t, d in digests.items())
    lines += ["", f"probabilities: {verdict} ({hashes})"]
    print("\n".join(lines))
    sys.exit(0 if len(every) == 1 else 1)


if __name__ == "__main__":
    main()
