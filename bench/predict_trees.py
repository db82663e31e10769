"""The whole `tweetsent predict` command in two (or more) source trees, alternating: wall and CPU.

    python bench/predict_trees.py RUN --input distinct.txt --trees ../main/src src [--repeats 5]

Each repeat runs, for each tree in turn (so that a change in the machine's load hits every
tree), `python -m tweetsent.cli predict RUN --input FILE --output OUT --no-progress` and
`python -m tweetsent.cli predict RUN "one tweet"` with PYTHONPATH set to the tree. Wall time
is the child's; CPU time is user + system of the command and every descendant it waited for
(its scoring helper included: `getrusage(RUSAGE_CHILDREN)` before and after). The outputs of
the file must be byte-identical across trees and repeats (SHA-256), as must the one tweet's
line. Prints a markdown table, best of --repeats (median beside it), with the load average.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TWEET = "I love this new phone :)"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall and CPU seconds of a child process (and its waited-for descendants); its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run directory")
    parser.add_argument("--input", required=True, help="one tweet a line")
    parser.add_argument("--trees", nargs="+", required=True, help="source folders (PYTHONPATH)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    load_before = os.getloadavg()[0]
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    digests: dict[str, set[str]] = {"file": set(), "one tweet": set()}
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "out.jsonl"
        for _ in range(args.repeats):
            for tree in args.trees:
                env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
                cli = [py, "-m", "tweetsent.cli", "predict", args.run]
                argv = [*cli, "--input", args.input, "--output", str(out), "--no-progress"]
                wall, cpu, _ = timed(argv, env)
                times.setdefault((tree, "file"), []).append((wall, cpu))
                digests["file"].add(hashlib.sha256(out.read_bytes()).hexdigest())
                wall, cpu, line = timed([*cli, TWEET], env)
                times.setdefault((tree, "one tweet"), []).append((wall, cpu))
                digests["one tweet"].add(hashlib.sha256(line).hexdigest())
    lines = [
        f"best of {args.repeats} (median), trees alternating; load average {load_before:.2f} "
        f"before, {os.getloadavg()[0]:.2f} after (1 min); {os.cpu_count()} CPUs",
        "",
        "| tree | command | wall s | CPU s (command + helper) |",
        "|---|---|---|---|",
    ]
    for (tree, what), values in times.items():
        w, c = [v[0] for v in values], [v[1] for v in values]
        lines.append(
            f"| {tree} | {what} | {min(w):.3f} ({statistics.median(w):.3f}) | "
            f"{min(c):.3f} ({statistics.median(c):.3f}) |"
        )
    same = all(len(d) == 1 for d in digests.values())
    lines += ["", "outputs: " + ("byte-identical" if same else f"DIFFERENT {digests}")]
    print("\n".join(lines))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
