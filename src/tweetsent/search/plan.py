"""The planned trials of a study, queued in a fixed order, and what `--resume` queues again.

- grid: every combination once (the space's `grid()` order);
- random: `trials` seeded random points (point k depends only on the study seed and k);
- tpe: `startup` seeded random points, then TPE proposes the rest.

Each planned trial carries `origin` and `slot` (its index in the plan). A two-stage search
adds the categorical parameter `stage1` (one of the coarse study's top-k configurations),
ahead of the space's own parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from tweetsent.errors import ConfigError
from tweetsent.search.space import SearchSpace
from tweetsent.search.storage import open_storage

PLANNED = ("grid", "random")
SHOWN = ("model.output_dropout", "train.clip_norm")  # recorded for every trial


def plan(space: SearchSpace, stage1: dict[str, dict]) -> list[tuple[str, dict[str, Any]]]:
    """(origin, parameters) of every planned trial, in order."""
    s = space.settings
    labels: list[str | None] = [*stage1] or [None]
    points: list[dict[str, Any]] = []
    if s.sampler == "grid":
        for label in labels:
            context = stage1.get(label, {}) if label else {}
            prefix = {"stage1": label} if label else {}
            points.extend({**prefix, **p} for p in space.grid(context))
        return [("grid", p) for p in points]
    count = s.trials if s.sampler == "random" else min(s.startup, s.trials)
    for index in range(count):
        label = labels[int(np.random.default_rng([s.seed, index, 1]).integers(len(labels)))]
        context = stage1.get(label, {}) if label else {}
        prefix = {"stage1": label} if label else {}
        points.append({**prefix, **space.random_point(s.seed, index, context)})
    return [("random", p) for p in points]


def enqueue(study: optuna.Study, planned: list[tuple[str, dict]], slots: list[int]) -> None:
    for slot in slots:
        origin, point = planned[slot]
        study.enqueue_trial(point, user_attrs={"origin": origin, "slot": slot})


def missing_slots(study: optuna.Study, planned: list) -> list[int]:
    """Planned slots with no trial yet, or whose every trial failed."""
    held = {
        t.user_attrs.get("slot")
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get("origin") in PLANNED and t.state != TrialState.FAIL
    }
    return [slot for slot in range(len(planned)) if slot not in held]


def top_configs(url: str, name: str, k: int, heartbeat: int) -> dict[str, dict[str, Any]]:
    """The fields of the `k` best finished trials of study `name`, keyed "t<number>"."""
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(url, heartbeat))
    except KeyError:
        raise ConfigError(f"--from-study: no study {name!r} in that storage") from None
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not done:
        raise ConfigError(f"--from-study: study {name!r} has no finished trial")
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    done.sort(key=lambda t: (sign * _value(t), t.number))
    top: dict[str, dict[str, Any]] = {}
    seen = []
    for trial in done:
        fields = _stage1_fields(trial)
        if fields in seen:
            continue
        seen.append(fields)
        top[f"t{trial.number}"] = fields
        if len(top) == k:
            break
    return top


def _stage1_fields(trial) -> dict[str, Any]:
    """What made the trial: its parameters and rule changes (not its seed, not shown defaults)."""
    overrides = trial.user_attrs.get("overrides", {})
    return {
        k: v
        for k, v in trial.user_attrs.get("fields", {}).items()
        if k != "train.seed" and (k not in SHOWN or k in trial.params or k in overrides)
    }


def _value(trial: optuna.trial.FrozenTrial) -> float:
    """A finished single-objective trial's value (optuna types it as optional)."""
    if trial.value is None:
        raise ValueError(f"trial {trial.number} finished without a value")
    return trial.value
