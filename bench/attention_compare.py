"""Pooling comparison on SemEval-2017 Task 4A: last / mean / max / self-attention (Lin et al. 2017).

Trains the default model (`RunConfig()`: GloVe kumo 50d, BiLSTM 64, early stopping on validation
AvgRec) with each pooling, over --seeds seeds, on every shared file but twitter-2016test-A.tsv
(10% stratified hold-out for validation), and reports on twitter-2016test-A.tsv. Writes:

  OUT/runs/NAME-seedS/          run directories; OUT/results/NAME-seedS.json (reused on rerun)
  docs/img/attention_curves.png validation AvgRec / loss / train-valid gap per epoch
  docs/img/attention_tweet_K*.png heatmaps of 3 test tweets (study preset, and without penalty)
  OUT/pressure.md               bench/attention_pressure.py's table (why the paper setting fails)
  docs/attention.md             the block between the `results` markers is rewritten

    nice -n 15 python bench/attention_compare.py [--seeds 3] [--parallel 2] [--sweep]
    nice -n 15 python bench/attention_compare.py --report-only     # redraw from OUT/results

--sweep adds the penalty-coefficient runs (SWEEP: the study's d_a, r with 0 and 1.0, the
paper's with 0.1).

Each training uses one torch thread (`train.threads = 1`); --parallel trainings run at once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from tweetsent.config import RunConfig, attention_preset

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
TEST = "twitter-2016test-A.tsv"
POOLINGS = {
    "last": {"model.pooling": "last"},
    "mean": {"model.pooling": "mean"},
    "max": {"model.pooling": "max"},  # the default model
    "attention-single": attention_preset("single"),
    "attention-study": attention_preset("study"),
    "attention-paper": attention_preset("paper"),
}
# --sweep: the penalty coefficient, for the study's setting and the paper's d_a, r.
SWEEP = {
    "study-penalty-0": {**attention_preset("study"), "model.attention_penalty": 0.0},
    "study-penalty-1": {**attention_preset("study"), "model.attention_penalty": 1.0},
    "paper-penalty-0.1": {**attention_preset("paper"), "model.attention_penalty": 0.1},
}
CONFIGS = {**POOLINGS, **SWEEP}
DEFAULT = RunConfig().model.pooling
KEYS = ("avgrec", "f1_pn", "accuracy")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def split_files(folder: Path) -> tuple[list[str], list[str]]:
    files = sorted(folder.glob("twitter-*-A.tsv"))
    return [str(f) for f in files if f.name != TEST], [str(folder / TEST)]


def run_one(name: str, seed: int, data: Path, out: Path, epochs: int) -> dict:
    """Train one (pooling, seed) and evaluate it on the test file; cached as JSON."""
    import torch

    from tweetsent.runs.evaluate import evaluate
    from tweetsent.runs.predict import Predictor
    from tweetsent.train import train

    result_path = out / "results" / f"{name}-seed{seed}.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    torch.set_num_threads(1)
    train_files, test_files = split_files(data)
    config = RunConfig().with_overrides(
        {
            **CONFIGS[name],
            "data.train": train_files,
            "data.workers": 1,
            "train.seed": seed,
            "train.epochs": epochs,
            "train.threads": 1,
            "train.progress": False,
            "out": str(out / "runs" / f"{name}-seed{seed}"),
        }
    )
    start = time.perf_counter()
    result = train(config, log=lambda line: print(f"[{name} seed {seed}] {line}", flush=True))
    seconds = time.perf_counter() - start
    predictor = Predictor.from_run(result.run_dir)
    test = evaluate(predictor, test_files)
    row = {
        "name": name,
        "seed": seed,
        "test": test.metrics,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "seconds": round(seconds, 1),
        "history": result.history,
        "penalty_test": attention_redundancy(predictor, test_files),
        "parameters": sum(p.numel() for p in predictor.model.parameters()),
    }
    result_path.parent.mkdir(parents=True, exist_ok=True)
    result_path.write_text(json.dumps(row, indent=1))
    return row


def attention_redundancy(predictor, test_files: list[str]) -> float | None:
    """Mean unweighted P = ||A A^T - I||_F^2 over the test tweets (None without attention)."""
    if not predictor.has_attention:
        return None
    from tweetsent.data import read_examples

    examples, _ = read_examples(test_files)
    values = []
    for pred in predictor.predict(examples.texts, attention=True):
        a = np.asarray(pred.attention_hops)  # (r, n)
        values.append(float(((a @ a.T - np.eye(len(a))) ** 2).sum()))
    return float(np.mean(values))


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summary_rows(results: list[dict]) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for name in CONFIGS:
        runs = [r for r in results if r["name"] == name]
        if not runs:
            continue
        row = {key: mean_sd([r["test"][key] for r in runs]) for key in KEYS}
        row["best_epoch"] = mean_sd([r["best_epoch"] for r in runs])
        row["epoch1"] = mean_sd([r["history"][0]["valid_avgrec"] for r in runs])
        row["best_valid"] = mean_sd([max(h["valid_avgrec"] for h in r["history"]) for r in runs])
        row["gap_best"] = mean_sd([r["history"][r["best_epoch"] - 1]["gap"] for r in runs])
        row["gap_last"] = mean_sd([r["history"][-1]["gap"] for r in runs])
        row["loss_rise"] = mean_sd([loss_rise(r["history"]) for r in runs])
        row["seconds"] = mean_sd([r["seconds"] / r["epochs_run"] for r in runs])
        row["n"] = len(runs)
        row["params"] = runs[0].get("parameters")
        if runs[0]["penalty_test"] is not None:
            row["penalty_test"] = mean_sd([r["penalty_test"] for r in runs])
        rows[name] = row
    return rows


def loss_rise(history: list[dict]) -> float:
    """Validation loss at the last epoch minus its minimum: > 0 once the model overfits."""
    losses = [h["valid_loss"] for h in history]
    return losses[-1] - min(losses)


def fmt(pair: tuple[float, float], digits: int = 4) -> str:
    return f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def markdown(rows: dict[str, dict]) -> str:
    head = [
        "| pooling | AvgRec | F1-PN | accuracy | best epoch | seeds |",
        "|---|---|---|---|---|---|",
    ]
    main = {k: v for k, v in rows.items() if k in POOLINGS}
    for name, r in main.items():
        label = f"**{name}** (default)" if name == DEFAULT else name
        cells = [fmt(r[k]) for k in KEYS] + [fmt(r["best_epoch"], 1), str(r["n"])]
        head.append(f"| {label} | {' | '.join(cells)} |")
    speed = [
        "",
        "Learning speed and overfitting (validation split; gap = train - valid accuracy; loss rise"
        " = last-epoch validation loss - its minimum; P = mean ||AA^T - I||_F^2 on the test"
        " tweets, unweighted; seconds per epoch with one thread):",
        "",
        "| pooling | valid AvgRec, epoch 1 | best valid AvgRec | gap at best | gap at last"
        " | loss rise | P (test) | s/epoch | parameters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in main.items():
        penalty = fmt(r["penalty_test"], 2) if "penalty_test" in r else "-"
        cells = [fmt(r["epoch1"]), fmt(r["best_valid"]), fmt(r["gap_best"], 3)]
        cells += [fmt(r["gap_last"], 3), fmt(r["loss_rise"], 3), penalty, f"{r['seconds'][0]:.0f}"]
        cells.append(f"{r['params']:,}")
        speed.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(head + speed + sweep_table(rows))


def sweep_table(rows: dict[str, dict]) -> list[str]:
    """The penalty coefficient: best validation AvgRec (what a default may be chosen on) and
    test AvgRec, for the study's and the paper's d_a and r."""
    names = ["study-penalty-0", "attention-study", "study-penalty-1"]
    names += ["paper-penalty-0.1", "attention-paper"]
    present = [n for n in names if n in rows]
    if not any(n in SWEEP for n in present):
        return []
    lines = [
        "",
        "Penalty coefficient (`--sweep`):",
        "",
        "| setting | d_a, r | coefficient | best valid AvgRec | test AvgRec | test F1-PN | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in present:
        model = RunConfig().with_overrides(CONFIGS[name]).model
        r = rows[name]
        cells = [f"{model.attention_da}, {model.attention_hops}", str(model.attention_penalty)]
        cells += [fmt(r["best_valid"]), fmt(r["avgrec"]), fmt(r["f1_pn"]), str(r["n"])]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return lines


def plot_curves(results: list[dict], path: Path) -> None:
    """Mean over seeds per epoch (seeds that reached it), the band spans the seeds; settings
    that collapsed (best valid AvgRec < 0.5) are drawn on a second row, on their own scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("valid_avgrec", "validation AvgRec"), ("valid_loss", "validation loss (+ penalty)"))
    panels += (("gap", "train - valid accuracy"), ("train_ce", "training cross-entropy"))
    fig, axes = plt.subplots(2, 4, figsize=(18, 7.5), layout="constrained", height_ratios=(2, 1))
    colours = plt.get_cmap("tab10")
    for i, name in enumerate(POOLINGS):
        runs = [r for r in results if r["name"] == name]
        if not runs:
            continue
        collapsed = max(h["valid_avgrec"] for r in runs for h in r["history"]) < 0.5
        for ax, (key, title) in zip(axes[int(collapsed)], panels, strict=True):
            epochs, mean, low, high = _per_epoch(runs, key)
            style = "-" if name.startswith("attention") else "--"
            ax.plot(epochs, mean, style, color=colours(i), marker="o", markersize=3, label=name)
            ax.fill_between(epochs, low, high, color=colours(i), alpha=0.15)
            ax.set_title(title + (" (collapsed)" if collapsed else ""), fontsize=10)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.xaxis.get_major_locator().set_params(integer=True)
    for row in axes:
        row[0].legend(fontsize=8)
    fig.suptitle(
        "SemEval-2017 4A validation split, BiLSTM(64) + GloVe 50d: mean over seeds, band = "
        "min..max; early stopping ends runs at different epochs",
        fontsize=10,
    )
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _value(row: dict, key: str) -> float:
    if key == "train_ce":  # the penalty term is logged on its own: take it out of the loss
        return row["train_loss"] - row.get("train_penalty", 0.0)
    return row[key]


def _per_epoch(runs: list[dict], key: str) -> tuple[list[int], ...]:
    last = max(len(r["history"]) for r in runs)
    epochs, mean, low, high = [], [], [], []
    for epoch in range(1, last + 1):
        rows = [r["history"][epoch - 1] for r in runs if len(r["history"]) >= epoch]
        values = [_value(row, key) for row in rows]
        epochs.append(epoch)
        mean.append(statistics.mean(values))
        low.append(min(values))
        high.append(max(values))
    return epochs, mean, low, high


def example_tweets(test_file: str, count: int = 3) -> list[str]:
    """The first test tweet of each label with 10-18 words: fixed, so the figures reproduce."""
    from tweetsent.data import read_examples

    examples, _ = read_examples([test_file])
    chosen = []
    for label in ("positive", "negative", "neutral")[:count]:
        for text, gold in zip(examples.texts, examples.labels, strict=True):
            if gold == label and 10 <= len(text.split()) <= 18 and "http" not in text:
                chosen.append((label, text))
                break
    return chosen


def draw_heatmaps(out: Path, img: Path, test_file: str) -> list[str]:
    """The study preset (the default attention) on a few test tweets; without the penalty
    (study-penalty-0, from --sweep) on the same tweets, to show what the penalty changes."""
    from tweetsent.runs.explain import explain, render_png
    from tweetsent.runs.predict import Predictor

    lines = []
    for name, suffix in (("attention-study", ""), ("study-penalty-0", "_penalty0")):
        run = out / "runs" / f"{name}-seed1"
        if not run.is_dir():
            continue
        predictor = Predictor.from_run(run)
        penalty = predictor.run.config.model.attention_penalty
        for k, (gold, text) in enumerate(example_tweets(test_file), start=1):
            path = img / f"attention_tweet_{k}{suffix}.png"
            explanation = explain(predictor, text)
            render_png(explanation, path)
            alt = f"{name} (penalty {penalty}, seed 1): gold {gold}, predicted {explanation.label}"
            lines += [f"![{alt}](img/{path.name})", ""]
    return lines


def pressure_table(out: Path, train_files: list[str]) -> str:
    """bench/attention_pressure.py's table, cached in OUT/pressure.md."""
    cached = out / "pressure.md"
    if not cached.is_file():
        from attention_pressure import run as pressure

        cached.write_text(pressure(train_files)[1] + "\n", encoding="utf-8")
    return cached.read_text(encoding="utf-8")


def write_docs(doc: Path, block: str) -> None:
    text = (
        doc.read_text(encoding="utf-8")
        if doc.is_file()
        else f"# Self-attention\n\n{BEGIN}\n{END}\n"
    )
    before, _, rest = text.partition(BEGIN)
    _, _, after = rest.partition(END)
    doc.write_text(f"{before}{BEGIN}\n{block}\n{END}{after}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), help="these settings only")
    parser.add_argument("--sweep", action="store_true", help="add the penalty sweep (SWEEP)")
    parser.add_argument("--no-pressure", action="store_true", help="skip attention_pressure.py")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "attention")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "attention.md")
    parser.add_argument("--report-only", action="store_true", help="no training: cached results")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} not found: this benchmark needs the SemEval files")
    names = args.only or list(POOLINGS) + (list(SWEEP) if args.sweep else [])
    jobs = [(n, s) for s in range(1, args.seeds + 1) for n in names]
    if args.report_only:
        results = [json.loads(p.read_text()) for p in sorted((args.out / "results").glob("*.json"))]
    else:
        context = get_context("spawn")
        with ProcessPoolExecutor(args.parallel, mp_context=context) as pool:
            futures = [
                pool.submit(run_one, n, s, args.data, args.out, args.epochs) for n, s in jobs
            ]
            results = [f.result() for f in futures]
    rows = summary_rows(results)
    table = markdown(rows)
    print(table)
    img = args.docs.parent / "img"
    img.mkdir(parents=True, exist_ok=True)
    plot_curves(results, img / "attention_curves.png")
    figures = ["![learning curves](img/attention_curves.png)", ""]
    figures += draw_heatmaps(args.out, img, split_files(args.data)[1][0])
    command = "nice -n 15 python bench/attention_compare.py --seeds 3 --parallel 2 --sweep"
    block = f"Regenerate: `{command}`\n\n{table}\n\n" + "\n".join(figures)
    if not args.no_pressure:
        block += "\n" + pressure_table(args.out, split_files(args.data)[0])
    write_docs(args.docs, block)
    (args.out / "summary.json").write_text(json.dumps(rows, indent=1))
    print(f"written: {args.docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
