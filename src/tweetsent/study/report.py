"""The study's report, from the run directories alone: `results.json`, `report.md`, the
figures (PNG) and a terminal summary.

Per arm: test metrics mean ± sd over seeds, validation score of the best epoch, train time,
best epoch, overfitting flags (the search's rule: last epoch's train - valid accuracy gap above
`study.overfit_gap`), learning speed (validation score after epoch 1). Each arm against the
baseline: the paired difference over the seeds both finished, with a paired-bootstrap interval
over the test tweets (`stats.paired_bootstrap`). The best arm is chosen on validation (mean of
`study.metric` at the best epoch), never on test; its test confusion matrix is drawn.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.errors import ConfigError
from tweetsent.io import atomic_write, write_json
from tweetsent.search.overfit import gap_overfits
from tweetsent.study import figures
from tweetsent.study.results import RunRecord, read_arm, read_records
from tweetsent.study.spec import StudySpec
from tweetsent.study.stats import mean_sd, paired_bootstrap

TEST_METRICS = ("avgrec", "f1_pn", "accuracy", "f1")
NAMES = {"avgrec": "AvgRec", "f1_pn": "F1-PN", "accuracy": "accuracy", "f1": "macro F1",
         "precision": "precision", "recall": "recall"}  # fmt: skip


@dataclass
class StudyReport:
    results: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    text: str = ""  # the terminal summary

    @property
    def complete(self) -> bool:
        return not self.results["missing_runs"]


def _stat(values: list[float]) -> dict[str, Any]:
    mean, sd = mean_sd(values)
    return {"mean": mean, "sd": sd, "values": values}


def _arm_summary(spec: StudySpec, runs: dict[int, RunRecord]) -> dict[str, Any]:
    s = spec.settings
    ordered = [runs[seed] for seed in s.seeds if seed in runs]
    epoch1 = [r.history[0].get(f"valid_{s.metric}", math.nan) for r in ordered if r.history]
    return {
        "seeds": [r.seed for r in ordered],
        "runs": [str(r.path) for r in ordered],
        "test": {m: _stat([r.test[m] for r in ordered]) for m in TEST_METRICS},
        "valid": {m: _stat([r.valid[m] for r in ordered]) for m in (s.metric, "accuracy")},
        "valid_epoch1": _stat(epoch1),
        "seconds": _stat([r.seconds for r in ordered]),
        "best_epoch": _stat([float(r.best_epoch) for r in ordered]),
        "epochs": _stat([float(len(r.history)) for r in ordered]),
        "gap": _stat([r.gap for r in ordered]),
        "overfit": [r.seed for r in ordered if gap_overfits(r.gap, s.overfit_gap)],
    }


def _compare(spec: StudySpec, arm: dict[int, RunRecord], base: dict[int, RunRecord]) -> dict:
    s = spec.settings
    seeds = [seed for seed in s.seeds if seed in arm and seed in base]
    if not seeds:
        return {}
    truth = base[seeds[0]].truth
    for seed in seeds:
        if not (np.array_equal(arm[seed].truth, truth) and np.array_equal(base[seed].truth, truth)):
            raise ValueError(f"{arm[seed].path}: scored on other test tweets than the baseline")
    found = paired_bootstrap(
        truth,
        [arm[seed].pred for seed in seeds],
        [base[seed].pred for seed in seeds],
        base[seeds[0]].labels,
        metrics=(s.metric, *(m for m in TEST_METRICS if m != s.metric)),
        resamples=s.bootstrap,
        confidence=s.confidence,
        seed=s.bootstrap_seed,
        seeds=seeds,
    )
    return {metric: paired.to_dict() for metric, paired in found.items()}


def compare_arms(spec: StudySpec, arm: str, other: str) -> dict[str, Any]:
    """`arm` minus `other` on every test metric (the paired bootstrap of the report, for any
    two arms), from the run directories; {} when they share no finished seed."""
    names = [a.name for a in spec.active]
    for name in (arm, other):
        if name not in names:
            raise ConfigError(f"{spec.source}: no arm {name!r} to compare (arms: {names})")
    return _compare(spec, read_arm(spec, arm), read_arm(spec, other))


def comparison_line(arm: str, other: str, comparison: dict[str, Any]) -> str:
    if not comparison:
        return f"{arm} vs {other}: no seed finished by both"
    cells = [
        f"{NAMES[m]} {c['delta']:+.4f} [{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}]"
        for m, c in comparison.items()
    ]
    lead = next(iter(comparison.values()))
    return (
        f"{arm} - {other} over seeds {lead['seeds']}: {'; '.join(cells)}; ahead on "
        f"{lead['ahead']} of {len(lead['seeds'])} seeds: {lead['verdict']}"
    )


def summarise(spec: StudySpec) -> tuple[dict[str, Any], dict[str, dict[int, RunRecord]]]:
    """results.json's content, and the records it was computed from."""
    s = spec.settings
    records = read_records(spec)
    missing = [[a, seed] for a, seed in spec.planned() if seed not in records.get(a, {})]
    arms: dict[str, Any] = {}
    base = records.get(s.baseline, {})
    for arm in spec.arms:
        entry: dict[str, Any] = {"description": arm.description, "fields": arm.fields}
        if arm.skipped:
            arms[arm.name] = {**entry, "skipped": arm.missing}
            continue
        runs = records.get(arm.name, {})
        if runs:
            entry.update(_arm_summary(spec, runs))
            if arm.name != s.baseline:
                entry["comparison"] = _compare(spec, runs, base)
        arms[arm.name] = entry
    ran = [a for a in arms if arms[a].get("seeds")]
    best = max(ran, key=lambda a: arms[a]["valid"][s.metric]["mean"], default=None)
    first = next(iter(next(iter(records.values())).values()), None) if records else None
    results = {
        "study": s.name,
        "source": spec.source,
        "protocol": spec.protocol,
        "train": spec.base.data.train,
        "valid": spec.base.data.valid or f"a stratified {spec.base.data.valid_fraction:g} hold-out",
        "test": spec.test,
        "test_tweets": int(len(first.truth)) if first else 0,
        "labels": first.labels if first else [],
        "seeds": s.seeds,
        "baseline": s.baseline,
        "metric": s.metric,
        "overfit_gap": s.overfit_gap,
        "bootstrap": {
            "resamples": s.bootstrap,
            "confidence": s.confidence,
            "seed": s.bootstrap_seed,
        },
        "best_arm": best,
        "best_arm_rule": f"highest mean validation {s.metric} (best epoch) over its seeds",
        "planned_runs": len(spec.planned()),
        "finished_runs": len(spec.planned()) - len(missing),
        "missing_runs": missing,
        "arms": arms,
    }
    return results, records


def _pm(stat: dict[str, Any], digits: int = 4) -> str:
    if not stat or math.isnan(stat["mean"]):
        return "-"
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}"


def arm_table(results: dict[str, Any], md: bool = True) -> list[list[str]]:
    metric = results["metric"]
    head = ["arm", "seeds", *(f"test {NAMES[m]}" for m in TEST_METRICS),
            f"valid {NAMES[metric]}", "train s", "best epoch", "epochs", "overfit"]  # fmt: skip
    rows = [head]
    for name, arm in results["arms"].items():
        label = f"**{name}**" if md and name == results["best_arm"] else name
        if "skipped" in arm:
            rows.append([label, "skipped", *["-"] * (len(head) - 2)])
            continue
        if not arm.get("seeds"):
            rows.append([label, "0", *["-"] * (len(head) - 2)])
            continue
        flagged = f"{len(arm['overfit'])}/{len(arm['seeds'])}"
        rows.append([
            label, str(len(arm["seeds"])), *(_pm(arm["test"][m]) for m in TEST_METRICS),
            _pm(arm["valid"][metric]), _pm(arm["seconds"], 0), _pm(arm["best_epoch"], 1),
            _pm(arm["epochs"], 1), flagged,
        ])  # fmt: skip
    return rows


def comparison_table(results: dict[str, Any]) -> list[list[str]]:
    head = ["arm", "seeds", *(f"Δ {NAMES[m]} [CI]" for m in TEST_METRICS[:3]), "ahead", "verdict"]
    rows = [head]
    lead = results["metric"]
    for name, arm in results["arms"].items():
        comparison = arm.get("comparison")
        if not comparison:
            continue
        cells = [
            f"{c['delta']:+.4f} [{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}]"
            for c in (comparison[m] for m in TEST_METRICS[:3])
        ]
        main = comparison[lead]
        ahead = f"{main['ahead']}/{len(main['seeds'])}"
        rows.append([name, str(len(main["seeds"])), *cells, ahead, main["verdict"]])
    return rows


def _markdown(rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(rows[0]) + " |",
        "|" + "---|" * len(rows[0]),
        *("| " + " | ".join(r) + " |" for r in rows[1:]),
    ]


def _plain(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]


def speed_table(results: dict[str, Any]) -> list[list[str]]:
    metric = NAMES[results["metric"]]
    rows = [["arm", f"valid {metric}, epoch 1", f"valid {metric}, best", "valid accuracy, best",
             "gap at last epoch"]]  # fmt: skip
    for name, arm in results["arms"].items():
        if arm.get("seeds"):
            rows.append([name, _pm(arm["valid_epoch1"]), _pm(arm["valid"][results["metric"]]),
                         _pm(arm["valid"]["accuracy"]), _pm(arm["gap"], 3)])  # fmt: skip
    return rows


def _arm_line(name: str, arm: dict[str, Any]) -> str:
    fields = ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in arm["fields"].items()) or "-"
    note = arm["description"]
    if "skipped" in arm:
        note = f"**skipped**: missing {', '.join(arm['skipped'])}. {note}".strip()
    return f"| {name} | {fields} | {note} |"


def render_markdown(results: dict[str, Any], files: dict[str, Path]) -> str:
    r = results
    conf = r["bootstrap"]
    status = (
        f"all {r['planned_runs']} runs finished"
        if not r["missing_runs"]
        else f"**INCOMPLETE: {r['finished_runs']} of {r['planned_runs']} runs finished**; "
        f"missing: {', '.join(f'{a} seed {s}' for a, s in r['missing_runs'])}"
    )
    valid = r["valid"] if isinstance(r["valid"], str) else ", ".join(r["valid"])
    lines = [
        f"# Study `{r['study']}`",
        "",
        f"Generated from the run directories by `tweetsent study {r['source']} --report-only`.",
        "",
        f"- status: {status}",
        f"- protocol: {r['protocol'] or 'files'}; train: {', '.join(r['train'])}",
        f"- validation (early stopping, best arm): {valid}",
        f"- test: {', '.join(r['test'])} ({r['test_tweets']:,} tweets)",
        f"- seeds: {', '.join(map(str, r['seeds']))}; baseline arm: `{r['baseline']}`",
        f"- best arm (highest mean validation {NAMES[r['metric']]}, not test): **{r['best_arm']}**",
        f"- overfitting flag: last epoch's train - valid accuracy gap > {r['overfit_gap']:g}",
        "",
        "## Arms",
        "",
        "| arm | fields over the study's base | description |",
        "|---|---|---|",
        *(_arm_line(name, arm) for name, arm in r["arms"].items()),
        "",
        "## Test scores (mean ± sd over seeds)",
        "",
        *_markdown(arm_table(r)),
        "",
        f"## Against the baseline `{r['baseline']}` (same seeds, paired)",
        "",
        f"Δ = arm - baseline, mean over the seeds both finished; [CI] = {conf['confidence']:.0%} "
        f"paired bootstrap over the test tweets ({conf['resamples']} resamples, seed "
        f"{conf['seed']}); ahead = seeds on which the arm's {NAMES[r['metric']]} is higher; "
        "verdict from the interval of the first metric.",
        "",
        *_markdown(comparison_table(r)),
        "",
        "## Learning speed and overfitting (validation split)",
        "",
        *_markdown(speed_table(r)),
        "",
    ]
    for key, caption in (("curves", "validation curves"), ("bars", "test scores"),
                         ("differences", "differences from the baseline"),
                         ("confusion", "confusion matrix of the best arm")):  # fmt: skip
        if key in files:
            lines += [f"![{caption}]({files[key].name})", ""]
    return "\n".join(lines)


def render_terminal(results: dict[str, Any]) -> str:
    r = results
    done = f"{r['finished_runs']}/{r['planned_runs']} runs"
    lines = [f"study {r['study']}: {done}; best arm on validation: {r['best_arm']}", ""]
    lines += _plain(arm_table(r, md=False))
    comparison = comparison_table(r)
    if len(comparison) > 1:
        lines += ["", f"against {r['baseline']}:", *_plain(comparison)]
    return "\n".join(lines)


def write_report(spec: StudySpec, out: Path | None = None, log=print) -> StudyReport:
    """Write results.json, report.md and the figures into `out` (default: the study folder)."""
    out = Path(out or spec.study_dir)
    out.mkdir(parents=True, exist_ok=True)
    results, records = summarise(spec)
    files: dict[str, Path] = {}
    title = f"study {results['study']}"
    if records:
        summary = {a: results["arms"][a] for a in records}
        files["curves"] = figures.plot_curves(records, out / "curves.png", title)
        files["bars"] = figures.plot_bars(summary, out / "bars.png", title)
        rows = [
            (name, arm["comparison"][results["metric"]])
            for name, arm in results["arms"].items()
            if arm.get("comparison")
        ]
        if rows:
            files["differences"] = figures.plot_differences(
                rows, results["baseline"], out / "differences.png", title
            )
        best = results["best_arm"]
        runs = list(records[best].values())
        matrix = sum(run.extra["confusion"] for run in runs)
        files["confusion"] = figures.plot_confusion(
            matrix, runs[0].labels, out / "confusion.png",
            f"{best} (best on validation): test, {len(runs)} seed(s) summed",
        )  # fmt: skip
    files["results"] = out / "results.json"
    write_json(files["results"], results)
    files["report"] = out / "report.md"
    with atomic_write(files["report"], "w", encoding="utf-8") as handle:
        handle.write(render_markdown(results, files))
    text = render_terminal(results)
    log(text)
    return StudyReport(results, files, text)
