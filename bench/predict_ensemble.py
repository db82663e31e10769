"""Prediction speed of an ensemble run against the default model, on distinct real tweets.

Every distinct SemEval text of ../shared/data (each once, shuffled with a fixed seed: no text is
repeated, so no memo or duplicate skipping serves a repeat) is written to one file. For each run
directory given, and for VADER on the same texts in the same process:

  in-process    `Predictor.from_run(run).predict_arrays(texts)` on a fresh Predictor (its memo
                empty), best of --repeats, tweets/s
  whole command `tweetsent predict RUN --input FILE --output OUT.jsonl --no-progress` in a
                child process, process start and import included, best of --repeats, tweets/s

    python bench/predict_ensemble.py RUN [RUN ...] [--repeats 3] [--out bench/out/predict]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from tweetsent.data import read_examples
from tweetsent.runs.predict import Predictor

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"


def distinct_texts(seed: int = 13) -> list[str]:
    examples, _ = read_examples(sorted(str(p) for p in DATA.glob("twitter-*-A.tsv")))
    texts = sorted({t.replace("\n", " ").replace("\r", " ") for t in examples.texts if t.strip()})
    random.Random(seed).shuffle(texts)
    return texts


def in_process(run: str, texts: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        predictor = Predictor.from_run(run)  # a fresh memo every time
        start = time.perf_counter()
        predictor.predict_arrays(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def whole_command(run: str, path: Path, out: Path, n: int, repeats: int) -> float:
    best = float("inf")
    argv = [sys.executable, "-m", "tweetsent.cli", "predict", run, "--input", str(path)]
    argv += ["--output", str(out / "labelled.jsonl"), "--no-progress"]
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return n / best


def vader(texts: list[str], repeats: int) -> float:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            analyzer.polarity_scores(text)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out/predict"))
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} not found: this benchmark needs the shared SemEval files")
    args.out.mkdir(parents=True, exist_ok=True)
    texts = distinct_texts()
    path = args.out / "distinct.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    rows = {"VADER (in-process)": vader(texts, args.repeats)}
    for run in args.runs:
        rows[f"{run} (in-process)"] = in_process(run, texts, args.repeats)
        command = whole_command(run, path, args.out, len(texts), args.repeats)
        rows[f"{run} (whole command)"] = command
    print(f"{len(texts):,} distinct tweets")
    for name, rate in rows.items():
        print(f"{name}: {rate:,.0f} tweets/s")
    result = {"tweets": len(texts), "tweets_per_second": rows}
    (args.out / "predict.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
