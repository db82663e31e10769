"""Prediction speed of transformer runs on distinct real tweets, VADER in the same run.

The first --n of every distinct SemEval text (bench/predict_speed.py's `distinct_texts`: each
text once, shuffled with a fixed seed), one a line. Per run and repeat, alternating with VADER
so that a change in load hits both:

  whole process  `tweetsent predict RUN --input FILE --output OUT.jsonl --no-progress` in a
                 child process (interpreter start, imports of torch and transformers, model
                 load, reading, cleaning, encoding, writing) against a child process that
                 scores the same file with VADER and writes JSONL
  in-process     a fresh `Predictor.from_run(RUN)`, then `predict_arrays(texts)` timed (the
                 model loaded, no memo), against VADER's `polarity_scores` over the list

    python bench/transformer/predict_speed.py RUN [RUN ...] [--n 5000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
SPEC = importlib.util.spec_from_file_location("predict_speed", HERE.parents[1] / "predict_speed.py")
speed = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(speed)


def measure(runs: list[str], n: int, repeats: int, out: Path) -> dict:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from tweetsent.runs.predict import Predictor

    texts = speed.distinct_texts()[:n]
    path = out / "distinct.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    vader = [sys.executable, "-c", speed.VADER_SCRIPT, str(path), str(out / "vader.jsonl")]
    score = SentimentIntensityAnalyzer().polarity_scores
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        for run in runs:
            name = Path(run).name
            argv = [sys.executable, "-m", "tweetsent.cli", "predict", run, "--input", str(path)]
            argv += ["--no-progress", "--output", str(out / f"{name}.jsonl")]
            whole = speed._timed(lambda a=argv: speed._child(a))
            times.setdefault(f"{name} whole", []).append(whole)
            times.setdefault("vader whole", []).append(speed._timed(lambda: speed._child(vader)))
            predictor = Predictor.from_run(run)
            times.setdefault(f"{name} in-process", []).append(
                speed._timed(lambda p=predictor: p.predict_arrays(texts))
            )
            times.setdefault("vader in-process", []).append(
                speed._timed(lambda: [score(t) for t in texts])
            )
    return {
        "tweets": len(texts),
        "best_seconds": {k: round(min(v), 2) for k, v in times.items()},
        "load": os.getloadavg(),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/out/transformer-speed"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    result = measure(args.runs, args.n, args.repeats, args.out)
    n = result["tweets"]
    print("| what | best s | tweets/s |\n|---|---|---|")
    for name, seconds in result["best_seconds"].items():
        print(f"| {name} | {seconds:.2f} | {n / seconds:,.0f} |")
    (args.out / "result.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
