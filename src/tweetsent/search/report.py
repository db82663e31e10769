"""What a study leaves: leaderboard (terminal, CSV, Markdown), parallel-coordinates figure,
parameter importances and the best configuration as a TOML file for `tweetsent train`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tweetsent.io import atomic_write, write_json
from tweetsent.search.export import write_config_toml
from tweetsent.search.figure import plot_parallel
from tweetsent.search.space import SearchSpace

FIXED_COLUMNS = [
    "rank",
    "trial",
    "state",
    "origin",
    "parent",
    "value",
    "best_epoch",
    "gap",
    "seconds",
    "train.seed",
]
TAIL_COLUMNS = ["run_dir", "error"]
STATE_ORDER = {TrialState.COMPLETE: 0, TrialState.PRUNED: 1, TrialState.FAIL: 2}


@dataclass
class SearchReport:
    study: str
    metric: str
    counts: dict[str, int]
    best_trial: int | None = None
    best_value: float | None = None
    best_fields: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    importances: dict[str, float] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


def varied_fields(trials: list[FrozenTrial]) -> list[str]:
    """Fields (dotted) that take more than one value across trials, seed aside, in order."""
    names: dict[str, set] = {}
    for trial in trials:
        for key, value in trial.user_attrs.get("fields", {}).items():
            if key != "train.seed":
                names.setdefault(key, set()).add(repr(value))
    every = [t.user_attrs.get("fields", {}) for t in trials]
    return [k for k, v in names.items() if len(v) > 1 or not all(k in f for f in every)]


def leaderboard(study: optuna.Study) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per claimed trial, best first (finished, then pruned, failed, running)."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
    fields = varied_fields(trials)
    sign = -1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1

    def key(t: FrozenTrial):
        value = sign * t.value if t.value is not None else 0.0
        return (STATE_ORDER.get(t.state, 3), value, t.number)

    rows = []
    for rank, trial in enumerate(sorted(trials, key=key), start=1):
        a = trial.user_attrs
        row = {
            "rank": rank if trial.state == TrialState.COMPLETE else "",
            "trial": trial.number, "state": trial.state.name.lower(),
            "origin": a.get("origin", ""), "parent": a.get("parent", ""),
            "value": trial.value, "best_epoch": a.get("best_epoch", ""),
            "gap": a.get("gap"), "seconds": a.get("seconds", ""),
            "train.seed": a.get("fields", {}).get("train.seed", ""),
            **{f: a.get("fields", {}).get(f) for f in fields},
            "run_dir": a.get("run_dir", ""), "error": a.get("error", ""),
        }  # fmt: skip
        rows.append(row)
    return rows, fields


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if value == "":
        return '""'  # an empty choice (e.g. embed.lexicon = "": none), not a missing one
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.4g}"
    return str(value)


def table(rows: list[dict[str, Any]], fields: list[str], limit: int = 15, md: bool = False) -> str:
    """The top rows as an aligned text table (or Markdown with md=True)."""
    cols = ["rank", "trial", "state", "origin", "value", "gap", "best_epoch", *fields]
    heads = [
        c.split(".")[-1] if sum(x.endswith(c.split(".")[-1]) for x in cols) == 1 else c
        for c in cols
    ]
    body = [[_fmt(r.get(c)) for c in cols] for r in rows[:limit]]
    if md:
        lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(cols)]
        return "\n".join(lines + ["| " + " | ".join(b) + " |" for b in body])
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)
    ]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(heads), *(line(b) for b in body)])


# fANOVA one-hot encodes a categorical parameter and enumerates every combination of its
# columns: 2^choices cells, so 40 seeds in a grid would never finish. Beyond this, PED-ANOVA.
FANOVA_MAX_CHOICES = 12


def importance_evaluator(study: optuna.Study) -> optuna.importance.BaseImportanceEvaluator:
    """fANOVA; PED-ANOVA without scikit-learn or for a categorical of many choices."""
    widest = max(
        (
            len(d.choices)
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            for d in t.distributions.values()
            if isinstance(d, optuna.distributions.CategoricalDistribution)
        ),
        default=0,
    )
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return optuna.importance.PedAnovaImportanceEvaluator()
    if widest > FANOVA_MAX_CHOICES:
        return optuna.importance.PedAnovaImportanceEvaluator()
    return optuna.importance.FanovaImportanceEvaluator(seed=0)


def importances(study: optuna.Study) -> dict[str, float]:
    """Parameter importances (`importance_evaluator`); {} when too few trials."""
    evaluator = importance_evaluator(study)
    try:
        found = optuna.importance.get_param_importances(study, evaluator=evaluator)
        return {name: float(value) for name, value in found.items()}
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}


def write_report(study: optuna.Study, space: SearchSpace, log=print) -> SearchReport:
    s = space.settings
    out = s.study_dir
    rows, fields = leaderboard(study)
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    report = SearchReport(study.study_name, s.metric, counts, rows=rows)
    columns = FIXED_COLUMNS + fields + TAIL_COLUMNS
    with atomic_write(out / "leaderboard.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    report.files["leaderboard"] = out / "leaderboard.csv"
    done = [r for r in rows if r["state"] == "complete"]
    title = f"study {study.study_name}: {len(done)} finished trials"
    report.files["figure"] = plot_parallel(
        done, fields, s.metric, title, out / "parallel_coordinates.png"
    )
    report.importances = importances(study)
    write_json(out / "importances.json", report.importances)
    report.files["importances"] = out / "importances.json"
    if done:
        _best(study, space, report)
    text = table(rows, fields, md=True)
    with atomic_write(out / "leaderboard.md", "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    report.files["leaderboard_md"] = out / "leaderboard.md"
    log(table(rows, fields))
    return report


def _best(study: optuna.Study, space: SearchSpace, report: SearchReport) -> None:
    best = study.best_trial
    report.best_trial, report.best_value = best.number, best.value
    report.best_fields = dict(best.user_attrs.get("fields", {}))
    config = space.config({**report.best_fields, "train.progress": True})
    header = (
        f"Best configuration of study {study.study_name!r}: trial {best.number}, "
        f"validation {space.settings.metric} {best.value:.4f}.\n"
        f"Train it with: tweetsent train --config best_config.toml --out runs/best"
    )
    path = space.settings.study_dir / "best_config.toml"
    report.files["best_config"] = write_config_toml(path, config, header)
