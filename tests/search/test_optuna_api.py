"""The library-internal Optuna APIs that search/storage.py relies on (see its module doc): this
fails loudly, naming the API, when an Optuna release changes one of them."""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys

import optuna
from optuna.trial import TrialState

from tweetsent.search.storage import (
    Heartbeat,
    mark_failed,
    new_trial,
    open_storage,
    pop_waiting,
    quiet_optuna,
)

STORAGE_METHODS = {
    "get_study_id_from_name": ["study_name"],
    "get_trial_id_from_study_id_trial_number": ["study_id", "trial_number"],
    "set_trial_state_values": ["trial_id", "state"],
    "set_trial_user_attr": ["trial_id", "key", "value"],
    "create_new_trial": ["study_id"],
    "record_heartbeat": ["trial_id"],
}


def test_storage_methods_keep_their_signatures(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'api.db'}")
    for name, params in STORAGE_METHODS.items():
        method = getattr(storage, name, None)
        assert method is not None, f"optuna storage lost {name}()"
        got = list(inspect.signature(method).parameters)
        assert got[: len(params)] == params, f"optuna storage {name}{got}: expected {params}"


def test_claim_run_heartbeat_and_fail_through_the_internal_apis(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'api.db'}", heartbeat=1)
    study = optuna.create_study(study_name="api", storage=storage, direction="maximize")
    study.enqueue_trial({"x": 0.5})
    trial, trial_id = pop_waiting(study, storage)  # optuna.Trial(study, trial_id)
    assert isinstance(trial, optuna.Trial) and trial.number == 0
    assert trial.suggest_float("x", 0.0, 1.0) == 0.5  # the enqueued value
    with Heartbeat(storage, trial_id, interval=1):
        trial.report(0.1, 1)
    study.tell(trial, 0.5)
    assert study.trials[0].state == TrialState.COMPLETE
    fresh, _ = new_trial(study, storage, origin="tpe")
    assert mark_failed(study, storage, fresh.number, "worker gone")
    assert study.trials[1].state == TrialState.FAIL
    assert study.trials[1].user_attrs["error"] == "worker gone"


def test_importing_the_search_leaves_optunas_log_level_alone():
    code = (
        "import logging, optuna; optuna.logging.set_verbosity(logging.INFO); "
        "import tweetsent.search, tweetsent.search.storage; "
        "print(optuna.logging.get_verbosity())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == logging.INFO
    before = optuna.logging.get_verbosity()
    try:
        quiet_optuna()
        assert optuna.logging.get_verbosity() == logging.WARNING
    finally:
        optuna.logging.set_verbosity(before)
