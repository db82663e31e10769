"""The study's overfitting rule, automatic and logged.

When a finished trial ends with a train-validation accuracy gap above `overfit_gap` (the gap
of its last epoch, `train_accuracy - valid_accuracy`), the same configuration is queued again
with more dropout (`model.output_dropout + overfit_dropout`); if that one still overfits, once
more with a tighter gradient-clipping norm (`train.clip_norm` lowered to `overfit_clip`, or
halved when already below). Follow-ups keep their parent's parameters and seed, and carry
`origin` = "overfit-dropout" / "overfit-clip" and `parent` = the trial they fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tweetsent.search.settings import SearchSettings

MAX_DROPOUT = 0.8
STEPS = ("overfit-dropout", "overfit-clip")


def gap_overfits(gap: float | None, threshold: float) -> bool:
    """The rule's test on a finished run: its last epoch's train - valid accuracy gap is above
    `threshold` (0: the rule is off). Also read by `tweetsent study` for its overfitting flags."""
    return threshold > 0 and gap is not None and gap > threshold


def overfits(trial: FrozenTrial, settings: SearchSettings) -> bool:
    return trial.state == TrialState.COMPLETE and gap_overfits(
        trial.user_attrs.get("gap"), settings.overfit_gap
    )


def followup(
    trial: FrozenTrial, settings: SearchSettings, base: dict[str, Any]
) -> dict[str, Any] | None:
    """The user attributes of the follow-up that `trial` calls for, or None."""
    step = int(trial.user_attrs.get("overfit_step", 0))
    if not overfits(trial, settings) or step >= len(STEPS):
        return None
    fields = {**base, **trial.user_attrs.get("fields", {})}
    overrides = dict(trial.user_attrs.get("overrides", {}))
    if step == 0:
        dropout = float(fields["model.output_dropout"])
        overrides["model.output_dropout"] = round(
            min(dropout + settings.overfit_dropout, MAX_DROPOUT), 6
        )
    else:
        clip = float(fields["train.clip_norm"])
        tight = settings.overfit_clip
        overrides["train.clip_norm"] = tight if clip == 0 or clip > tight else clip / 2
    return {
        "origin": STEPS[step],
        "parent": trial.number,
        "slot": int(trial.user_attrs.get("slot", trial.number)),
        "overrides": overrides,
        "overfit_step": step + 1,
    }


def apply_rule(
    study: optuna.Study,
    trials: list[FrozenTrial],
    settings: SearchSettings,
    base: dict[str, Any],
    log: Callable[[str], None] = print,
) -> int:
    """Queue the follow-ups `trials` call for and that the study does not hold yet."""
    children = {
        t.user_attrs.get("parent")
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get("origin") in STEPS and t.state != TrialState.FAIL
    }
    queued = 0
    for trial in trials:
        attrs = followup(trial, settings, base)
        if attrs is None or trial.number in children:
            continue
        study.enqueue_trial(trial.params, user_attrs=attrs)
        change = ", ".join(f"{k} = {v:g}" for k, v in attrs["overrides"].items())
        log(
            f"overfitting rule: trial {trial.number} gap {trial.user_attrs['gap']:.3f} > "
            f"{settings.overfit_gap:g}: queued {attrs['origin']} follow-up ({change})"
        )
        queued += 1
    return queued
