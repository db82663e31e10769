"""Workers: claim a trial, train it, apply the overfitting rule, until the study is done.

`run_workers` starts K local processes (spawned, so each has its own torch) and watches them:
a worker that dies mid-trial has its trial marked failed at once and the others go on. A
worker on another machine is the same `worker_loop`, started by `tweetsent search --join`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from tweetsent.search.overfit import STEPS, apply_rule
from tweetsent.search.progress import Display
from tweetsent.search.settings import SearchSettings
from tweetsent.search.space import SearchSpace
from tweetsent.search.storage import (
    claim_lock,
    fail_dead_trials,
    fail_stale,
    new_trial,
    open_storage,
    pop_waiting,
    quiet_optuna,
)
from tweetsent.search.trial import run_trial

MAX_FAILURES = 5  # a worker stops after this many failed trials in a row


def sampler_for(settings: SearchSettings, worker: int) -> optuna.samplers.BaseSampler:
    """Planned trials have fixed parameters; TPE (seeded per worker) proposes the rest."""
    if settings.sampler == "tpe":
        return optuna.samplers.TPESampler(
            seed=settings.seed * 1000 + worker, n_startup_trials=settings.startup,
            constant_liar=True,
        )  # fmt: skip
    return optuna.samplers.RandomSampler(seed=settings.seed * 1000 + worker)


def pruner_for(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if settings.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(
        n_startup_trials=settings.prune_startup, n_warmup_steps=settings.prune_warmup
    )


def worker_loop(
    space: SearchSpace,
    worker: int,
    event: Callable[..., None],
    log,
    keep_going: Callable[[], bool] = lambda: True,
) -> int:
    """Run trials until none is queued (and, for TPE, the budget is spent) or `keep_going()`
    turns false before a claim; return the count."""
    s = space.settings
    quiet_optuna()
    storage = open_storage(s.storage_url, s.heartbeat)
    study = optuna.load_study(
        study_name=s.name, storage=storage, sampler=sampler_for(s, worker), pruner=pruner_for(s)
    )
    stage1 = study.user_attrs.get("stage1", {})
    base = space.base_values()
    done = failures = 0
    while failures < MAX_FAILURES:
        if not keep_going():
            log(f"worker {worker}: the search process is gone, stopping after {done} trial(s)")
            break
        with claim_lock(s.storage_url):
            fail_stale(study)
            claimed = pop_waiting(study, storage) or _propose(study, storage, s)
        if claimed is None:
            break
        trial, trial_id = claimed
        frozen = run_trial(study, storage, trial, trial_id, space, stage1, log, event)
        done += 1
        failures = failures + 1 if frozen.state == TrialState.FAIL else 0
        if s.mlflow:
            _mlflow(s, frozen, log, event)
        queued = apply_rule(study, [frozen], s, base, lambda text: _note(text, log, event))
        if queued:
            event("queued", queued)
    if failures >= MAX_FAILURES:
        log(f"worker {worker}: {MAX_FAILURES} failed trials in a row, stopping")
    return done


def _mlflow(settings: SearchSettings, frozen, log, event) -> None:
    from tweetsent.search.mlflow_log import log_trial

    try:
        log_trial(settings, frozen)
    except Exception as exc:  # the dashboard is optional: report, go on
        _note(f"mlflow: trial {frozen.number} not logged ({type(exc).__name__}: {exc})", log, event)


def _note(text: str, log, event) -> None:
    """A line for the worker's log file and for the terminal."""
    log(text)
    event("note", text)


def _propose(study: optuna.Study, storage, settings: SearchSettings):
    """A new TPE trial while the budget (`trials`, failed ones not counted) lasts."""
    if settings.sampler != "tpe":
        return None
    counted = sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get("origin") not in STEPS and t.state != TrialState.FAIL
    )
    return new_trial(study, storage, "tpe") if counted < settings.trials else None


def _file_log(path: Path) -> Callable[[str], None]:
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(text: str) -> None:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text.rstrip("\n") + "\n")

    return log


def _worker_main(state: dict[str, Any], worker: int, events, parent: int) -> None:
    """Entry point of a worker process (arguments are plain data). A worker whose search
    process has died (`parent` is no longer its parent) finishes its trial and stops: it
    claims nothing more, so a killed `tweetsent search` leaves no orphans running the study."""
    space = SearchSpace.from_state(state)
    log = _file_log(space.settings.study_dir / "logs" / f"worker-{worker}.log")

    def event(kind: str, *rest: Any) -> None:
        events.put((worker, kind, *rest))

    worker_loop(space, worker, event, log, keep_going=lambda: os.getppid() == parent)


def run_workers(space: SearchSpace, total: int, log) -> None:
    """Run `settings.workers` workers (in this process when there is one) with a live display."""
    s = space.settings
    display = Display(s.workers, total, s.metric, s.progress, s.direction == "maximize")
    try:
        if s.workers == 1:
            file_log = _file_log(s.study_dir / "logs" / "worker-0.log")
            worker_loop(space, 0, lambda *e: display.handle(0, *e), file_log)
            return
        _run_processes(space, display, log)
    finally:
        display.close()


def _run_processes(space: SearchSpace, display: Display, log) -> None:
    s = space.settings
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    state = space.to_state()
    args = [(state, i, events, os.getpid()) for i in range(s.workers)]
    procs = [ctx.Process(target=_worker_main, args=a) for a in args]
    for proc in procs:
        proc.start()
    storage = study = None
    reaped: set[int] = set()
    while len(reaped) < len(procs):
        _drain(events, display, timeout=0.5)
        for index, proc in enumerate(procs):
            if index in reaped or proc.is_alive():
                continue
            reaped.add(index)
            if proc.exitcode != 0:
                if study is None:
                    storage = open_storage(s.storage_url, s.heartbeat)
                    study = optuna.load_study(study_name=s.name, storage=storage)
                worker = f"{socket.gethostname()}:{proc.pid}"
                failed = fail_dead_trials(study, storage, worker=worker)
                display.write(
                    f"worker {index} died (exit {proc.exitcode}); "
                    f"trial(s) {failed or 'none'} marked failed, the others go on"
                )
    _drain(events, display, timeout=0.0)
    for proc in procs:
        proc.join()


def _drain(events, display: Display, timeout: float) -> None:
    try:
        item = events.get(timeout=timeout) if timeout else events.get_nowait()
        while True:
            display.handle(*item)
            item = events.get_nowait()
    except queue_mod.Empty:
        return
