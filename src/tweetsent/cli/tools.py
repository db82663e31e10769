"""Subcommands around a trained run and the search for one: `serve`, `export`, `search`,
`study`, `explain`, `ensemble`.

`serve` and `search` map their flags onto `ServeSettings` fields and the space file's [search]
table through the SERVE_FLAGS / SEARCH_FLAGS tables.
"""

from __future__ import annotations

import argparse
import sys

from tweetsent.cli.registry import command
from tweetsent.config import RunConfig

# Flags of `serve`, one ServeSettings field each (None: the ServeSettings default).
SERVE_FLAGS = [
    ("--host", "host", str, "address to listen on (default 127.0.0.1: this machine only)"),
    ("--port", "port", int, "port (default 8000)"),
    ("--max-texts", "max_texts", int, "texts per request (default 64)"),
    ("--max-chars", "max_chars", int, "characters per text (default 1000)"),
    ("--max-body-bytes", "max_body_bytes", int, "request body size (default 1 MiB)"),
    ("--max-header-bytes", "max_header_bytes", int, "request headers size (default 64 KiB)"),
    ("--max-batch", "max_batch", int, "texts per model call (default 64)"),
    ("--max-wait-ms", "max_wait_ms", float, "wait for a batch to fill (default 5 ms)"),
    ("--max-pending", "max_pending", int, "queued requests before 503 busy (default 1024)"),
    ("--max-connections", "max_connections", int, "open connections (default 4096)"),
    ("--request-timeout", "request_timeout_s", float, "seconds to send a request (default 10)"),
    ("--keep-alive", "keep_alive_s", float, "idle keep-alive seconds (default 5)"),
    ("--precision", "precision", str, "mixed (default) | float64 | float32"),
    ("--threads", "threads", int, "torch threads of the model worker (0: every core)"),
    ("--device", "device", str, "cpu | cuda | cuda:N"),
]


def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="REST API and web page for a run (FastAPI + uvicorn)")
    p.add_argument("run", help="run directory")
    for flag, dest, kind, text in SERVE_FLAGS:
        p.add_argument(flag, dest=f"serve_{dest}", type=kind, metavar=dest.upper(), help=text)
    p.add_argument("--access-log", action="store_true", help="log every request")


@command("serve")
def _serve(args: argparse.Namespace) -> int:
    from tweetsent.serve import ServeSettings, serve

    values = {dest: getattr(args, f"serve_{dest}") for _, dest, _, _ in SERVE_FLAGS}
    settings = ServeSettings(**{k: v for k, v in values.items() if v is not None})
    serve(args.run, settings, access_log=args.access_log)
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="TorchScript or ONNX file of a run, parity-checked")
    p.add_argument("run", help="run directory")
    p.add_argument("--format", required=True, choices=("torchscript", "onnx"))
    p.add_argument("--out", help="output file (default: RUN/model.pt or RUN/model.onnx)")


@command("export")
def _export(args: argparse.Namespace) -> int:
    from tweetsent.runs.export import export_run

    result = export_run(args.run, args.format, args.out)
    print(f"{result.path} ({args.format}): max |prob difference| {result.max_diff:.2e}")
    return 0


# Flags of `search` that override one field of the space file's [search] table.
SEARCH_FLAGS = [
    ("--name", "name", str, "study name"),
    ("--sampler", "sampler", str, "grid | random | tpe"),
    ("--trials", "trials", int, "random / tpe: number of trials"),
    ("--metric", "metric", str, "validation metric to optimise (default avgrec)"),
    ("--seed", "seed", int, "study seed (trial seeds derive from it)"),
    ("--storage", "storage", str, "Optuna database URL (default sqlite:///OUT/studies.db)"),
    ("--out", "out", str, "folder for trial run directories and reports"),
    ("--workers", "workers", int, "local worker processes (0: only create the study)"),
    ("--pruner", "pruner", str, "none | median"),
    ("--overfit-gap", "overfit_gap", float, "train-valid gap that queues follow-ups (0: off)"),
    ("--from-study", "from_study", str, "two-stage search: start from this study's best"),
    ("--from-storage", "from_storage", str, "storage of --from-study (default: --storage)"),
    ("--top-k", "top_k", int, "how many of --from-study's best configurations"),
]


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="hyperparameter search (grid, random, TPE) on Optuna")
    p.add_argument("space", help="search-space TOML file")
    p.add_argument("--config", help="base config TOML (instead of the space's search.base)")
    for flag, dest, kind, text in SEARCH_FLAGS:
        p.add_argument(flag, dest=f"search_{dest}", type=kind, help=text)
    p.add_argument("--mlflow", nargs="?", const="default", help="log trials to MLflow [URI]")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="rerun missing or failed trials")
    mode.add_argument("--join", action="store_true", help="add workers to an existing study")
    mode.add_argument("--report-only", action="store_true", help="only write the report")
    p.add_argument("--no-progress", action="store_true", help="plain lines, no bars")


@command("search")
def _search(args: argparse.Namespace) -> int:
    from tweetsent.search import load_space, report_only, run_search

    base = RunConfig.from_toml(args.config) if args.config else None
    space = load_space(args.space, base=base)
    flags = {dest: getattr(args, f"search_{dest}") for _, dest, _, _ in SEARCH_FLAGS}
    flags.update(mlflow=args.mlflow, progress=False if args.no_progress else None)
    space = space.with_settings(flags)
    if args.report_only:
        report = report_only(space)
    else:
        report = run_search(space, resume=args.resume, join=args.join)
    print(f"trials: {report.counts}")
    if report.best_trial is not None:
        print(f"best: trial {report.best_trial}, {report.metric} {report.best_value:.4f}")
    for name, path in report.files.items():
        print(f"{name}: {path}")
    return 0


def _add_study(sub) -> None:
    p = sub.add_parser("study", help="an experiment matrix (arms x seeds) and its report")
    p.add_argument("study", help="study TOML file (data, seeds, baseline, arms)")
    p.add_argument("--workers", type=int, help="local worker processes (default study.workers)")
    p.add_argument("--storage", help="Optuna database URL (default sqlite:///OUT/studies.db)")
    p.add_argument("--out", help="studies folder (default study.out)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="run what is missing or failed")
    mode.add_argument(
        "--report-only", action="store_true", help="the report again, from the run directories"
    )
    mode.add_argument(
        "--compare",
        nargs=2,
        metavar=("ARM", "OTHER"),
        help="paired comparison of two arms from the run directories (no training, no report)",
    )
    p.add_argument("--no-progress", action="store_true", help="plain lines, no bars")
    p.add_argument("--quiet", action="store_true", help="only the summary and the file names")


@command("study")
def _study(args: argparse.Namespace) -> int:
    from tweetsent.study import load_study, report_only, run_study

    spec = load_study(args.study).with_settings(
        {
            "workers": args.workers,
            "storage": args.storage,
            "out": args.out,
            "progress": False if (args.no_progress or args.quiet) else None,
        }
    )
    quiet = (lambda *_: None) if args.quiet else print
    if args.compare:
        from tweetsent.study.report import compare_arms, comparison_line

        arm, other = args.compare  # nargs=2
        print(comparison_line(arm, other, compare_arms(spec, arm, other)))
        return 0
    if args.report_only:
        report = report_only(spec, log=quiet)
    else:
        report = run_study(spec, resume=args.resume, log=quiet, quiet=args.quiet)
    if args.quiet:
        print(report.text)
    for name, path in report.files.items():
        print(f"{name}: {path}")
    results = report.results
    if report.complete:
        return 0
    logs = spec.study_dir / "logs"
    where = f"failed runs are in {logs}" if logs.is_dir() else "no run was tried here yet"
    print(
        f"incomplete: {results['finished_runs']} of {results['planned_runs']} runs finished; "
        f"{where}; --resume runs the missing ones",
        file=sys.stderr,
    )
    return 1  # --report-only too: the report is written, the study is not done


def _add_explain(sub) -> None:
    p = sub.add_parser("explain", help="self-attention of a run on one tweet: PNG or HTML")
    p.add_argument("run", help="run directory (pooling = attention)")
    p.add_argument("text", help="the tweet")
    p.add_argument("--out", required=True, help="FILE.png (heatmap) or FILE.html (highlighting)")
    p.add_argument("--device", default="cpu")


@command("explain")
def _explain(args: argparse.Namespace) -> int:
    from tweetsent.runs.explain import explain, write_explanation
    from tweetsent.runs.predict import Predictor

    explanation = explain(Predictor.from_run(args.run, device=args.device), args.text)
    path = write_explanation(explanation, args.out)
    top = ", ".join(f"{t} {w:.2f}" for t, w in explanation.top(3))
    print(f"{explanation.label} ({explanation.probs[explanation.label]:.3f}); top: {top}")
    print(f"written: {path}")
    return 0


def _add_ensemble(sub) -> None:
    p = sub.add_parser("ensemble", help="combine trained runs into one ensemble run")
    p.add_argument("runs", nargs="+", help="member run directories (2 or more)")
    p.add_argument("--out", required=True, help="the ensemble's run directory (new)")
    p.add_argument(
        "--weights",
        default="uniform",
        choices=("uniform", "fit"),
        help="uniform, or fitted on the members' validation split",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress lines")


@command("ensemble")
def _ensemble(args: argparse.Namespace) -> int:
    from tweetsent.runs.ensemble import build_ensemble

    log = (lambda *a: None) if args.no_progress else print
    result = build_ensemble(args.runs, args.out, weights=args.weights, log=log)
    weights = ", ".join(f"{n} {w:.3f}" for n, w in zip(result.members, result.weights, strict=True))
    print(f"weights: {weights}")
    if result.metrics:
        print(f"{result.split}: " + "  ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
    print(f"run directory: {result.run_dir}")
    return 0


# In the order of `tweetsent --help`: serve and export, search and study, explain, ensemble.
ADDERS = [_add_serve, _add_export, _add_search, _add_study, _add_explain, _add_ensemble]
