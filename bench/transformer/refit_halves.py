"""Does a recipe gain from training its chosen members on the validation tweets as well
(`ensemble.refit`)? Measured on validation only, by cross-fitting its two halves.

For each seed and each half H of the validation split (twitter-2016dev-A, devtest-A), O the
other half:

- held out (what the recipe without refit does): the members trained on the training files
  (their runs from the 2016 protocol, OUT/STAGE1 patterns), the mixture's weights fitted on O
  (`runs.ensemble.fit_weights`, the recipe's rule), scored on H;
- refit: every member trained again on the training files + O, for the epochs its held-out run
  kept (`train.keep = "last"`: H chooses nothing), mixed with the same weights, scored on H.

H is never trained on, and no test tweet is read. One JSON row per (seed, H), appended to
OUT/refit_halves.jsonl as soon as it is measured.

    python bench/transformer/refit_halves.py --seeds 1 2 3 [--members ngram bilstm] [--threads 1]
    python bench/transformer/refit_halves.py --seeds 1 2 --refit finetuned   # one member refit

A member not named by --refit is mixed as it was trained (no refit run).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from tweetsent.config import RunConfig
from tweetsent.metrics import compute_metrics
from tweetsent.runs.ensemble import fit_weights
from tweetsent.runs.predict import Predictor
from tweetsent.train import train
from tweetsent.train.recipe import member_config, refit_config

HERE = Path(__file__).resolve()
SPEC = importlib.util.spec_from_file_location("accuracy", HERE.parent / "accuracy.py")
acc = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(acc)
ROOT, DATA = acc.ROOT, acc.DATA
RECIPE = ROOT / "configs" / "semeval-transformer.toml"
MEMBERS = {  # name: (member config, its run under the 2016 protocol, relative to OUT)
    "finetuned": ("semeval-transformer/finetuned.toml", "recipe-s{seed}/members/finetuned"),
    "frozen": ("semeval-transformer/frozen.toml", "runs/frozen-bilstm-l3-proj64-s{seed}"),
    "ngram": ("semeval-best/ngram.toml", "recipe-s{seed}/members/ngram"),
    "bilstm": ("semeval-best/bilstm.toml", "recipe-s{seed}/members/bilstm"),
}
HALVES = {"dev": "twitter-2016dev-A.tsv", "devtest": "twitter-2016devtest-A.tsv"}


def held_probs(run: Path, texts: list[str]) -> np.ndarray:
    return Predictor.from_run(run).predict_proba(texts).astype(np.float64)


def refit_member(
    name: str, seed: int, other: str, out: Path, threads: int, held: Path
) -> tuple[Path, float]:
    """The member trained on the training files + `other` half, validated on the held one."""
    run = out / "halves" / f"{name}+{other}-s{seed}"
    if (run / "metrics.json").is_file() and (run / "model.safetensors").is_file():
        return run, 0.0  # measured before: kept
    held_half = next(h for h in HALVES if h != other)
    recipe = RunConfig.from_toml(RECIPE).with_overrides(
        {
            "data.train": [str(DATA / f) for f in [*acc.TRAIN, HALVES[other]]],
            "data.valid": [str(DATA / HALVES[held_half])],
            "data.cache_dir": str(out / "cache"),
            "train.seed": seed,
            "train.threads": threads,
            "train.progress": False,
        }
    )
    config = member_config(recipe, ROOT / "configs" / MEMBERS[name][0], run)
    # refit_config adds the validation half to training: here it is scored, so the extra
    # tweets are given as a training file instead, with the same epochs and last-epoch rule
    config = refit_config(config, held)
    config = replace(config, data=replace(config.data, train_on_valid=False))
    start = time.perf_counter()
    train(config, log=lambda _line: None)
    return run, time.perf_counter() - start


def avgrec(probs: np.ndarray, labels: np.ndarray, names: list[str]) -> float:
    return compute_metrics(labels, probs.argmax(1), names)["avgrec"]


def run_half(
    seed: int, held_half: str, members: list[str], out: Path, threads: int, refit: list[str]
) -> dict:
    from tweetsent.data import read_examples

    other = next(h for h in HALVES if h != held_half)
    sets = {h: read_examples([str(DATA / f)])[0] for h, f in HALVES.items()}
    row: dict = {"seed": seed, "scored_on": held_half, "members": {}, "train_seconds": {}}
    row["refit"] = refit
    base_h, base_o, refit_h = [], [], []
    names: list[str] = []
    for name in members:
        held = out / MEMBERS[name][1].format(seed=seed)
        names = list(Predictor.from_run(held).labels)
        base_h.append(held_probs(held, sets[held_half].texts))
        base_o.append(held_probs(held, sets[other].texts))
        if name not in refit:  # kept as trained
            refit_h.append(base_h[-1])
            continue
        run, seconds = refit_member(name, seed, other, out, threads, held)
        row["train_seconds"][name] = round(seconds, 1)
        refit_h.append(held_probs(run, sets[held_half].texts))
    labels_h = np.array([names.index(x) for x in sets[held_half].labels])
    labels_o = np.array([names.index(x) for x in sets[other].labels])
    weights, _ = fit_weights(base_o, labels_o, len(names))
    for name, b, r in zip(members, base_h, refit_h, strict=True):
        row["members"][name] = {
            "held_out": avgrec(b, labels_h, names),
            "refit": avgrec(r, labels_h, names),
        }
    mix = np.asarray(weights)
    row["weights"] = [round(float(w), 3) for w in mix]
    row["ensemble"] = {
        "held_out": avgrec(np.tensordot(mix, np.stack(base_h), axes=1), labels_h, names),
        "refit": avgrec(np.tensordot(mix, np.stack(refit_h), axes=1), labels_h, names),
    }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--halves", nargs="+", default=list(HALVES), choices=list(HALVES))
    parser.add_argument("--members", nargs="+", default=list(MEMBERS), choices=list(MEMBERS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "transformer")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--refit", nargs="+", choices=list(MEMBERS), help="default: --members")
    args = parser.parse_args()
    for seed in args.seeds:
        for half in args.halves:
            refit = args.refit or args.members
            row = run_half(seed, half, args.members, args.out, args.threads, refit)
            with open(args.out / "refit_halves.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
