"""Transformer members on SemEval-2017 Task 4A under the 2016 protocol (docs/search.md):
train on 2013-2015 + twitter-2016train-A (25,703 tweets), select on twitter-2016dev-A +
devtest-A (3,999; early stopping and every choice), report on twitter-2016test-A (20,632).

One row per (configuration, seed), appended to OUT/results.jsonl as soon as it is measured:
validation and test AvgRec / F1-PN / accuracy, training seconds, peak RSS, run size.

    python bench/transformer/accuracy.py --rows finetune --seeds 1 [--model DIR] [--out DIR]
    python bench/transformer/accuracy.py --report [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from tweetsent.config import RunConfig
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
MODEL = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
TEST = DATA / "twitter-2016test-A.tsv"
VALID = ["twitter-2016dev-A.tsv", "twitter-2016devtest-A.tsv"]
TRAIN = [
    "twitter-2013train-A.tsv",
    "twitter-2013dev-A.tsv",
    "twitter-2013test-A.tsv",
    "twitter-2014test-A.tsv",
    "twitter-2014sarcasm-A.tsv",
    "twitter-2015train-A.tsv",
    "twitter-2015test-A.tsv",
    "twitter-2016train-A.tsv",
]
KEYS = ("avgrec", "f1_pn", "accuracy")

LEXICONS = [
    "vader",
    *(
        str(ROOT.parent / "shared" / "data" / "lexicons" / name)
        for name in (
            "Sentiment140-Lexicon-v0.1-unigrams-pmilexicon.txt.gz",
            "NRC-Hashtag-Sentiment-Lexicon-v0.1-unigrams-pmilexicon.txt.gz",
            "BingLiu.csv.gz",
            "mpqa.txt.gz",
            "NRC-emotion-lexicon-wordlevel-v0.92.txt.gz",
            "AFINN-en-165.txt.gz",
            "AFINN-emoticon-8.txt.gz",
        )
    ),
]
FINETUNE = {
    "embed.kind": "transformer",
    "model.kind": "transformer",
    "model.pooling": "mean",
    "model.output_dropout": 0.1,
    "train.optimizer": "adamw",
    "train.lr": 1e-3,  # the head
    "train.encoder_lr": 5e-5,
    "train.weight_decay": 0.01,
    "train.schedule": "linear",
    "train.warmup": 0.06,
    "train.batch_size": 32,
    "train.clip_norm": 1.0,
    "train.patience": 1,
}
FROZEN = {
    "embed.kind": "transformer",
    "embed.transformer_dropout": 0.2,
    "model.kind": "rnn",
    "model.hidden_size": 64,
    "model.pooling": "max",
    "model.output_dropout": 0.3,
    "train.lr": 2e-3,
    "train.batch_size": 128,
    "train.epochs": 10,
    "train.patience": 3,
}
ROWS: dict[str, dict] = {
    "finetune-1ep": {**FINETUNE, "train.epochs": 1},
    "finetune-2ep": {**FINETUNE, "train.epochs": 2},
    "finetune-3ep-ld": {
        **FINETUNE,
        "train.epochs": 3,
        "train.layer_decay": 0.8,
        "train.encoder_lr": 8e-5,
    },
    "finetune-1ep-lr1e-4": {**FINETUNE, "train.epochs": 1, "train.encoder_lr": 1e-4},
    "finetune-1ep-lr2e-4-ld": {
        **FINETUNE,
        "train.epochs": 1,
        "train.encoder_lr": 2e-4,
        "train.layer_decay": 0.8,
    },
    # the n-gram member's eight lexicons, as tweet-level features beside the pooled vector
    "finetune-1ep-lex": {
        **FINETUNE,
        "train.epochs": 1,
        "embed.lexicon": LEXICONS,
        "model.tweet_features": True,
    },
    "frozen-bilstm": FROZEN,
    "frozen-bilstm-keep": {**FROZEN, "embed.transformer_emoji": "keep"},
    "frozen-bilstm-last": {**FROZEN, "embed.transformer_layers": "6"},
    "frozen-bilstm-proj64": {**FROZEN, "embed.transformer_proj": 64},
    "frozen-bilstm-last-proj64": {
        **FROZEN,
        "embed.transformer_layers": "6",
        "embed.transformer_proj": 64,
    },
    **{  # one chosen layer through a 64-column projection: the epoch-cost bar's configuration
        f"frozen-bilstm-l{layer}-proj64": {
            **FROZEN,
            "embed.transformer_layers": str(layer),
            "embed.transformer_proj": 64,
        }
        for layer in (2, 3, 4, 5)
    },
    "frozen-bilstm-last-proj128": {
        **FROZEN,
        "embed.transformer_layers": "6",
        "embed.transformer_proj": 128,
    },
    "frozen-ff": {**FROZEN, "model.kind": "feedforward", "model.mlp_hidden": 128},
    "glove-bilstm": {"model.pooling": "max", "train.epochs": 10, "train.batch_size": 128},
}


def run_row(
    name: str, seed: int, out: Path, model: Path, threads: int, test: bool, plus: str = ""
) -> dict:
    """One row; `plus` ("dev" or "devtest") moves that validation half into training, the row
    then named NAME+dev and scored on the other half (does the 2016 data help 2016 tweets?)."""
    train_files, valid_files = list(TRAIN), list(VALID)
    if plus:
        half = f"twitter-2016{plus}-A.tsv"
        train_files.append(half)
        valid_files.remove(half)
        name_plus = f"{name}+{plus}"
    else:
        name_plus = name
    run_dir = out / "runs" / f"{name_plus}-s{seed}"
    overrides = {
        **ROWS[name],
        "data.train": [str(DATA / f) for f in train_files],
        "data.valid": [str(DATA / f) for f in valid_files],
        "data.cache_dir": str(out / "cache"),
        "train.seed": seed,
        "train.threads": threads,
        "out": str(run_dir),
    }
    if overrides.get("embed.kind") == "transformer":
        overrides["embed.transformer"] = str(model)
    config = RunConfig().with_overrides(overrides)
    start = time.perf_counter()
    result = train(config)
    seconds = time.perf_counter() - start
    scores = evaluate(Predictor.from_run(run_dir), [str(TEST)]).metrics if test else None
    size = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    ckpt = sum(p.stat().st_size for p in (run_dir / "checkpoint").rglob("*") if p.is_file())
    return {
        "row": name_plus,
        "seed": seed,
        "valid": {k: result.metrics[k] for k in KEYS},
        "test": {k: scores[k] for k in KEYS} if scores else None,
        "best_epoch": result.best_epoch,
        "epochs": [h["seconds"] for h in result.history],
        "train_seconds": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "run_mb": round((size - ckpt) / 1e6, 1),
        "threads": threads,
    }


def report(out: Path) -> str:
    rows: dict[str, list[dict]] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        item = json.loads(line)
        rows.setdefault(item["row"], []).append(item)
    lines = [
        "| row | seeds | valid AvgRec | test AvgRec | test F1-PN | test acc | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, items in rows.items():
        if any(i["test"] is None for i in items):
            continue

        def cell(part, key, items=items):
            values = [i[part][key] for i in items]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.4f} ± {sd:.4f}"

        secs = statistics.mean(i["train_seconds"] for i in items)
        lines.append(
            f"| {name} | {len(items)} | {cell('valid', 'avgrec')} | {cell('test', 'avgrec')} "
            f"| {cell('test', 'f1_pn')} | {cell('test', 'accuracy')} | {secs:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["frozen-bilstm"], choices=sorted(ROWS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "transformer")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--no-test", action="store_true", help="validation scores only")
    parser.add_argument(
        "--plus",
        choices=["dev", "devtest"],
        default="",
        help="train on this 2016 validation half too, validate on the other",
    )
    args = parser.parse_args()
    if args.report:
        print(report(args.out))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for name in args.rows:
            row = run_row(
                name, seed, args.out, args.model, args.threads, not args.no_test, args.plus
            )
            with open(args.out / "results.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
