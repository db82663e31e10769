"""What the biLM reads: raw cased pieces, lowercased pieces or the classifier's cleaned tokens
(issue 16). Pretrains one small biLM per tokenization on the SemEval text, then trains the
default classifier on ELMo alone with each, 3 seeds, and scores it on twitter-2016test-A.

Protocol (docs/results.md): every SemEval-2017 4A file but twitter-2016test-A.tsv is the
pretraining corpus (column 2, the text) and the classifier's training data (10 % stratified
hold-out for validation and early stopping); twitter-2016test-A.tsv is only scored. Nothing is
chosen by test score: the shapes, budgets and rows are fixed here beforehand.

    biLMs (`tweetsent elmo pretrain`, same options, seed, budget; only --tokens differs):
      raw      the tweet's pieces of text at the normalizer's boundaries, original case
      lower    the same pieces lowercased
      cleaned  the classifier's tokens (`--clean`: lowercased, <url> <user> <number> ...)
    classifier rows (default BiLSTM(64), max pooling, the ELMo mix of the 3 layers beside GloVe
    50d, `--words glove-kumo`, the default; `--words none`: ELMo alone):
      raw/raw          raw biLM, embed.elmo_input = raw      (the new default)
      raw/cleaned      raw biLM, embed.elmo_input = cleaned  (an official-like cased biLM fed the
                                                              cleaned tokens: the old behaviour)
      lower/lower      lower biLM, embed.elmo_input = lower
      cleaned/cleaned  cleaned biLM, embed.elmo_input = cleaned (the earlier sessions' setup)

    PYTHONPATH=src nice -n 10 python bench/elmo/input_compare.py --out bench/out/elmo-input \
        [--pretrain-steps 46] [--epochs 8] [--seeds 3] [--threads 1] [--rows raw/raw,...] \
        [--words glove-kumo | none]

Resumable: a finished biLM (weights.hdf5) or run (results/ROW-seedN.json) is not redone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
TEST = "twitter-2016test-A.tsv"
KEYS = ("avgrec", "f1_pn", "accuracy")
ROWS = ("raw/raw", "raw/cleaned", "lower/lower", "cleaned/cleaned")
# A small biLM that pretrains a few hundred steps in minutes on one CPU core.
OPTIONS = {
    "lstm": {
        "use_skip_connections": True,
        "projection_dim": 32,
        "cell_clip": 3,
        "proj_clip": 3,
        "dim": 256,
        "n_layers": 2,
    },
    "char_cnn": {
        "activation": "relu",
        "filters": [[1, 16], [2, 16], [3, 32], [4, 64]],
        "n_highway": 1,
        "embedding": {"dim": 16},
        "n_characters": 261,
        "max_characters_per_token": 50,
    },
}


def split_files(folder: Path) -> tuple[list[str], list[str]]:
    files = sorted(folder.glob("twitter-*-A.tsv"))
    return [str(f) for f in files if f.name != TEST], [str(folder / TEST)]


def pretrain_bilm(tokens: str, files: list[str], out: Path, steps: int, minutes: float) -> dict:
    """One biLM per tokenization, same everything else (the same number of steps; a biLM
    stopped earlier, e.g. by --pretrain-minutes, is resumed from its checkpoint)."""
    from tweetsent.pretrain import PretrainConfig, pretrain

    folder = out / "bilm" / tokens
    done = folder / "bench.json"
    if done.is_file() and json.loads(done.read_text())["steps"] >= steps:
        return json.loads(done.read_text())
    options = out / "options.json"
    options.write_text(json.dumps(OPTIONS))
    config = PretrainConfig(
        corpus=tuple(files),
        out=str(folder),
        options=str(options),
        column=2,
        tokens=tokens,
        max_vocab=8192,
        batch_size=128,
        lr=2e-3,
        epochs=100,
        max_steps=steps,
        max_minutes=minutes,
        heldout_max=300,
        eval_every=0,
        checkpoint_every=0,
        device="cpu",
        progress=False,
    )
    result = pretrain(config, resume=(folder / "checkpoint").is_dir())
    last = result.history[-1]
    info = {"tokens": tokens, "steps": result.steps, "seconds": round(result.seconds, 1)}
    info.update(perplexity=round(last["mean"], 1), vocab=result.vocab_size)
    (folder / "bench.json").write_text(json.dumps(info))
    return info


def run_one(row: str, seed: int, args, files: list[str], test: list[str]) -> dict:
    """Train one (row, seed) and score it on the test file."""
    from tweetsent.config import RunConfig
    from tweetsent.runs.evaluate import evaluate
    from tweetsent.runs.predict import Predictor
    from tweetsent.train import train

    done = args.out / "results" / f"{args.words}-{row.replace('/', '-')}-seed{seed}.json"
    if done.is_file():
        return json.loads(done.read_text())
    bilm, elmo_input = row.split("/")
    folder = args.out / "bilm" / bilm
    name = f"{args.words}-{bilm}-{elmo_input}-seed{seed}"
    config = RunConfig().with_overrides(
        {
            "data.train": files,
            "data.cache_dir": str(args.out / "cache"),
            "out": str(args.out / "runs" / name),
            "embed.kind": "elmo",
            "embed.elmo_options": str(folder / "options.json"),
            "embed.elmo_weights": str(folder / "weights.hdf5"),
            "embed.elmo_concat": args.words,
            "embed.elmo_input": elmo_input,
            "train.seed": seed,
            "train.device": "cpu",
            "train.threads": args.threads,
            "train.progress": False,
            "train.epochs": args.epochs,
        }
    )
    start = time.perf_counter()
    result = train(config, log=lambda line: print(f"  [{name}] {line}", flush=True))
    seconds = time.perf_counter() - start
    predictor = Predictor.from_run(result.run_dir, workers=1)
    test_start = time.perf_counter()
    scored = evaluate(predictor, test)
    out = {"row": row, "words": args.words, "seed": seed}
    out.update({k: scored.metrics[k] for k in KEYS})
    out.update(valid_avgrec=result.metrics["avgrec"], best_epoch=result.best_epoch)
    out.update(epochs=len(result.history), train_seconds=round(seconds, 1))
    out.update(test_seconds=round(time.perf_counter() - test_start, 1))
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps(out, indent=2))
    return out


def markdown(rows: list[dict], bilms: dict[str, dict]) -> str:
    lines = [
        "| biLM pretrained on | biLM reads | test AvgRec | test F1-PN | test accuracy | "
        "valid AvgRec | seeds | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        runs = [r for r in rows if r["row"] == row]
        if not runs:
            continue
        cells = []
        for key in (*KEYS, "valid_avgrec"):
            values = [r[key] for r in runs]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.4f} ± {sd:.4f}")
        seconds = statistics.mean(r["train_seconds"] for r in runs)
        bilm, reads = row.split("/")
        lines.append(f"| {bilm} | {reads} | {' | '.join(cells)} | {len(runs)} | {seconds:.0f} |")
    lines += ["", "| biLM | steps | pretraining s | held-out perplexity | vocabulary |"]
    lines += ["|---|---|---|---|---|"]
    for name, b in bilms.items():
        lines.append(
            f"| {name} | {b['steps']} | {b['seconds']} | {b['perplexity']} | {b['vocab']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=Path("bench/out/elmo-input"))
    parser.add_argument("--pretrain-steps", type=int, default=46, help="biLM training steps")
    parser.add_argument("--pretrain-minutes", type=float, default=0.0, help="cap (0: none)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=10, help="the default model's budget")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument(
        "--words", default="glove-kumo", help="word vectors beside ELMo: none | glove-kumo"
    )
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} not found: this benchmark needs the SemEval files")
    import torch

    torch.set_num_threads(args.threads)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    files, test = split_files(args.data)
    rows = [r for r in args.rows.split(",") if r]
    started = time.perf_counter()
    bilms = {}
    for tokens in dict.fromkeys(r.split("/")[0] for r in rows):
        bilms[tokens] = pretrain_bilm(
            tokens, files, args.out, args.pretrain_steps, args.pretrain_minutes
        )
        print(f"biLM {tokens}: {bilms[tokens]}", flush=True)
    results = []
    for seed in range(1, args.seeds + 1):
        for row in rows:
            results.append(run_one(row, seed, args, files, test))
            print(json.dumps(results[-1]), flush=True)
    table = markdown(results, bilms)
    print(table)
    print(f"wall {time.perf_counter() - started:.0f} s")
    report = {"runs": results, "bilms": bilms, "wall_seconds": time.perf_counter() - started}
    (args.out / f"results-{args.words}.json").write_text(json.dumps(report, indent=2))
    (args.out / f"results-{args.words}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
