"""Micro-batching: requests that arrive together share one model call, in a worker thread.

The event loop only queues requests and hands out results; the model runs in a single worker
thread, so the loop keeps answering `/healthz` (and queueing) while a batch is computed.

A batch starts with the oldest waiting request and takes the requests behind it, in arrival
order, until it holds `max_batch` texts or the oldest request has waited `max_wait_ms`
(bounded wait, bounded batch). It waits only for requests the server has already begun to
receive (`announce()`): when none is on its way, the batch runs at once, so a lone request is
not held back by the wait. A request larger than `max_batch` runs alone. Every request
keeps its own slice of the batch's predictions, so results never mix; and no state is carried
from one model call to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tweetsent.runs.predict import Prediction

PredictFn = Callable[[Sequence[str], bool], list[Prediction]]


class Busy(Exception):
    """More requests are waiting than the server accepts (`max_pending`)."""


@dataclass
class _Job:
    texts: list[str]
    attention: bool
    arrived: float  # loop time
    future: asyncio.Future


class MicroBatcher:
    """`await batcher.submit(texts, attention)` -> the predictions of these texts, in order."""

    def __init__(
        self,
        predict: PredictFn,
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        max_pending: int = 1024,
    ) -> None:
        self._predict = predict
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_pending = max_pending
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self._carry: _Job | None = None  # a request that did not fit into the last batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tweetsent-model")
        self.arriving = 0  # requests announced but not submitted yet
        self.batches = 0  # model calls made (for tests and logs)
        self.largest = 0  # most requests seen in one model call

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop(), name="tweetsent-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        pending = [self._carry] if self._carry else []
        while self._queue is not None and not self._queue.empty():
            pending.append(self._queue.get_nowait())
        for job in pending:
            if not job.future.done():
                job.future.set_exception(RuntimeError("server shutting down"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    def announce(self) -> Callable[[], None]:
        """A request is on its way: batches wait for it (up to `max_wait_ms`) until the
        returned function is called, when it is submitted or given up (calling it again is
        harmless)."""
        self.arriving += 1
        done = False

        def settle() -> None:
            nonlocal done
            if not done:
                done = True
                self.arriving -= 1

        return settle

    async def submit(
        self,
        texts: Sequence[str],
        attention: bool = False,
        settle: Callable[[], None] | None = None,
    ) -> list[Prediction]:
        if settle is not None:
            settle()
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not awaited")
        if self._queue.qsize() >= self.max_pending:
            raise Busy(f"{self._queue.qsize()} requests waiting")
        loop = asyncio.get_running_loop()
        job = _Job(list(texts), attention, loop.time(), loop.create_future())
        self._queue.put_nowait(job)
        return await job.future

    async def _loop(self) -> None:
        while True:
            batch = await self._collect()
            live = [job for job in batch if not job.future.done()]  # skip cancelled clients
            if live:
                await self._run(live)

    async def _collect(self) -> list[_Job]:
        """The oldest request and those behind it, within the size and wait bounds."""
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        first = self._carry or await self._queue.get()
        self._carry = None
        batch, size = [first], len(first.texts)
        deadline = first.arrived + self.max_wait
        while size < self.max_batch:
            if self._queue.empty():
                await asyncio.sleep(0)  # let the loop take in what has just arrived
            if self._queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0 or self.arriving == 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                job = self._queue.get_nowait()
            if size + len(job.texts) > self.max_batch:
                self._carry = job
                break
            batch.append(job)
            size += len(job.texts)
        return batch

    async def _run(self, batch: list[_Job]) -> None:
        texts = [text for job in batch for text in job.texts]
        attention = any(job.attention for job in batch)
        loop = asyncio.get_running_loop()
        try:
            preds = await loop.run_in_executor(self._executor, self._predict, texts, attention)
            if len(preds) != len(texts):
                raise RuntimeError(f"{len(preds)} predictions for {len(texts)} texts")
        except Exception as exc:  # a model failure fails this batch, not the server
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        start = 0
        for job in batch:
            mine = preds[start : start + len(job.texts)]
            start += len(job.texts)
            if not job.attention:
                mine = [_without_attention(pred) for pred in mine]
            if not job.future.done():
                job.future.set_result(mine)


def _without_attention(pred: Prediction) -> Prediction:
    if pred.attention is None:
        return pred
    return dataclasses.replace(pred, tokens=None, attention=None, attention_hops=None)
