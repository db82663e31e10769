"""Where a study lives: an Optuna RDB storage (SQLite by default, PostgreSQL to span machines).

Trials are claimed from the study's queue one at a time.

Library-internal Optuna APIs, kept on purpose (tests/search/test_optuna_api.py fails loudly if
they change): the storage's trial methods (`set_trial_state_values`, `create_new_trial`,
`record_heartbeat`, ...) and `optuna.Trial(study, trial_id)`. The public `study.ask()` cannot
claim a given enqueued trial under our row/file lock, tag its worker before any other worker sees
it running, or keep a heartbeat for a trial that runs for minutes in a separate thread, which
is what lets a dead worker's trial be failed and rerun. PostgreSQL locks the claimed row
(`SELECT ... FOR UPDATE`); SQLite cannot, so on SQLite claims also hold a file lock beside the
database (SQLite studies live on one machine anyway). A running trial sends a heartbeat; a
trial whose worker died is marked failed: at once by the parent of a local worker, by the
heartbeat's grace period for a worker on another machine, and on `--resume`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
from optuna.trial import TrialState

from tweetsent.errors import ConfigError


def quiet_optuna() -> None:
    """Optuna logs every trial at INFO; a search prints its own progress. Called where a search
    or a worker starts (never at import: the level is global to the process)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def open_storage(url: str, heartbeat: int = 20) -> optuna.storages.BaseStorage:
    """An RDB storage with heartbeats (grace period: three beats).

    A plain `postgresql://` URL is read with psycopg2 (`pip install 'tweetsent[postgres]'`);
    name another driver explicitly (`postgresql+psycopg://`) to use it instead.
    """
    engine: dict = {}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = {"connect_args": {"timeout": 120}}
    elif "://" not in url:
        raise ConfigError(f"search.storage: {url!r} is not a database URL (sqlite:///file.db)")
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg2://" + url.partition("://")[2]  # the `postgres` extra's driver
    try:
        with _quiet():
            rdb = optuna.storages.RDBStorage(
                url, engine_kwargs=engine, heartbeat_interval=heartbeat, grace_period=3 * heartbeat
            )
    except ImportError as exc:
        raise ConfigError(f"search.storage: {exc} (pip install 'tweetsent[postgres]')") from None
    except Exception as exc:  # sqlalchemy: bad URL, server not reachable, ...
        raise ConfigError(f"search.storage: cannot open {safe_url(url)}: {exc}") from None
    return optuna.storages.get_storage(rdb)


def study_exists(storage, name: str) -> bool:
    """Whether `storage` holds a study called `name`."""
    try:
        storage.get_study_id_from_name(name)
    except KeyError:
        return False
    return True


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':')[0]}:***@{tail}"


@contextlib.contextmanager
def claim_lock(url: str) -> Iterator[None]:
    """Serialise claims and enqueues on a SQLite study (a no-op for server databases)."""
    if not url.startswith("sqlite:///"):
        yield
        return
    path = Path(url.removeprefix("sqlite:///") + ".lock")
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def pop_waiting(study: optuna.Study, storage) -> tuple[optuna.Trial, int] | None:
    """Claim the oldest waiting (enqueued) trial: (trial, its storage id), or None."""
    study_id = storage.get_study_id_from_name(study.study_name)
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number)
        try:
            if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                storage.set_trial_user_attr(trial_id, "worker", worker_id())
                return optuna.Trial(study, trial_id), trial_id
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def new_trial(study: optuna.Study, storage, origin: str) -> tuple[optuna.Trial, int]:
    """A fresh running trial for the sampler to fill (TPE after its seeded start)."""
    trial_id = storage.create_new_trial(storage.get_study_id_from_name(study.study_name))
    storage.set_trial_user_attr(trial_id, "origin", origin)
    storage.set_trial_user_attr(trial_id, "worker", worker_id())
    return optuna.Trial(study, trial_id), trial_id


def mark_failed(study: optuna.Study, storage, number: int, reason: str) -> bool:
    """Fail a running trial (its worker died); True when this call changed it."""
    study_id = storage.get_study_id_from_name(study.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
    try:
        storage.set_trial_user_attr(trial_id, "error", reason)
        return bool(storage.set_trial_state_values(trial_id, state=TrialState.FAIL))
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


def fail_dead_trials(study: optuna.Study, storage, worker: str | None = None) -> list[int]:
    """Fail running trials whose worker is gone: `worker`'s, or this host's dead processes.

    Trials of other machines are left to the heartbeat (`optuna.storages.fail_stale_trials`).
    """
    host = socket.gethostname()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get("worker", "")
        name, _, pid = owner.partition(":")
        dead = owner == worker if worker else name == host and not _alive(int(pid or 0))
        if dead and mark_failed(study, storage, trial.number, f"worker {owner} died"):
            failed.append(trial.number)
    fail_stale(study)
    return failed


def fail_stale(study: optuna.Study) -> None:
    """Fail running trials whose heartbeat stopped more than a grace period ago."""
    with _quiet():
        optuna.storages.fail_stale_trials(study)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna marks heartbeats experimental (since 2.9); its warning says nothing to users."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeat:
    """A thread that records a running trial's heartbeat until stopped."""

    def __init__(self, storage, trial_id: int, interval: int) -> None:
        self._storage, self._trial_id, self._interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                self._storage.record_heartbeat(self._trial_id)
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
