"""One trial: parameters -> `RunConfig` -> `train(config)`, pruned from per-epoch scores.

The trial's training seed derives from the study seed and the trial's slot (its place in the
planned sequence, or its number for TPE trials), so trial k is the same run whatever the
number of workers. Follow-ups from the overfitting rule keep their parent's seed.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from tweetsent.config import RunConfig
from tweetsent.search.space import SearchSpace
from tweetsent.search.storage import Heartbeat
from tweetsent.train import train

HISTORY_KEYS = ("epoch", "train_loss", "valid_loss", "train_accuracy", "valid_accuracy", "gap")
Event = Callable[..., None]


def trial_seed(study_seed: int, slot: int) -> int:
    """A training seed for trial `slot` of a study, decorrelated from its neighbours."""
    return int(np.random.SeedSequence([study_seed, slot]).generate_state(1)[0] % (2**31 - 1))


def trial_point(space: SearchSpace, trial: optuna.Trial, stage1: dict[str, dict]) -> dict:
    """The trial's fields: a stage-1 configuration (two-stage search), then the space's."""
    point: dict[str, Any] = {}
    if stage1:
        label = trial.suggest_categorical("stage1", list(stage1))
        point.update(stage1[label])
    point.update(space.suggest(trial, context=point))
    point.update(trial.user_attrs.get("overrides", {}))
    return point


def run_trial(
    study: optuna.Study,
    storage,
    trial: optuna.Trial,
    trial_id: int,
    space: SearchSpace,
    stage1: dict[str, dict],
    log: Callable[[str], None],
    event: Event,
) -> optuna.trial.FrozenTrial:
    """Train the trial's configuration and tell the study how it went."""
    s = space.settings
    attrs = trial.user_attrs
    slot = int(attrs.get("slot", trial.number))
    start = time.perf_counter()
    history: list[dict[str, Any]] = []
    try:
        config = _trial_config(space, trial, stage1, slot)
        label = attrs.get("label", attrs.get("origin", "tpe"))
        event("start", trial.number, config.train.epochs, label)
        reporter = _Reporter(trial, s.metric, s.pruner != "none", history, event)
        with Heartbeat(storage, trial_id, s.heartbeat):
            result = train(config, log=log, on_epoch=reporter)
        value = float(result.metrics[s.metric])
        _record_end(trial, history, start, result.best_epoch)
        frozen = study.tell(trial, value)
    except optuna.TrialPruned:
        _record_end(trial, history, start, None)
        frozen = study.tell(trial, state=TrialState.PRUNED)
    except Exception as exc:  # a bad combination, a crash in training: fail it, go on
        log(traceback.format_exc())
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
        _record_end(trial, history, start, None)
        frozen = study.tell(trial, state=TrialState.FAIL)
    except BaseException as exc:  # KeyboardInterrupt, SystemExit: fail the trial, then stop
        trial.set_user_attr("error", f"interrupted: {type(exc).__name__}")
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        raise
    event("end", frozen.number, frozen.state.name, frozen.value)
    return frozen


def _trial_config(space: SearchSpace, trial, stage1: dict, slot: int) -> RunConfig:
    """The trial's config; its fields, seed and run directory go into its user attributes."""
    s = space.settings
    point = trial_point(space, trial, stage1)
    if "train.seed" not in point:
        point["train.seed"] = trial_seed(s.seed, slot)
    # a trial planned with a `run_name` (a study's arm and seed) keeps that folder on a rerun
    run_dir = s.study_dir / trial.user_attrs.get("run_name", f"trials/{trial.number:04d}")
    config = space.config({**point, "out": str(run_dir), "train.progress": False})
    config = config.with_overrides(cpu_overrides(config, max(s.workers, 1)))
    shown = {"model.output_dropout": config.model.output_dropout}
    shown["train.clip_norm"] = config.train.clip_norm  # what the overfitting rule changes
    fields = {**point, **{k: v for k, v in shown.items() if k not in point}}
    _record_start(trial, slot, fields, run_dir)
    return config


class _Reporter:
    """The per-epoch callback: report the score to Optuna, prune when it says so."""

    def __init__(self, trial, metric: str, prune: bool, history: list, event: Event) -> None:
        self.trial, self.metric, self.prune = trial, metric, prune
        self.history, self.event = history, event

    def __call__(self, row: dict[str, Any]) -> None:
        score = float(row[f"valid_{self.metric}"])
        kept = {k: row[k] for k in HISTORY_KEYS if k in row}
        self.history.append({**kept, f"valid_{self.metric}": score})
        self.event("epoch", self.trial.number, int(row["epoch"]), score)
        if math.isfinite(score):
            self.trial.report(score, int(row["epoch"]))
        if self.prune and self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {row['epoch']}")


def _record_start(trial, slot: int, point: dict, run_dir: Path) -> None:
    trial.set_user_attr("slot", slot)
    trial.set_user_attr("fields", point)  # every field the trial sets, follow-up changes included
    trial.set_user_attr("run_dir", str(run_dir.resolve()))


def _record_end(trial, history: list, start: float, best_epoch: int | None) -> None:
    trial.set_user_attr("history", history)
    trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))
    if history:
        trial.set_user_attr("gap", float(history[-1]["gap"]))
    if best_epoch is not None:
        trial.set_user_attr("best_epoch", best_epoch)


def cpu_overrides(config: RunConfig, workers: int) -> dict[str, int]:
    """Where the config says "every core" (0), the overrides that split the cores between the
    workers."""
    overrides = {}
    if config.train.threads == 0:
        overrides["train.threads"] = max(1, (os.cpu_count() or 1) // workers)
    if config.data.workers == 0 and workers > 1:
        overrides["data.workers"] = 1
    return overrides
