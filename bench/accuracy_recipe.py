"""Lexicons, word clusters, the n-gram model and ensembles on SemEval-2017 Task 4A.

The protocol of docs/results.md (train on every shared file but twitter-2016test-A.tsv, a
stratified 10% held out for validation, early stopping and the ensemble weights; report on
twitter-2016test-A.tsv), one row per configuration, seeds 1..N:

  recipe        `configs/semeval-best.toml` trained end to end (`train(recipe)`): the ensemble,
                and each of its members scored alone (they are ordinary runs)
  uniform       the same members mixed with equal weights (`build_ensemble(weights="uniform")`)
  ablations     BiLSTM (the search's choice) with each lexicon family; the n-gram model without
                lexicons, without clusters, with neither; the default BiLSTM mixed with the
                n-gram model; a CNN and a GRU with attention (the recipe's BiLSTM settings
                otherwise) alone and as a third member of the recipe; the recipe's BiLSTM with
                tweet-level features or word clusters
  bagged        (after the recipe for every seed) the members of all seeds mixed at once

    python bench/accuracy_recipe.py --seeds 1 2 3 [--only recipe] [--rows cnn ...] [--out DIR]
    python bench/accuracy_recipe.py --report [--out bench/out/recipe]   # the markdown table

Each (row, seed) is saved as soon as it is measured (`OUT/results.jsonl`), so seeds can run in
parallel processes and an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tweetsent.config import RunConfig
from tweetsent.runs.ensemble import build_ensemble
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATA = SHARED / "semeval2017-task4a"
LEX = SHARED / "lexicons"
TEST = "twitter-2016test-A.tsv"
RECIPE = ROOT / "configs" / "semeval-best.toml"
BEST = ROOT / "configs" / "search-best.toml"
MEMBERS = ROOT / "configs" / "semeval-best"
MANUAL = [
    "vader",
    str(LEX / "BingLiu.csv.gz"),
    str(LEX / "mpqa.txt.gz"),
    str(LEX / "NRC-emotion-lexicon-wordlevel-v0.92.txt.gz"),
    str(LEX / "AFINN-en-165.txt.gz"),
    str(LEX / "AFINN-emoticon-8.txt.gz"),
]
PMI = [
    str(LEX / "Sentiment140-Lexicon-v0.1-unigrams-pmilexicon.txt.gz"),
    str(LEX / "NRC-Hashtag-Sentiment-Lexicon-v0.1-unigrams-pmilexicon.txt.gz"),
]
KEYS = ("avgrec", "f1_pn", "accuracy")

# name -> (base config file, overrides)
ABLATIONS: dict[str, tuple[Path | None, dict]] = {
    "bilstm-default": (None, {}),
    "bilstm-manual-lexicons": (BEST, {"embed.lexicon": MANUAL}),
    "bilstm-vader-pmi-lexicons": (BEST, {"embed.lexicon": ["vader", *PMI]}),
    "bilstm-tweet-features": (MEMBERS / "bilstm.toml", {"model.tweet_features": True}),
    "bilstm-clusters": (MEMBERS / "bilstm.toml", {"embed.clusters": str(LEX / "50mpaths2.txt.gz")}),
    "cnn": (MEMBERS / "bilstm.toml", {"model.kind": "cnn"}),
    "gru-attention": (
        MEMBERS / "bilstm.toml",
        {
            "model.cell": "gru",
            "model.pooling": "attention",
            "model.attention_hops": 1,
            "model.attention_penalty": 0.0,
        },
    ),
    "ngram-no-lexicons": (MEMBERS / "ngram.toml", {"embed.lexicon": []}),
    "ngram-no-clusters": (
        MEMBERS / "ngram.toml",
        {"embed.clusters": "", "embed.cluster_vocab": False},
    ),
    "ngram-words-only": (
        MEMBERS / "ngram.toml",
        {"embed.lexicon": [], "embed.clusters": "", "embed.cluster_vocab": False},
    ),
}


def files() -> tuple[list[str], list[str]]:
    names = sorted(DATA.glob("twitter-*-A.tsv"))
    return [str(f) for f in names if f.name != TEST], [str(DATA / TEST)]


def base_overrides(seed: int, out: Path) -> dict:
    train_files, _ = files()
    return {
        "data.train": train_files,
        "train.seed": seed,
        "train.threads": 1,  # one thread per process: seeds run side by side on 2 cores
        "train.progress": False,
        "out": str(out),
    }


def score(run_dir: Path) -> dict:
    _, test = files()
    return dict(evaluate(Predictor.from_run(run_dir), test).metrics)


def record(out: Path, row: str, seed: int, metrics: dict, seconds: float | None) -> None:
    line = {"row": row, "seed": seed, **{k: metrics[k] for k in KEYS}, "seconds": seconds}
    with open(out / "results.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    print(f"{row} seed {seed}: " + " ".join(f"{k} {metrics[k]:.4f}" for k in KEYS), flush=True)


def done(out: Path) -> set[tuple[str, int]]:
    path = out / "results.jsonl"
    if not path.is_file():
        return set()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["row"], r["seed"]) for r in rows}


def run_recipe(out: Path, seed: int, have: set) -> None:
    run = out / f"recipe-seed{seed}"
    if ("recipe", seed) not in have:
        config = RunConfig.from_toml(RECIPE).with_overrides(base_overrides(seed, run))
        start = time.perf_counter()
        train(config, log=lambda line: print(f"  [recipe {seed}] {line}", flush=True))
        seconds = time.perf_counter() - start
        record(out, "recipe", seed, score(run), seconds)
        for member in ("ngram", "bilstm"):
            record(out, f"recipe-member-{member}", seed, score(run / "members" / member), None)
    if ("recipe-uniform", seed) not in have:
        members = [run / "members" / "ngram", run / "members" / "bilstm"]
        uniform = out / f"recipe-uniform-seed{seed}"
        if not uniform.exists():
            build_ensemble(members, uniform, weights="uniform", log=lambda line: None)
        record(out, "recipe-uniform", seed, score(uniform), None)


def run_ablation(out: Path, seed: int, name: str, have: set) -> None:
    if (name, seed) in have:
        return
    base, overrides = ABLATIONS[name]
    config = RunConfig.from_toml(base) if base else RunConfig()
    run = out / f"{name}-seed{seed}"
    config = config.with_overrides({**overrides, **base_overrides(seed, run)})
    start = time.perf_counter()
    train(config, log=lambda line: None)
    record(out, name, seed, score(run), time.perf_counter() - start)


def run_mixed(out: Path, seed: int, have: set) -> None:
    """The default BiLSTM (no lexicon, no clusters) mixed with the recipe's n-gram member; the
    recipe's members with a CNN or a GRU with attention as a third member (fitted weights)."""
    recipe = out / f"recipe-seed{seed}" / "members"
    rows = {
        "default-bilstm+ngram": [out / f"bilstm-default-seed{seed}", recipe / "ngram"],
        "recipe+cnn": [recipe / "ngram", recipe / "bilstm", out / f"cnn-seed{seed}"],
        "recipe+gru-attention": [
            recipe / "ngram",
            recipe / "bilstm",
            out / f"gru-attention-seed{seed}",
        ],
    }
    for row, members in rows.items():
        if (row, seed) in have or not all(m.is_dir() for m in members):
            continue
        mixed = out / f"{row}-seed{seed}"
        if not mixed.exists():
            build_ensemble(members, mixed, weights="fit", log=lambda line: None)
        record(out, row, seed, score(mixed), None)


def run_bagged(out: Path, seeds: list[int], have: set) -> None:
    """Seed bagging: both members of every seed's recipe in one uniform ensemble (one figure)."""
    key = int("".join(map(str, seeds)))
    if ("bagged", key) in have:
        return
    members = [out / f"recipe-seed{s}" / "members" / m for s in seeds for m in ("ngram", "bilstm")]
    bagged = out / f"bagged-{key}"
    if not bagged.exists():
        build_ensemble(members, bagged, weights="uniform", log=lambda line: None)
    record(out, "bagged", key, score(bagged), None)


def report(out: Path) -> str:
    rows: dict[str, list[dict]] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            rows.setdefault(entry["row"], []).append(entry)
    lines = [
        "| row | AvgRec | F1-PN | accuracy | seeds | train time |",
        "|---|---|---|---|---|---|",
    ]
    for name, entries in rows.items():
        cells = []
        for key in KEYS:
            values = [e[key] for e in entries]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.4f} ± {sd:.4f}")
        seconds = [e["seconds"] for e in entries if e["seconds"] is not None]
        took = f"{statistics.mean(seconds):.0f} s" if seconds else "-"
        lines.append(f"| {name} | {' | '.join(cells)} | {len(entries)} | {took} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--only", choices=["recipe", "ablations", "bagged"], default=None)
    parser.add_argument("--out", type=Path, default=Path("bench/out/recipe"))
    parser.add_argument("--rows", nargs="+", choices=list(ABLATIONS), help="only these ablations")
    parser.add_argument("--report", action="store_true", help="print the table and stop")
    args = parser.parse_args()
    if args.report:
        print(report(args.out))
        return
    if not DATA.is_dir() or not LEX.is_dir():
        raise SystemExit(f"{SHARED} not found: this benchmark needs the shared SemEval data")
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        if args.only in (None, "recipe"):
            run_recipe(args.out, seed, done(args.out))
        if args.only in (None, "ablations"):
            for name in args.rows or ABLATIONS:
                run_ablation(args.out, seed, name, done(args.out))
            if (args.out / f"recipe-seed{seed}").is_dir():
                run_mixed(args.out, seed, done(args.out))
    recipes = all((args.out / f"recipe-seed{s}").is_dir() for s in args.seeds)
    if args.only in (None, "bagged") and len(args.seeds) > 1 and recipes:
        run_bagged(args.out, args.seeds, done(args.out))


if __name__ == "__main__":
    main()
