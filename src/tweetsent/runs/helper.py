"""The helper-process backend: the torch or ONNX Runtime backend in a forked helper process,
started before torch is imported, so that a command's start does not wait for torch (issue 15).

    scorer = HelperScorer.start(read_run("runs/default"))   # forks now; returns at once
    future = scorer.submit(encoded)                     # EncodedSet -> Future of (probs, counts)
    scorer.close()

`runs.backends.open_scorer` starts it (with `background=True`, where `HelperScorer.usable`);
the helper inherits the run as the parent read it (config, vocabulary, labels: nothing is read
twice) and loads the weights itself.

`import torch` is the largest fixed cost of `tweetsent predict` (0.9 s on a fast core, 3 s on
a slow one: a third of the whole command), and cleaning the input is the next largest; neither
needs the other. So the command forks this process as soon as it has read the run directory
(no torch needed for that): it imports torch and loads the run's weights on one core while the
command itself (which never imports torch) reads and cleans the input on the other. Encoded
slices are queued to it as they are ready; once loaded it scores them on `threads` threads of
one torch thread each (the LSTM releases the GIL: ~1.8x on two cores, against ~1.6x for one
call with two torch threads) and sends back each slice's probabilities and token counts. The
outputs are those of the in-process model, bit for bit: the same code scores the same batches.

Failures are one line, as in-process: a run whose weights cannot be loaded fails every pending
and later `submit` with the `TweetsentError` the load raised; a helper that dies (killed, out
of memory) fails them with one naming its exit status. The helper ignores SIGINT (Ctrl-C goes
to the command, which closes it) and ends when the command's end of the pipe closes, so it
never outlives the command.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import signal
import sys
import threading
import traceback
from concurrent.futures import Future
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from tweetsent.errors import TweetsentError
from tweetsent.runs.inference import QueuedScorer, slice_rows_for

if TYPE_CHECKING:
    from tweetsent.data.prepare import EncodedSet
    from tweetsent.runs.rundir import LoadedRun

_ERROR, _READY = -1, -2  # message keys besides a slice's own number


class HelperScorer(QueuedScorer):
    """A forked process that loads a run's model and scores encoded inputs (see module doc):
    the `runs.inference.Scorer` of the helper-process backend."""

    def __init__(self, process: Any, conn: Connection, threads: int) -> None:
        self._process = process
        self._conn = conn
        self.threads = threads
        self._lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._next = 0
        self._closing = False
        self._failure: BaseException | None = None
        self._ready = threading.Event()
        self.info: dict[str, Any] = {}  # from the helper once loaded: has_attention
        self._reader = threading.Thread(target=self._read, name="tweetsent-scorer", daemon=True)
        self._reader.start()

    @staticmethod
    def usable(device: str = "cpu") -> bool:
        """Whether a background scorer pays here: on the CPU, in a process that has not
        imported torch yet (else loading it here is as quick), where forking is safe."""
        from tweetsent.parallel import can_fork

        return device == "cpu" and "torch" not in sys.modules and can_fork()

    @classmethod
    def start(
        cls,
        run: LoadedRun,
        device: str = "cpu",
        batch_size: int = 512,
        threads: int = 1,
        backend: str = "torch",
    ) -> HelperScorer:
        """Fork the helper (it loads the weights of `run`, read by `runs.rundir.read_run`, in
        the background) and return at once. `backend`: "torch" (the run's model), or "onnx"
        (`runs.onnxrt.OnnxModel`: no torch there either, for the runs it supports)."""
        ctx = get_context("fork")
        ours, theirs = ctx.Pipe(duplex=True)
        process = ctx.Process(
            target=_helper,  # forked: `run` is inherited, not pickled
            args=(theirs, ours, run, device, batch_size, threads, backend),
            name="tweetsent-scorer",
            daemon=True,  # never outlives this process
        )
        process.start()
        theirs.close()
        scorer = cls(process, ours, threads)
        scorer.slice_rows = slice_rows_for(run.config)  # small slices for slow (contextual) runs
        atexit.register(scorer.close)  # a caller that forgets close() still ends it
        return scorer

    def submit(self, data: EncodedSet) -> Future:
        """Queue `data` for scoring: a Future of (probabilities (n, C) float32, counts (n,))."""
        future: Future = Future()
        with self._lock:
            if self._failure is not None:
                future.set_exception(self._failure)
                return future
            key = self._next
            self._next += 1
            self._pending[key] = future
        with contextlib.suppress(OSError):  # the helper is gone: the reader fails the futures
            self._conn.send((key, data))
        return future

    def wait_ready(self) -> dict[str, Any]:
        """Block until the model is loaded; its facts (raises what the load raised)."""
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        return self.info

    def close(self) -> None:
        """End the helper now (a slice it is scoring is not waited for)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        atexit.unregister(self.close)
        with contextlib.suppress(OSError):
            self._conn.send(None)  # the helper exits on reading it
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._reader.join(timeout=5)  # it reads EOF once the helper is gone
        self._conn.close()

    def __enter__(self) -> HelperScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- this process's reader thread ----------------------------------------------------------

    def _read(self) -> None:
        while True:
            try:
                key, value = self._conn.recv()
            except (EOFError, OSError):
                self._fail(self._died())
                return
            if key == _READY:
                self.info = value
                self._ready.set()
            elif key == _ERROR:
                self._fail(_error(value))
                return
            else:
                with self._lock:
                    future = self._pending.pop(key)
                if isinstance(value, tuple) and len(value) == 3:  # (kind, message) of a slice
                    future.set_exception(_error(value[1:]))
                else:
                    future.set_result(value)

    def _died(self) -> BaseException:
        if self._closing:  # closed by us: nothing failed
            return TweetsentError("the scoring process was closed")
        self._process.join(timeout=5)
        code = self._process.exitcode
        how = f"killed by signal {-code}" if code and code < 0 else f"exit status {code}"
        return TweetsentError(f"the scoring process stopped unexpectedly ({how})")

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            self._failure = error
            pending, self._pending = self._pending, {}
        self._ready.set()
        for future in pending.values():
            if not future.done():
                future.set_exception(error)


def _error(value: tuple[str, str]) -> BaseException:
    """The exception a helper's ("tweetsent" | "bug", message) stands for."""
    kind, message = value
    return TweetsentError(message) if kind == "tweetsent" else RuntimeError(message)


# -- the helper process ----------------------------------------------------------------------------


def _helper(
    conn: Connection,
    other_end: Connection,
    run: LoadedRun,
    device: str,
    batch_size: int,
    threads: int,
    backend: str,
) -> None:
    other_end.close()  # the command's end: held here it would hide the command's exit
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    receiver = threading.Thread(target=_receive, args=(conn, inbox), daemon=True)
    receiver.start()  # slices queue up here while torch loads: the command never blocks
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:
            try:
                conn.send(message)
            except OSError:  # the command is gone
                os._exit(0)

    try:
        score, info = _load(run, device, batch_size, backend)
    except TweetsentError as exc:
        send((_ERROR, ("tweetsent", str(exc))))
        os._exit(0)
    except BaseException:
        send((_ERROR, ("bug", "the scoring process failed to load the run:\n" + _trace())))
        os._exit(1)
    send((_READY, info))
    workers = [
        threading.Thread(target=_work, args=(inbox, score, send), daemon=True)
        for _ in range(max(1, threads))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()  # until the receiver ends the process (os._exit: no interpreter teardown)


def _receive(conn: Connection, inbox: queue.SimpleQueue) -> None:
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            item = None  # the command is gone
        if item is None:  # closed: results are no longer wanted
            os._exit(0)
        inbox.put(item)


def _work(inbox: queue.SimpleQueue, score: Any, send: Any) -> None:
    while True:
        key, data = inbox.get()
        try:
            result = score(data)
        except TweetsentError as exc:
            send((key, ("error", "tweetsent", str(exc))))
        except Exception:
            send((key, ("error", "bug", "scoring failed in the scoring process:\n" + _trace())))
        else:
            send((key, result))


def _load(run: LoadedRun, device: str, batch_size: int, backend: str) -> tuple[Any, dict[str, Any]]:
    """Load the run's weights; the score function (EncodedSet -> (probs, counts)) and facts."""
    if backend == "onnx":
        from tweetsent.runs.onnxrt import OnnxModel

        model = OnnxModel(run, batch_size)
        return model.score, {"has_attention": False}
    import torch

    from tweetsent.device import resolve_device
    from tweetsent.runs.rundir import load_model
    from tweetsent.runs.torch_scorer import TorchScorer

    torch.set_num_threads(1)  # one torch thread per scoring thread
    dev = resolve_device(device)
    scorer = TorchScorer(load_model(run, dev), dev, batch_size, workers=1)
    return scorer.score, scorer.wait_ready()


def _trace() -> str:
    return traceback.format_exc(limit=8).rstrip()
