"""The study's two-stage search on SemEval-2017 Task 4A, and its best model against the default.

    nice -n 15 python bench/search_semeval.py [--protocol holdout|dev2016] [--workers 2]

Protocol `holdout` (searches/semeval): validation is a stratified 10 % of all training files;
`dev2016` (searches/semeval16): train on 2013-2015 + twitter-2016train-A, validate on
twitter-2016dev-A + twitter-2016devtest-A (the data README's protocol), stages semeval16-*.toml:
coarse grid, TPE (with lexicon features, frozen GloVe, class weights), 3-seed confirmation.
Steps of the holdout protocol:

1. stage 1: configs/search/semeval-coarse.toml, a grid of 24 architectures;
2. stage 2: configs/search/semeval-tpe.toml, 20 TPE trials around the 3 best of stage 1;
3. stage 3: configs/search/semeval-confirm.toml, the 3 best of stage 2 with the default's
   budget (10 epochs, patience 3), 3 seeds each;
   stage 4: configs/search/semeval-vocab.toml, vocabulary and word-vector settings around the
   default model, 3 seeds each; the search's final choice is the configuration of stages 3-4
   with the best mean validation AvgRec over its seeds;
4. the default model (`RunConfig()` defaults) trained on the same data and split, seeds 1-3;
5. every confirmed run and the default runs scored on twitter-2016test-A.tsv, never seen in
   training or validation; `<out>/results.json` and `<out>/results.md` (for docs/search.md).

Running it again continues both studies where they stopped (missing or failed trials only).
Needs ../shared/data/semeval2017-task4a (the data are not in the repository).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

from tweetsent.errors import ConfigError
from tweetsent.io import write_json
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.search import load_space, run_search
from tweetsent.train import train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
TEST = DATA / "twitter-2016test-A.tsv"
# protocol -> (search stages, seeded stages: configurations x 3 seeds, default output folder)
PROTOCOLS = {
    # validation: a stratified 10 % held out of all training files
    "holdout": (
        ("semeval-coarse.toml", "semeval-tpe.toml"),
        ("semeval-confirm.toml", "semeval-vocab.toml"),
        "searches/semeval",
    ),
    # validation: twitter-2016dev-A + twitter-2016devtest-A (the data README's protocol)
    "dev2016": (
        ("semeval16-coarse.toml", "semeval16-tpe.toml"),
        ("semeval16-confirm.toml",),
        "searches/semeval16",
    ),
}
SEEDS = (1, 2, 3)
KEYS = ("avgrec", "f1_pn", "accuracy")


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


def _default_run(out: str, base, seed: int | None = None) -> tuple[Path, float]:
    """The default model on the search's data and split (only data, threads, seed set)."""
    from tweetsent.config import RunConfig

    run_dir = Path(out) / ("default-model" if seed is None else f"default-seed{seed}")
    overrides = {
        "data.train": base.data.train,
        "data.valid": base.data.valid,
        "data.valid_fraction": base.data.valid_fraction,
        "data.workers": 1,
        "train.threads": 1,
        "train.progress": False,
        "out": str(run_dir),
    }
    if seed is not None:
        overrides["train.seed"] = seed
    if (run_dir / "metrics.json").is_file():  # finished in an earlier call
        return run_dir, 0.0
    start = time.perf_counter()
    train(RunConfig().with_overrides(overrides), log=lambda line: print(f"default: {line}"))
    return run_dir, round(time.perf_counter() - start, 1)


def _mean_sd(values: list[float]) -> dict[str, float]:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.mean(values), "sd": sd}


def _confirm(stages: list[dict], out: str, base) -> dict:
    """Seeded stages grouped by configuration (mean over seeds), the default over the same seeds."""
    groups: dict[str, list[dict]] = {}
    for stage in stages:
        rows = [r for r in _leaderboard(stage) if r["state"] == "complete"]
        for row in rows:  # a configuration: its fields (columns named section.field) but the seed
            fields = {k: v for k, v in row.items() if "." in k and k != "train.seed"}
            text = ", ".join(f"{k.split('.')[-1]} {_short(v)}" for k, v in fields.items())
            groups.setdefault(f"{stage['study']}: {text}", []).append(row)
    configs = {}
    for label, runs in groups.items():
        tests = [_test_scores(r["run_dir"]) for r in runs]
        configs[label] = {
            "seeds": [int(r["train.seed"]) for r in runs],
            "valid_avgrec": _mean_sd([float(r["value"]) for r in runs]),
            **{f"test_{k}": _mean_sd([t[k] for t in tests]) for k in KEYS},
            "best_epochs": [int(r["best_epoch"]) for r in runs],
            "run_dirs": [r["run_dir"] for r in runs],
            "tests": tests,  # per seed, in the order of "seeds"
        }
    chosen = max(configs, key=lambda label: configs[label]["valid_avgrec"]["mean"])
    default_runs = [_default_run(out, base, seed) for seed in SEEDS]
    default_tests = [_test_scores(run_dir) for run_dir, _ in default_runs]
    default_valid = [
        json.loads((d / "metrics.json").read_text())["metrics"]["avgrec"] for d, _ in default_runs
    ]
    default = {
        "seeds": list(SEEDS),
        "valid_avgrec": _mean_sd(default_valid),
        **{f"test_{k}": _mean_sd([t[k] for t in default_tests]) for k in KEYS},
        "train_seconds": [s for _, s in default_runs],
        "tests": default_tests,
    }
    return {"configs": configs, "chosen": chosen, "default": default}


def _more_seeds(confirm: dict, out: str, base, last_seed: int) -> dict:
    """The chosen configuration and the default over seeds 1..last_seed on the same split:
    seeds 1-3 as the confirmation stage scored them, 4..last_seed retrained here (selection is
    over: this only measures the difference more precisely)."""
    from tweetsent.config import RunConfig

    first = confirm["configs"][confirm["chosen"]]
    chosen_tests = dict(zip(first["seeds"], first["tests"], strict=True))
    default_tests = dict(zip(confirm["default"]["seeds"], confirm["default"]["tests"], strict=True))
    chosen = RunConfig.from_dict(
        json.loads((Path(first["run_dirs"][0]) / "config.json").read_text())
    )
    rows = []
    for seed in range(1, last_seed + 1):
        if seed not in chosen_tests:
            run_dir = Path(out) / f"chosen-seed{seed}"
            if not (run_dir / "metrics.json").is_file():
                config = chosen.with_overrides({"train.seed": seed, "out": str(run_dir)})
                train(config, log=lambda line, s=seed: print(f"chosen seed {s}: {line}"))
            chosen_tests[seed] = _test_scores(run_dir)
        if seed not in default_tests:
            default_tests[seed] = _test_scores(_default_run(out, base, seed)[0])
        rows.append({"seed": seed, "chosen": chosen_tests[seed], "default": default_tests[seed]})
    diffs = [r["chosen"]["avgrec"] - r["default"]["avgrec"] for r in rows]
    return {
        "seeds": [r["seed"] for r in rows],
        "per_seed": rows,
        **{f"chosen_{k}": _mean_sd([r["chosen"][k] for r in rows]) for k in KEYS},
        **{f"default_{k}": _mean_sd([r["default"][k] for r in rows]) for k in KEYS},
        "avgrec_difference": _mean_sd(diffs),
        "chosen_wins": sum(d > 0 for d in diffs),
    }


def _short(value: str) -> str:
    try:
        return f"{float(value):.4g}" if "." in value else value
    except ValueError:
        return value


def _leaderboard(stage: dict) -> list[dict]:
    with open(stage["files"]["leaderboard"], encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _test_scores(run_dir: str | Path) -> dict[str, float]:
    return evaluate(Predictor.from_run(run_dir), [str(TEST)]).metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="holdout")
    parser.add_argument("--out", help="default: searches/semeval, searches/semeval16 (dev2016)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--more-seeds",
        type=int,
        default=0,
        metavar="N",
        help="then retrain the chosen configuration and the default with seeds 4..N",
    )
    args = parser.parse_args()
    if not TEST.is_file():
        print(f"skip: {DATA} not found", file=sys.stderr)
        return 0
    names, seeded_names, out = PROTOCOLS[args.protocol]
    args.out = args.out or out
    start = time.perf_counter()
    stages = [_stage(name, args.out, args.workers, not args.no_progress) for name in names]
    best = max(stages, key=lambda s: s["best_valid"])
    base = load_space(ROOT / "configs" / "search" / names[0]).base
    default_dir, default_seconds = _default_run(args.out, base)
    seeded = [_stage(name, args.out, args.workers, not args.no_progress) for name in seeded_names]
    confirm = _confirm(seeded, args.out, base)
    more = _more_seeds(confirm, args.out, base, args.more_seeds) if args.more_seeds > 3 else None
    results = {
        "protocol": args.protocol,
        "search_wall_seconds": round(sum(s["wall_seconds"] for s in stages), 1),
        "stages": stages,
        "seeded_stages": seeded,
        "confirm": confirm,
        "more_seeds": more,
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
            *_confirm_markdown(r),
            *_more_seeds_markdown(r.get("more_seeds")),
        ]
    )


def _more_seeds_markdown(m: dict | None) -> list[str]:
    if not m:
        return []
    lines = [
        f"chosen vs default over seeds {m['seeds'][0]}-{m['seeds'][-1]} (test, mean ± sd):",
        "",
        "| model | test AvgRec | test F1-PN | test accuracy |",
        "|---|---|---|---|",
    ]
    for who in ("chosen", "default"):
        cells = " | ".join(
            f"{m[f'{who}_{k}']['mean']:.4f} ± {m[f'{who}_{k}']['sd']:.4f}" for k in KEYS
        )
        lines.append(f"| {who} | {cells} |")
    d = m["avgrec_difference"]
    lines += [
        "",
        f"AvgRec difference chosen - default, seed by seed: {d['mean']:+.4f} ± {d['sd']:.4f}; "
        f"the chosen configuration is ahead on {m['chosen_wins']} of {len(m['seeds'])} seeds",
        "",
    ]
    return lines


def _confirm_markdown(r: dict) -> list[str]:
    c = r["confirm"]
    head = "| configuration | seeds | valid AvgRec | test AvgRec | test F1-PN | test accuracy |"
    lines = [
        f"seeded stages ({sum(st['wall_seconds'] for st in r['seeded_stages']) / 60:.1f} min): "
        "mean ± sd over seeds; "
        f"chosen by mean validation AvgRec: {c['chosen']}",
        "",
        head,
        "|---|---|---|---|---|---|",
    ]
    rows = {**{f"search {k}": v for k, v in c["configs"].items()}, "default": c["default"]}
    for label, entry in rows.items():
        cells = [entry["valid_avgrec"]] + [entry[f"test_{k}"] for k in KEYS]
        text = " | ".join(f"{x['mean']:.4f} ± {x['sd']:.4f}" for x in cells)
        lines.append(f"| {label} | {len(entry['seeds'])} | {text} |")
    return [*lines, ""]


if __name__ == "__main__":
    sys.exit(main())
