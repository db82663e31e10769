"""The transformer recipe end to end (configs/semeval-transformer.toml), as a user runs it:

    tweetsent train --config configs/semeval-transformer.toml \
        --data ../shared/data/semeval2017-task4a --out RUN --seed S

in a child process (wall time and the peak RSS of the process tree's largest member, from
getrusage of the children), then the ensemble and each member scored on twitter-2016test-A
(never seen by training or by the weight fit): each member once, the ensemble from their
probabilities and the fitted weights. One JSON row per seed, appended to
OUT/recipe.jsonl as soon as it is measured.

    python bench/transformer/recipe.py --seeds 1 [--threads 2] [--out bench/out/transformer]

`--score RUN ...` only scores finished ensemble runs (e.g. a refit recipe's RUN/heldout).
`--resume` continues (or reuses) the members already in OUT/NAME-sSEED instead of starting
again (`--overwrite`): its wall time is then that of what was left to train, not end to end.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tweetsent.runs.predict import Predictor

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
TEST = DATA / "twitter-2016test-A.tsv"
KEYS = ("avgrec", "f1_pn", "accuracy")


def run_seed(
    seed: int, out: Path, threads: int, name: str = "recipe", resume: bool = False
) -> dict:
    run = out / f"{name}-s{seed}"
    command = [sys.executable, "-m", "tweetsent.cli", "train"]
    command += ["--config", "configs/semeval-transformer.toml", "--data", str(DATA)]
    command += ["--out", str(run), "--seed", str(seed), "--no-progress"]
    command += ["--resume" if resume else "--overwrite"]
    if threads:
        command += ["--threads", str(threads)]
    start = time.perf_counter()
    log = open(out / f"{name}-s{seed}.log", "w", encoding="utf-8")  # noqa: SIM115
    with log:
        done = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"seed {seed}: train exited {done.returncode} (see {log.name})")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    meta = json.loads((run / "meta.json").read_text())
    members = [run / "members" / name for name in meta["ensemble"]["members"]]
    scores = test_scores(members, meta["ensemble"]["weights"])
    size = sum(
        p.stat().st_size for p in run.rglob("*") if p.is_file() and "checkpoint" not in p.parts
    )
    return {
        "seed": seed,
        "name": name,
        "resumed": resume,
        "refit": meta["ensemble"].get("refit", {}).get("members", []),
        "train_wall_s": round(wall, 1),
        "peak_rss_mb": round(peak),
        "run_mb": round(size / 1e6, 1),
        "weights": meta.get("ensemble", {}).get("weights"),
        "valid": meta.get("scores"),
        "valid_members": (meta["ensemble"].get("validation") or {}).get("members"),
        "test": scores,
        "threads": threads,
    }


def test_scores(members: list[Path], weights: list[float]) -> dict:
    """Each member's test scores, and the ensemble's from the members' probabilities mixed
    with the fitted weights (what the ensemble model computes; its argmax is the ensemble's
    label), so that no member scores the 20,632 test tweets twice."""
    from tweetsent.data import read_examples
    from tweetsent.metrics import compute_metrics

    examples, _ = read_examples([str(TEST)])
    scores, mixed = {}, None
    for member, weight in zip(members, weights, strict=True):
        predictor = Predictor.from_run(member)
        probs = predictor.predict_proba(examples.texts)
        index = {label: i for i, label in enumerate(predictor.labels)}
        truth = np.array([index[label] for label in examples.labels])
        scores[member.name] = _rounded(compute_metrics(truth, probs.argmax(1), predictor.labels))
        mixed = weight * probs if mixed is None else mixed + weight * probs
    scores["ensemble"] = _rounded(compute_metrics(truth, mixed.argmax(1), predictor.labels))
    return scores


def _rounded(metrics: dict) -> dict:
    return {k: round(float(metrics[k]), 4) for k in KEYS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "transformer")
    parser.add_argument("--name", default="recipe", help="runs go to OUT/NAME-sSEED")
    parser.add_argument("--resume", action="store_true", help="reuse what is already there")
    parser.add_argument(
        "--score", nargs="+", type=Path, help="only score these ensemble runs on the test file"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for run in args.score or []:  # e.g. a refit recipe's held-out stage, RUN/heldout
        meta = json.loads((run / "meta.json").read_text())
        members = [run / "members" / name for name in meta["ensemble"]["members"]]
        row = {"run": str(run), "test": test_scores(members, meta["ensemble"]["weights"])}
        with open(args.out / "recipe.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    if args.score:
        return
    for seed in args.seeds:
        row = run_seed(seed, args.out, args.threads, args.name, args.resume)
        with open(args.out / "recipe.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
