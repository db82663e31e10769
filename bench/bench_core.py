"""The core benchmark, in one run on this machine (issue: the core of tweetsent).

1. cleaning: tweets/s per core, and 1.2M tweets cleaned + tokenized + cached (then a cache hit);
2. training: one epoch of BiLSTM(64) with 50-d GloVe over a synthetic 1.2M-tweet corpus
   (resampled and perturbed SemEval tweets), tweets/s and the peak RSS of the training process;
3. prediction: raw text in, labels out, tweets/s of tweetsent next to VADER on the same tweets.

    python bench/bench_core.py [--n 1200000] [--batch-size 256] [--out bench/out/core]
           [--markdown docs/benchmarks.md]

Targets: cleaning <= 60 s; an epoch <= 5 min with peak RSS <= 4 GB; prediction >= VADER.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clean import run as run_cleaning  # noqa: E402
from synth import make_corpus  # noqa: E402


def write_corpus(path: Path, n: int, seed: int) -> None:
    texts, labels = make_corpus(n, seed=seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for i, (label, text) in enumerate(zip(labels, texts, strict=True)):
            handle.write(f"{i}\t{label}\t{text}\n")


def run_training(corpus: Path, out: Path, batch_size: int, threads: int) -> dict:
    """One epoch through the real `tweetsent train` in a child process (its peak RSS measured)."""
    argv = ["train", "--data", str(corpus), "--out", str(out / "train-run"), "--epochs", "1",
            "--batch-size", str(batch_size), "--valid-fraction", "0.02", "--no-progress",
            "--threads", str(threads)]  # fmt: skip
    # The child reports its own peak RSS and CPU time (the cleaning workers are separate).
    code = (
        "import resource, sys; from tweetsent.cli import main; "
        f"rc = main({argv!r}); "
        "u = resource.getrusage(resource.RUSAGE_SELF); "
        "print('PEAK_RSS_KB', u.ru_maxrss, 'CPU_S', u.ru_utime + u.ru_stime); "
        "sys.exit(rc)"
    )
    env = {**os.environ, "TWEETSENT_CACHE": str(out / "cache")}
    start = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    output = child.stdout + child.stderr
    if child.returncode != 0:
        raise SystemExit(f"training failed:\n{output}")
    print(output)
    with open(out / "train-run" / "history.csv") as handle:
        row = next(csv.DictReader(handle))
    meta = json.loads((out / "train-run" / "meta.json").read_text())
    n_train = meta["data"]["train"]["examples"] - meta["data"]["valid"]["held_out_of_train"]
    usage = output.rsplit("PEAK_RSS_KB", 1)[1].split()
    seconds = float(row["seconds"])
    return {
        "train_tweets": n_train, "threads": threads, "batch_size": batch_size,
        "epoch_seconds": seconds, "train_tweets_per_s": n_train / seconds,
        "peak_rss_mb": int(usage[0]) / 1024, "process_cpu_s": float(usage[2]),
        "process_wall_s": wall, "run_dir": str(out / "train-run"),
    }  # fmt: skip


def run_prediction(run_dir: str, n: int) -> dict:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from tweetsent.runs.predict import Predictor

    texts, _ = make_corpus(n, seed=99)
    predictor = Predictor.from_run(run_dir, batch_size=512)
    predictor.predict(texts[:1000])  # warm-up
    start = time.perf_counter()
    labels = [p.label for p in predictor.predict(texts)]
    ours = time.perf_counter() - start
    analyzer = SentimentIntensityAnalyzer()
    start = time.perf_counter()
    vader = [analyzer.polarity_scores(t)["compound"] for t in texts]
    theirs = time.perf_counter() - start
    assert len(labels) == len(vader) == n
    return {
        "tweets": n,
        "tweetsent_tweets_per_s": n / ours,
        "vader_tweets_per_s": n / theirs,
        "ratio": theirs / ours,
    }


def markdown(result: dict) -> str:
    c, t, p = result["cleaning"], result["training"], result["prediction"]
    rows = [
        ("cleaning, one core (tweets per CPU-second)", f"{c['per_core_tweets_s']:,.0f}", ""),
        ("1.2M tweets cleaned + tokenized + cached (wall)", f"{c['first_s']:.1f} s", "<= 60 s"),
        ("same, second run (cache hit)", f"{c['cached_s']:.1f} s", ""),
        (
            f"training, one epoch BiLSTM(64) + GloVe 50d, batch {t['batch_size']}",
            f"{t['epoch_seconds']:.0f} s ({t['train_tweets_per_s']:,.0f} tweets/s)",
            "<= 300 s",
        ),
        ("training process peak RSS", f"{t['peak_rss_mb']:,.0f} MB", "<= 4096 MB"),
        (
            f"prediction, raw text to labels ({p['tweets']:,} tweets)",
            f"{p['tweetsent_tweets_per_s']:,.0f} tweets/s",
            "",
        ),
        ("VADER on the same tweets", f"{p['vader_tweets_per_s']:,.0f} tweets/s", ""),
        ("tweetsent / VADER", f"{p['ratio']:.2f}x", ">= 1"),
    ]
    lines = ["| measure | value | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_200_000)
    parser.add_argument("--predict-n", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    parser.add_argument("--skip-cleaning", action="store_true", help="reuse core.json's figures")
    parser.add_argument("--out", type=Path, default=Path("bench/out/core"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        }
    }
    print("1. cleaning ...", flush=True)
    if args.skip_cleaning:
        result["cleaning"] = json.loads((args.out / "core.json").read_text())["cleaning"]
    else:
        # a fresh temporary cache folder: the first run is cold, the second a cache hit
        result["cleaning"] = run_cleaning(args.n, workers=0)
    print(json.dumps(result["cleaning"], indent=1), flush=True)
    corpus = args.out / "synthetic.tsv"
    write_corpus(corpus, args.n, seed=7)
    print("2. training one epoch ...", flush=True)
    result["training"] = run_training(corpus, args.out, args.batch_size, args.threads)
    print(json.dumps(result["training"], indent=1), flush=True)
    print("3. prediction vs VADER ...", flush=True)
    result["prediction"] = run_prediction(result["training"]["run_dir"], args.predict_n)
    print(json.dumps(result["prediction"], indent=1), flush=True)
    (args.out / "core.json").write_text(json.dumps(result, indent=2))
    table = markdown(result)
    (args.out / "core.md").write_text(table + "\n")
    print(table)
    corpus.unlink()


if __name__ == "__main__":
    main()
