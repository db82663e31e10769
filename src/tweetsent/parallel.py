"""Process helpers: usable cores, a paused garbage collector, and ONE worker-pool helper.

    with worker_pool(workers, shared=texts) as pool:   # None: work in this process
        results = pool.map(fn, ranges)                  # fn reads `shared()` in the worker

`worker_pool` forks its workers where the platform can (Linux), so they inherit `shared` (and
the parent's memory: a loaded model, a list of texts) without pickling it; elsewhere it starts
them with the platform's default method, and `shared()` is None in a worker, so callers must
then send their data with each task. Forked workers are all started when the pool opens, before
the executor starts its own thread (forking after threads exist is unsafe): open it before any
progress bar. A worker that dies fails the call (`BrokenProcessPool`) instead of hanging it.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

FORK = sys.platform.startswith("linux")  # fork is fastest (nothing re-imported) and shares memory

# What the current `worker_pool` hands its forked workers by inheritance (set before the fork).
_SHARED: Any = None


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether worker processes may be forked here: Linux, the main thread of a non-daemon
    process (forking from another thread, e.g. a server's model thread, is unsafe)."""
    return (
        FORK
        and threading.current_thread() is threading.main_thread()
        and not mp.current_process().daemon
    )


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: building millions of small lists (none of them in a
    reference cycle) otherwise triggers full collections that cost more than the work."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def shared() -> Any:
    """In a forked worker: the `shared` value of the `worker_pool` that started it."""
    return _SHARED


@contextlib.contextmanager
def worker_pool(
    workers: int,
    shared: Any = None,
    initializer: Callable[[], None] | None = None,
    fork_only: bool = False,
) -> Iterator[ProcessPoolExecutor | None]:
    """`workers` processes (see the module doc), or None for fewer than two, in a daemon process
    (which may not have children), with `fork_only` where workers cannot be forked
    (`can_fork`), or when processes cannot be started (a warning). On an exception, queued
    tasks are dropped and running ones finish; on success the pool is shut down and joined."""
    global _SHARED
    if workers < 2 or mp.current_process().daemon or (fork_only and not can_fork()):
        yield None
        return
    context = mp.get_context("fork") if FORK else mp.get_context()
    _SHARED = shared  # set before the fork: the workers inherit it
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=initializer)
    try:
        pool.submit(int).result()  # start the workers now (all of them, when forking)
    except OSError as exc:
        pool.shutdown(wait=False, cancel_futures=True)
        _SHARED = None
        warnings.warn(f"working in one process: cannot start workers ({exc})", stacklevel=3)
        yield None
        return
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown()
    finally:
        _SHARED = None
