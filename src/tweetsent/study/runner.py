"""`run_study(spec)`: every (arm, seed) as a fixed trial of an Optuna study, run by the
search's workers, then scored on the test files and reported.

No second scheduler: the study is a search study (same storage, claim lock, workers,
heartbeats, failed-trial handling) whose trials are all enqueued up front with fixed fields
(`overrides`) and a fixed run directory (`run_name` = runs/ARM/seed-S). The search's sampler
proposes nothing (grid, no parameters), its pruner and overfitting rule are off: the study
compares fixed arms over the same seeds, and flags overfitting in its report instead.

`--resume` marks the trials of dead workers failed and queues again every (arm, seed) that has
no trial or only failed ones; a finished run is never trained again. An arm added to the file
later is queued on resume; an arm whose fields changed is an error (name a new study).
"""

from __future__ import annotations

import contextlib
import io

import optuna
import torch
from optuna.trial import TrialState

from tweetsent.config import RunConfig
from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.io import read_json
from tweetsent.runs.rundir import CONFIG
from tweetsent.search.settings import SearchSettings
from tweetsent.search.space import SearchSpace
from tweetsent.search.storage import (
    claim_lock,
    fail_dead_trials,
    open_storage,
    quiet_optuna,
    safe_url,
    study_exists,
)
from tweetsent.search.worker import run_workers
from tweetsent.study.report import StudyReport, write_report
from tweetsent.study.results import check_data_files, score_runs, trained
from tweetsent.study.spec import StudySpec, fingerprint_of, run_name

ORIGIN = "study"


def search_space(spec: StudySpec) -> SearchSpace:
    """The search study behind a study: no parameters, fixed trials only."""
    s = spec.settings
    settings = SearchSettings(
        name=s.name,
        sampler="grid",
        out=s.out,
        storage=s.storage,
        workers=s.workers,
        heartbeat=s.heartbeat,
        pruner="none",
        overfit_gap=0.0,  # the study flags overfitting; it queues no follow-ups
        progress=s.progress,
    )
    base = spec.base.with_overrides({"train.progress": False})
    return SearchSpace([], base, settings, spec.source, {})


def run_study(spec: StudySpec, resume: bool = False, log=print, quiet: bool = False) -> StudyReport:
    """Train the missing runs of `spec`, score them on the test files, write the report.

    `quiet` silences the workers' progress lines too (the search's display prints them)."""
    quiet_optuna()
    space = search_space(spec)
    s = space.settings
    check_data_files(spec)  # before the first run: a bad test file is not found after training
    s.study_dir.mkdir(parents=True, exist_ok=True)
    for arm in spec.arms:
        if arm.skipped:
            log(f"arm {arm.name}: skipped, missing {', '.join(arm.missing)}")
    storage = open_storage(s.storage_url, s.heartbeat)
    queued = _open(spec, storage, s, resume, log)
    if queued:
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            run_workers(space, queued, log)
    return report_only(spec, log=log)


def report_only(spec: StudySpec, log=print) -> StudyReport:
    """The report from the run directories (no database, no training): runs that trained but
    have no test scores yet (a study stopped or still running) are scored first."""
    threads = spec.base.train.threads
    if threads:
        torch.set_num_threads(threads)
    score_runs(spec, log=log, workers=1)
    return write_report(spec, log=log)


def _open(spec: StudySpec, storage, s: SearchSettings, resume: bool, log) -> int:
    """Create the study or reopen it (`resume`); queue the runs it lacks; return how many runs
    wait for a worker (a killed study leaves its queue behind)."""
    if study_exists(storage, s.name):
        if not resume:
            raise ConfigError(
                f"study {s.name!r} already exists in {safe_url(s.storage_url)}: --resume "
                "continues it, --report-only writes its report again, study.name starts another"
            )
        study = optuna.load_study(study_name=s.name, storage=storage)
        if study.user_attrs.get("kind") != ORIGIN:
            raise ConfigError(f"{safe_url(s.storage_url)}: {s.name!r} is a search, not a study")
    else:
        study = optuna.create_study(storage=storage, study_name=s.name, direction="maximize")
        study.set_user_attr("kind", ORIGIN)
        study.set_user_attr("source", spec.source)
    with claim_lock(s.storage_url):
        dead = fail_dead_trials(study, storage)
        missing = _missing(spec, study)
        for slot, (arm, seed) in missing:
            study.enqueue_trial(
                {},
                user_attrs={
                    "origin": ORIGIN,
                    "slot": slot,
                    "label": f"{arm} seed {seed}",
                    "arm": arm,
                    "seed": seed,
                    "fingerprint": spec.fingerprint(arm),
                    "run_name": run_name(arm, seed),
                    "overrides": {**spec.arm(arm).fields, "train.seed": seed},
                },
            )
        waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    finished = sum(trained(spec.run_dir(arm, seed)) for arm, seed in spec.planned())
    log(
        f"study {s.name}: {len(spec.planned())} run(s) ({len(spec.active)} arm(s) x "
        f"{len(spec.settings.seeds)} seed(s)): {finished} finished, {waiting} queued "
        f"({len(missing)} newly), {len(dead)} trial(s) of dead workers marked failed; "
        f"storage {safe_url(s.storage_url)}, runs in {spec.study_dir / 'runs'}"
    )
    return waiting


def _missing(spec: StudySpec, study: optuna.Study) -> list[tuple[int, tuple[str, int]]]:
    """(slot, (arm, seed)) of the planned runs with no trial, or only failed ones, and no
    finished run directory either (a run that finished just before its process died, and so
    was never told, is kept, not trained again)."""
    held: dict[tuple[str, int], str] = {}
    for trial in study.get_trials(deepcopy=False):
        a = trial.user_attrs
        if a.get("origin") == ORIGIN and trial.state != TrialState.FAIL:
            held[(a["arm"], int(a["seed"]))] = a.get("fingerprint", "")
    missing = []
    for slot, (arm, seed) in enumerate(spec.planned()):
        if (arm, seed) not in held:
            if not _finished_as_planned(spec, arm, seed):
                missing.append((slot, (arm, seed)))
        elif held[(arm, seed)] != spec.fingerprint(arm):
            raise ConfigError(
                f"{spec.source}: arms.{arm}: its fields differ from those study "
                f"{spec.settings.name!r} ran it with (name a new study)"
            )
    return missing


def _finished_as_planned(spec: StudySpec, arm: str, seed: int) -> bool:
    path = spec.run_dir(arm, seed)
    if not trained(path):
        return False
    try:
        config = RunConfig.from_dict(read_json(path / CONFIG), source=str(path / CONFIG))
    except (OSError, ValueError, TweetsentError):
        return False
    return config.train.seed == seed and fingerprint_of(config) == spec.fingerprint(arm)
