"""The study's two-stage search on SemEval-2017 Task 4A, and its best model against the default.

    nice -n 15 python bench/search_semeval.py [--workers 2] [--out searches/semeval]

1. stage 1: configs/search/semeval-coarse.toml, a grid of 32 architectures;
2. stage 2: configs/search/semeval-tpe.toml, 20 TPE trials around the 3 best of stage 1;
3. the default model (`RunConfig()` defaults) trained on the same data and split;
4. the best search trial and the default model scored on twitter-2016test-A.tsv, never seen
   in training or validation; `<out>/results.json` and `<out>/results.md` (for docs/search.md).

Running it again continues both studies where they stopped (missing or failed trials only).
Needs ../shared/data/semeval2017-task4a (the data are not in the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tweetsent.errors import ConfigError
from tweetsent.evaluate import evaluate
from tweetsent.io import write_json
from tweetsent.predict import Predictor
from tweetsent.search import load_space, run_search
from tweetsent.train import train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
TEST = DATA / "twitter-2016test-A.tsv"
STAGES = ("semeval-coarse.toml", "semeval-tpe.toml")


def _stage(name: str, out: str, workers: int, progress: bool) -> dict:
    space = load_space(ROOT / "configs" / "search" / name)
    space = space.with_settings({"out": out, "workers": workers, "progress": progress})
    start = time.perf_counter()
    try:
        report = run_search(space)
    except ConfigError as exc:
        if "already exists" not in str(exc):
            raise
        report = run_search(space, resume=True)
    return {
        "study": report.study,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "counts": report.counts,
        "best_trial": report.best_trial,
        "best_valid": report.best_value,
        "best_fields": report.best_fields,
        "best_run": next(r["run_dir"] for r in report.rows if r["trial"] == report.best_trial),
        "importances": report.importances,
        "files": {k: str(v) for k, v in report.files.items()},
    }


def _default_run(out: str, base) -> tuple[Path, float]:
    """The default model on the search's data and split (only data and threads set)."""
    from tweetsent.config import RunConfig

    run_dir = Path(out) / "default-model"
    config = RunConfig().with_overrides(
        {
            "data.train": base.data.train,
            "data.valid_fraction": base.data.valid_fraction,
            "data.workers": 1,
            "train.threads": 1,
            "train.progress": False,
            "out": str(run_dir),
        }
    )
    start = time.perf_counter()
    train(config, log=lambda line: print(f"default model: {line}", flush=True))
    return run_dir, round(time.perf_counter() - start, 1)


def _test_scores(run_dir: str | Path) -> dict[str, float]:
    return evaluate(Predictor.from_run(run_dir), [str(TEST)]).metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="searches/semeval")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    if not TEST.is_file():
        print(f"skip: {DATA} not found", file=sys.stderr)
        return 0
    start = time.perf_counter()
    stages = [_stage(name, args.out, args.workers, not args.no_progress) for name in STAGES]
    best = max(stages, key=lambda s: s["best_valid"])
    base = load_space(ROOT / "configs" / "search" / STAGES[0]).base
    default_dir, default_seconds = _default_run(args.out, base)
    results = {
        "search_wall_seconds": round(sum(s["wall_seconds"] for s in stages), 1),
        "stages": stages,
        "best": {"study": best["study"], "trial": best["best_trial"], "run": best["best_run"]},
        "test_file": TEST.name,
        "test_best": _test_scores(best["best_run"]),
        "test_default": _test_scores(default_dir),
        "default_valid": json.loads((default_dir / "metrics.json").read_text())["metrics"],
        "default_train_seconds": default_seconds,
        "total_wall_seconds": round(time.perf_counter() - start, 1),
    }
    write_json(Path(args.out) / "results.json", results)
    (Path(args.out) / "results.md").write_text(_markdown(results), encoding="utf-8")
    print(_markdown(results))
    return 0


def _markdown(r: dict) -> str:
    keys = ("avgrec", "f1_pn", "accuracy")
    lines = [f"| model | {' | '.join(keys)} |", "|---|" + "---|" * len(keys)]
    for label, scores in (("search best", r["test_best"]), ("default", r["test_default"])):
        lines.append(f"| {label} | " + " | ".join(f"{scores[k]:.4f}" for k in keys) + " |")
    walls = ", ".join(f"{s['study']} {s['wall_seconds'] / 60:.1f} min" for s in r["stages"])
    return "\n".join(
        [
            f"search wall time: {r['search_wall_seconds'] / 60:.1f} min ({walls})",
            f"best: {r['best']['study']} trial {r['best']['trial']}",
            f"scores on {r['test_file']}:",
            "",
            *lines,
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
