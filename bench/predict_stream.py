"""Peak memory and speed of the whole `tweetsent predict` command on 1M and 10M tweets.

Input: every distinct SemEval text of ../shared/data (shuffled with a fixed seed), written once
per block with the block's number appended (`"<text> 17"`): so each line of the file is a
distinct string (no duplicate skipping serves a repeat), while the words repeat as in a real
stream. The normalizer reads the suffix as `<number>`. One JSONL line per tweet
(`{"id": N, "text": ...}`).

For each size and each code tree (`--code NAME=SRC`, e.g. `old=/work/main/src new=src`), in
alternating order, one child process runs

    python -m tweetsent.cli predict RUN --input FILE --output OUT.jsonl --no-progress

with PYTHONPATH=SRC, and this script records: wall time (start and imports included) as
tweets/s; the peak RSS of the command's largest process (`ru_maxrss` from `wait4`, the figure
`/usr/bin/time -v` shows); and the peak of the summed PSS (`/proc/PID/smaps_rollup`, polled every
0.25 s) over the command and its worker processes, which counts pages shared by the forked
workers once. The outputs of the code trees are compared byte for byte (sha256).

    python bench/predict_stream.py RUN --sizes 1000000 10000000 \\
        --code old=/work/main/src --code new=src [--rounds 1] [--out bench/out/stream]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"


def distinct_texts(seed: int = 13) -> list[str]:
    """Every distinct SemEval text (a tab-separated file: id, label, text), shuffled."""
    texts: set[str] = set()
    for path in sorted(DATA.glob("twitter-*-A.tsv")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.rstrip("\t").split("\t")
            if len(fields) >= 3:
                text = " ".join(fields[2:]).strip()
                if text and text.lower() != "not available":
                    texts.add(text)
    ordered = sorted(texts)
    random.Random(seed).shuffle(ordered)
    return ordered


def make_input(path: Path, n: int, texts: list[str]) -> None:
    if path.exists() and path.stat().st_size > 0:
        return
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for i in range(n):
            block, k = divmod(i, len(texts))
            out.write(json.dumps({"id": i, "text": f"{texts[k]} {block}"}) + "\n")
    os.replace(tmp, path)


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """pid and its descendants (from /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as handle:
                    todo += [int(c) for c in handle.read().split()]
        except OSError:
            pass
    return out


def measure(src: str, run: str, path: Path, out: Path) -> dict:
    argv = [sys.executable, "-m", "tweetsent.cli", "predict", run, "--input", str(path)]
    argv += ["--output", str(out), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": src}
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_pss = 0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        peak_pss = max(peak_pss, sum(_pss_kb(p) for p in _tree(child.pid)))
        time.sleep(0.25)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{argv} failed: {child.stderr.read().decode()[-2000:]}")
    digest = hashlib.sha256()
    with open(out, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return {
        "wall_s": round(wall, 1),
        "max_rss_mb": round(usage.ru_maxrss / 1024),
        "peak_pss_tree_mb": round(peak_pss / 1024),
        "sha256": digest.hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--code", action="append", required=True, help="NAME=SRC (PYTHONPATH)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/out/stream"))
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} not found: this benchmark needs the shared SemEval files")
    args.out.mkdir(parents=True, exist_ok=True)
    codes = [spec.split("=", 1) for spec in args.code]
    texts = distinct_texts()
    print(f"{len(texts):,} distinct texts", flush=True)
    results = []
    for size in args.sizes:
        path = args.out / f"tweets-{size}.jsonl"
        make_input(path, size, texts)
        for rnd in range(args.rounds):
            order = codes if rnd % 2 == 0 else codes[::-1]  # alternate who goes first
            for name, src in order:
                target = args.out / f"out-{name}-{size}.jsonl"
                row = {"code": name, "tweets": size, "round": rnd}
                row |= measure(os.path.abspath(src), args.run, path, target)
                row["tweets_per_s"] = round(size / row["wall_s"])
                row["load_avg"] = os.getloadavg()[0]
                results.append(row)
                print(json.dumps(row), flush=True)
                (args.out / "results.json").write_text(json.dumps(results, indent=2))
        digests = {r["sha256"] for r in results if r["tweets"] == size}
        print(f"{size:,} tweets: outputs {'identical' if len(digests) == 1 else 'DIFFER'}")


if __name__ == "__main__":
    main()
