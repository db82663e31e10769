"""`run_search(space)`: create (or resume, or join) a study, run its workers, write the report.

space = load_space("configs/search/coarse.toml")
report = run_search(space)                    # a new study
report = run_search(space, resume=True)       # missing or failed trials run again
report = run_search(space, join=True)         # more workers (another machine) on a study
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from tweetsent.errors import ConfigError
from tweetsent.search.overfit import apply_rule
from tweetsent.search.plan import enqueue, missing_slots, plan, top_configs
from tweetsent.search.report import SearchReport, write_report
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


def run_search(
    space: SearchSpace, resume: bool = False, join: bool = False, log=print
) -> SearchReport:
    """Run the study `space.settings.name` to its end and report on it."""
    s = space.settings
    quiet_optuna()
    if resume and join:
        raise ConfigError("--resume and --join: give one of them")
    if s.mlflow:
        from tweetsent.search.mlflow_log import check_mlflow

        check_mlflow()
    s.study_dir.mkdir(parents=True, exist_ok=True)
    storage = open_storage(s.storage_url, s.heartbeat)
    study, total = _open_study(space, storage, resume, join, log)
    if s.workers:
        run_workers(space, total, log)
    return write_report(study, space, log)


def report_only(space: SearchSpace, log=print) -> SearchReport:
    """Write the report of an existing study again (no training)."""
    s = space.settings
    storage = open_storage(s.storage_url, s.heartbeat)
    return write_report(_load(space, storage, strict=False, log=log), space, log)


def _load(space: SearchSpace, storage, strict: bool = True, log=print) -> optuna.Study:
    s = space.settings
    if not study_exists(storage, s.name):
        raise ConfigError(f"no study {s.name!r} in {safe_url(s.storage_url)}")
    study = optuna.load_study(study_name=s.name, storage=storage)
    if study.user_attrs.get("fingerprint") != space.fingerprint():
        message = (
            f"{space.source}: the space or settings differ from those study {s.name!r} was "
            "created with"
        )
        if strict:
            raise ConfigError(f"{message} (name a new study with --name)")
        log(f"warning: {message}; best_config.toml uses the space as it is now")
    return study


def _open_study(space: SearchSpace, storage, resume: bool, join: bool, log):
    """The study and the number of trials it plans; a new one gets its planned trials queued."""
    s = space.settings
    if not study_exists(storage, s.name):
        if join:
            raise ConfigError(f"--join: no study {s.name!r} in {safe_url(s.storage_url)} yet")
        return _create(space, storage, log)
    if not (resume or join):
        raise ConfigError(
            f"study {s.name!r} already exists in {safe_url(s.storage_url)}: "
            "--resume continues it, --join adds workers to it, --name starts another"
        )
    study = _load(space, storage)
    planned = plan(space, study.user_attrs.get("stage1", {}))
    total = len(planned) if s.sampler != "tpe" else s.trials
    if join:
        return study, total
    with claim_lock(s.storage_url):
        dead = fail_dead_trials(study, storage)
        slots = missing_slots(study, planned)
        enqueue(study, planned, slots)
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        followups = apply_rule(study, done, s, space.base_values(), log)
    log(
        f"resume {s.name}: {len(dead)} trial(s) of dead workers marked failed, "
        f"{len(slots)} planned trial(s) and {followups} follow-up(s) queued"
    )
    return study, len(slots) + followups + (s.trials if s.sampler == "tpe" else 0)


def _create(space: SearchSpace, storage, log):
    s = space.settings
    stage1 = {}
    if s.from_study:
        stage1 = top_configs(s.from_storage or s.storage_url, s.from_study, s.top_k, s.heartbeat)
        log(f"stage 1: the {len(stage1)} best configurations of {s.from_study}: {list(stage1)}")
    study = optuna.create_study(storage=storage, study_name=s.name, direction=s.direction)
    study.set_user_attr("fingerprint", space.fingerprint())
    private = ("storage", "from_storage", "mlflow")  # URLs may hold passwords
    study.set_user_attr("settings", {k: v for k, v in s.to_dict().items() if k not in private})
    study.set_user_attr("stage1", stage1)
    planned = plan(space, stage1)
    with claim_lock(s.storage_url):
        enqueue(study, planned, list(range(len(planned))))
    more = f", then TPE up to {s.trials}" if s.sampler == "tpe" else ""
    log(
        f"study {s.name}: {len(planned)} planned {s.sampler} trial(s){more}, "
        f"storage {safe_url(s.storage_url)}, runs in {s.study_dir}"
    )
    return study, len(planned) if s.sampler != "tpe" else s.trials
