"""Prediction speed on distinct real tweets against VADER, process start included (issue 15).

Input: every distinct SemEval text of ../shared/data/semeval2017-task4a (read with tweetsent's
own reader, newlines folded to spaces, exact duplicates dropped), shuffled with a fixed seed and
written one a line to OUT/distinct.txt. No text repeats, so no memo or duplicate skipping
serves a repeat. Measured, best of --repeats, tweetsent and VADER alternating within each
repeat so that a change in the machine's load hits both:

  whole process  `tweetsent predict RUN --input FILE --output OUT.jsonl --no-progress` in a
                 child process (interpreter start, imports, model load, reading, scoring,
                 writing): the default (`--backend auto`: ONNX Runtime in the helper process
                 for this model), `--backend torch` (torch in the helper process), and
                 "before": the command with torch imported first, which loads the model in
                 its own process and forks scoring workers, as before issue 15 (its output
                 must be byte-identical to `--backend torch`'s: a difference ends the run with
                 an error after the table, saying how many lines and by how much); against a
                 child process that
                 reads the same file, scores each line with VADER's
                 `SentimentIntensityAnalyzer().polarity_scores` and writes JSONL
  in-process     a fresh `Predictor.from_run(RUN, backend=...)` each repeat (empty memo), then
                 `predict_arrays(texts)` timed; VADER's `polarity_scores` over the same list
  warm memo      the same Predictor's second `predict_arrays(texts)` (the old benchmark's
                 advantage; not what a user's first call sees)
  old method     unless --no-old: bench_core's prediction step (100,000 synthetic tweets
                 resampled from SemEval, 1,000-text warm-up, `Predictor.predict`), the method
                 behind the 1.28-1.43x of earlier sessions

Prints a markdown table (tweets/s, seconds, tweetsent / VADER) with the load average before and
after; writes OUT/predict_speed.json. One command, nothing cached between runs:

    python bench/predict_speed.py RUN [--repeats 3] [--out bench/out/speed] [--no-old]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"

# The VADER child process: read lines, score, write JSONL (the same work as `tweetsent predict`).
# The command as it was before issue 15's scorer: torch imported first, so the model loads in
# this process (`HelperScorer.usable` is false) and large inputs fork scoring workers.
BEFORE_SCRIPT = """
import sys
import torch
from tweetsent.cli import main
sys.exit(main(sys.argv[1:]))
"""

VADER_SCRIPT = """
import json, sys
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
analyzer = SentimentIntensityAnalyzer()
score = analyzer.polarity_scores
with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in src:
        text = line.rstrip("\\n")
        if text.strip():
            row = {"text": text, **score(text)}
            out.write(json.dumps(row, ensure_ascii=False) + "\\n")
"""


def distinct_texts(seed: int = 13) -> list[str]:
    """Every distinct SemEval text, each once, shuffled with `seed` (tweetsent's reader)."""
    from tweetsent.data import read_examples

    files = sorted(str(p) for p in DATA.glob("twitter-*-A.tsv"))
    examples, _ = read_examples(files)
    texts = {" ".join(t.split("\n")).replace("\r", " ") for t in examples.texts}
    ordered = sorted(t for t in texts if t.strip())
    random.Random(seed).shuffle(ordered)
    return ordered


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _child(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def measure(run: str, texts: list[str], out: Path, repeats: int, old: bool) -> dict:
    import torch
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from tweetsent.runs.predict import Predictor

    path = out / "distinct.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    outputs = {
        "ours_whole": out / "tweetsent.jsonl",
        "ours_whole_torch": out / "tweetsent-torch.jsonl",
        "ours_whole_before": out / "tweetsent-before.jsonl",
    }
    base = ["predict", run, "--input", str(path), "--no-progress", "--output"]
    argvs = {
        "ours_whole": [sys.executable, "-m", "tweetsent.cli", *base, str(outputs["ours_whole"])],
        "ours_whole_torch": [
            *[sys.executable, "-m", "tweetsent.cli", *base, str(outputs["ours_whole_torch"])],
            *["--backend", "torch"],
        ],
        "ours_whole_before": [
            *[sys.executable, "-c", BEFORE_SCRIPT, *base, str(outputs["ours_whole_before"])],
            *["--backend", "torch"],
        ],
    }
    vader_out = out / "vader.jsonl"
    vader_argv = [sys.executable, "-c", VADER_SCRIPT, str(path), str(vader_out)]
    analyzer = SentimentIntensityAnalyzer()
    times: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    def vader_in_process(items: list[str]) -> None:
        score = analyzer.polarity_scores
        for text in items:
            score(text)

    if old:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from synth import make_corpus

        synthetic, _ = make_corpus(100_000, seed=99)
    torch.set_num_threads(torch.get_num_threads())  # torch imported: in-process rows load here
    for _ in range(repeats):
        add("ours_whole", _timed(lambda: _child(argvs["ours_whole"])))
        add("vader_whole", _timed(lambda: _child(vader_argv)))
        add("ours_whole_torch", _timed(lambda: _child(argvs["ours_whole_torch"])))
        add("ours_whole_before", _timed(lambda: _child(argvs["ours_whole_before"])))
        with Predictor.from_run(run, backend="onnx") as onnx:  # fresh: empty memo
            add("ours_first_onnx", _timed(lambda p=onnx: p.predict_arrays(texts)))
        add("vader_in", _timed(lambda: vader_in_process(texts)))
        predictor = Predictor.from_run(run)  # torch, fresh: its memo is empty
        add("ours_first", _timed(lambda p=predictor: p.predict_arrays(texts)))
        add("ours_warm", _timed(lambda p=predictor: p.predict_arrays(texts)))
        if old:
            predictor = Predictor.from_run(run, batch_size=512)
            predictor.predict(synthetic[:1000])  # bench_core's warm-up
            add("ours_old", _timed(lambda p=predictor: p.predict(synthetic)))
            add("vader_old", _timed(lambda: vader_in_process(synthetic)))
    for target in [*outputs.values(), vader_out]:
        if _lines(target) != len(texts):
            raise SystemExit(f"{target}: {_lines(target)} lines for {len(texts)} tweets")
    same = outputs["ours_whole_torch"].read_bytes() == outputs["ours_whole_before"].read_bytes()
    before = agreement(outputs["ours_whole_before"], outputs["ours_whole_torch"])
    best = {name: min(values) for name, values in times.items()}
    agree = agreement(outputs["ours_whole"], outputs["ours_whole_torch"])
    return {
        "times": times,
        "best": best,
        "synthetic": 100_000 if old else 0,
        "onnx": agree,
        "torch_same": same,
        "torch_before": before,
    }


def agreement(onnx: Path, torch_out: Path) -> dict:
    """Labels that agree and the largest |probability difference| between two JSONL outputs."""
    same, diff, rows, lines = 0, 0.0, 0, 0
    with open(onnx, encoding="utf-8") as a, open(torch_out, encoding="utf-8") as b:
        for x, y in zip(a, b, strict=True):
            rows += 1
            lines += x == y
            x, y = json.loads(x), json.loads(y)
            same += x["label"] == y["label"]
            diff = max(diff, *(abs(x["probs"][k] - y["probs"][k]) for k in x["probs"]))
    return {"rows": rows, "lines_same": lines, "labels_same": same, "max_prob_diff": diff}


def table(result: dict) -> str:
    n, best = result["tweets"], result["best"]
    rows = [
        ("whole process, default (`--backend auto`: ONNX Runtime)", "ours_whole", "vader_whole"),
        ("whole process, `--backend torch` (torch in the helper)", "ours_whole_torch",
         "vader_whole"),
        ("whole process, before (torch in-process, forked workers)", "ours_whole_before",
         "vader_whole"),
        ("in-process, first call, `backend=\"onnx\"` (fresh Predictor)", "ours_first_onnx",
         "vader_in"),
        ("in-process, first call, torch (fresh Predictor, empty memo)", "ours_first", "vader_in"),
        ("in-process, second call, torch (warm memo: the old benchmark's edge)", "ours_warm",
         "vader_in"),
    ]  # fmt: skip
    rows = [(*row, n) for row in rows]
    if "ours_old" in best:
        rows.append(
            ("old method: 100k synthetic resampled tweets, warm-up, `predict`",
             "ours_old", "vader_old", result["synthetic"])
        )  # fmt: skip
    agree = result["onnx"]
    lines = [
        f"{n:,} distinct SemEval tweets; best of {result['repeats']}, alternating; "
        f"load average {result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after "
        f"(1 min); {result['cpus']} CPUs",
        "",
        f"| what (tweets/s, best of {result['repeats']}) | tweetsent | VADER | tweetsent / VADER |",
        "|---|---|---|---|",
    ]
    for label, ours, theirs, count in rows:
        a, b = best[ours], best[theirs]
        lines.append(
            f"| {label} | {count / a:,.0f} ({a:.2f} s) | {count / b:,.0f} ({b:.2f} s) "
            f"| **{b / a:.2f}x** |"
        )
    lines += [
        "",
        f"ONNX Runtime against torch, whole outputs: {agree['labels_same']:,} of "
        f"{agree['rows']:,} labels the same, max |probability difference| "
        f"{agree['max_prob_diff']:.1e} (JSONL rounds to 6 decimals); torch before and after: "
        + (
            "byte-identical outputs."
            if result["torch_same"]
            else f"{result['torch_before']['rows'] - result['torch_before']['lines_same']} "
            "lines differ (see the end of the output)."
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory (the default model)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out/speed"))
    parser.add_argument("--no-old", action="store_true", help="skip the old synthetic method")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} not found: this benchmark needs the shared SemEval files")
    args.out.mkdir(parents=True, exist_ok=True)
    texts = distinct_texts()
    load_before = os.getloadavg()
    result = measure(args.run, texts, args.out, args.repeats, not args.no_old)
    result.update(
        tweets=len(texts),
        repeats=args.repeats,
        load_before=load_before,
        load_after=os.getloadavg(),
        cpus=os.cpu_count(),
        python=platform.python_version(),
        run=args.run,
        when=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    )
    (args.out / "predict_speed.json").write_text(json.dumps(result, indent=2))
    print(table(result))
    if not result["torch_same"]:  # reported after the table, which stands on its own
        d = result["torch_before"]
        raise SystemExit(
            f"the torch outputs before and after differ: {d['rows'] - d['lines_same']} of "
            f"{d['rows']:,} lines, max |probability difference| {d['max_prob_diff']:.1e}"
        )


if __name__ == "__main__":
    main()
