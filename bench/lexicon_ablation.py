"""What the lexicon features add, under the search's 2016 protocol (docs/search.md).

Four models on the same split (train: 2013-2015 + twitter-2016train-A; validation:
twitter-2016dev-A + twitter-2016devtest-A), seeds 1..N, scored on twitter-2016test-A.tsv:
the default model, the default + VADER lexicon features, the search's choice
(configs/search-best.toml) without the lexicon, and the search's choice. Runs already in
--out are reused (the default and the choice are those bench/search_semeval.py --protocol
dev2016 --more-seeds 10 trained, when --out is its folder).

    nice -n 5 python bench/lexicon_ablation.py [--seeds 10] [--out searches/semeval16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from tweetsent.config import RunConfig
from tweetsent.io import write_json
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.search import load_space
from tweetsent.train import train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
TEST = DATA / "twitter-2016test-A.tsv"
# the split of the 2016 protocol, as its search stages define it
_BASE = load_space(ROOT / "configs" / "search" / "semeval16-coarse.toml").base
SPLIT = {
    "data.train": _BASE.data.train,
    "data.valid": _BASE.data.valid,
    "data.workers": 1,
    "train.threads": 1,
    "train.progress": False,
}
BEST = RunConfig.from_toml(ROOT / "configs" / "search-best.toml")
# name -> (base config, overrides, run folder prefix shared with bench/search_semeval.py)
MODELS = {
    "default": (RunConfig(), {}, "default-seed"),
    "default + lexicon": (RunConfig(), {"embed.lexicon": "vader"}, "default-lexicon-seed"),
    "search's choice without lexicon": (BEST, {"embed.lexicon": ""}, "chosen-nolexicon-seed"),
    "search's choice": (BEST, {}, "chosen-seed"),
}
KEYS = ("avgrec", "f1_pn", "accuracy")


def run(name: str, seed: int, out: Path) -> dict:
    base, overrides, prefix = MODELS[name]
    run_dir = out / f"{prefix}{seed}"
    if name == "search's choice" and seed <= 3:  # seeds 1-3 ran in the confirmation stage
        run_dir = _confirm_run(out, seed) or run_dir
    if not (run_dir / "metrics.json").is_file():
        config = base.with_overrides(
            {**SPLIT, **overrides, "train.seed": seed, "out": str(run_dir)}
        )
        train(config, log=lambda line: print(f"{name} seed {seed}: {line}", flush=True))
    valid = json.loads((run_dir / "metrics.json").read_text())["metrics"]["avgrec"]
    test = evaluate(Predictor.from_run(run_dir), [str(TEST)]).metrics
    return {"seed": seed, "valid_avgrec": valid, **{k: test[k] for k in KEYS}, "run": str(run_dir)}


def _confirm_run(out: Path, seed: int) -> Path | None:
    results = out / "results.json"
    if not results.is_file():
        return None
    confirm = json.loads(results.read_text())["confirm"]
    chosen = confirm["configs"][confirm["chosen"]]
    return dict(zip(chosen["seeds"], map(Path, chosen["run_dirs"]), strict=True)).get(seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("searches/semeval16"))
    args = parser.parse_args()
    if not TEST.is_file():
        print(f"skip: {DATA} not found", file=sys.stderr)
        return 0
    seeds = range(1, args.seeds + 1)
    rows = {name: [run(name, s, args.out) for s in seeds] for name in MODELS}
    summary = {
        name: {
            key: {
                "mean": statistics.mean(r[key] for r in runs),
                "sd": statistics.stdev(r[key] for r in runs),
            }
            for key in ("valid_avgrec", *KEYS)
        }
        for name, runs in rows.items()
    }
    write_json(
        args.out / "lexicon_ablation.json", {"seeds": list(seeds), "runs": rows, "summary": summary}
    )
    print(f"seeds 1-{args.seeds}, test = {TEST.name} (mean ± sd)\n")
    print("| model | valid AvgRec | test AvgRec | test F1-PN | test accuracy |")
    print("|---|---|---|---|---|")
    for name, s in summary.items():
        cells = " | ".join(
            f"{s[k]['mean']:.4f} ± {s[k]['sd']:.4f}" for k in ("valid_avgrec", *KEYS)
        )
        print(f"| {name} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
