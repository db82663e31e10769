"""Ensembles of runs already trained under the 2016 protocol, weights fitted on validation
(`build_ensemble(..., weights="fit")`, what a recipe's last step does), scored on
twitter-2016test-A from each member's probabilities once (bench/transformer/recipe.py).

    python bench/transformer/ensembles.py --seeds 1 2 3 --name recipe+frozen \\
        --members "recipe-s{seed}/members/finetuned" "recipe-s{seed}/members/ngram" \\
                  "recipe-s{seed}/members/bilstm" "runs/frozen-bilstm-s{seed}"

Member paths are relative to --out, with {seed} filled in. One JSON row per seed, appended to
OUT/ensembles.jsonl: validation scores of the ensemble and of each member, fitted weights,
test scores.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
from pathlib import Path

from tweetsent.runs.ensemble import build_ensemble

HERE = Path(__file__).resolve()
SPEC = importlib.util.spec_from_file_location("recipe", HERE.parent / "recipe.py")
recipe = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(recipe)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--name", required=True)
    parser.add_argument("--members", nargs="+", required=True)
    parser.add_argument("--out", type=Path, default=recipe.ROOT / "bench" / "out" / "transformer")
    parser.add_argument("--no-test", action="store_true")
    args = parser.parse_args()
    for seed in args.seeds:
        members = [args.out / m.format(seed=seed) for m in args.members]
        dest = args.out / "ensembles" / f"{args.name}-s{seed}"
        shutil.rmtree(dest, ignore_errors=True)
        build_ensemble(members, dest, weights="fit", log=lambda _: None)
        meta = json.loads((dest / "meta.json").read_text())
        weights = meta["ensemble"]["weights"]
        valid = meta["ensemble"]["validation"]
        row = {
            "name": args.name,
            "seed": seed,
            "weights": dict(zip(meta["ensemble"]["members"], weights, strict=True)),
            "valid": {k: round(v, 4) for k, v in valid["ensemble"].items() if k in recipe.KEYS},
            "valid_members": {n: round(m["avgrec"], 4) for n, m in valid["members"].items()},
            "test": None if args.no_test else recipe.test_scores(members, weights),
        }
        with open(args.out / "ensembles.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
