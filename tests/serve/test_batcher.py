"""MicroBatcher with a fake model: grouping, bounds, isolation of results and of failures."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tweetsent.runs.predict import Prediction
from tweetsent.serve.batcher import Busy, MicroBatcher


class FakeModel:
    """Labels each text with itself; records the batches and the thread it ran in."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.threads: set[int] = set()
        self.fail_on = fail_on

    def __call__(self, texts, attention):
        self.calls.append(list(texts))
        self.threads.add(threading.get_ident())
        if self.fail_on in texts:
            raise RuntimeError("model failure")
        return [
            Prediction(text=t, label=t, probs={t: 1.0}, tokens=[t], attention=[1.0]) for t in texts
        ]


def run(coro):
    return asyncio.run(coro)


async def _submit_all(batcher: MicroBatcher, requests, attention=False):
    await batcher.start()
    try:
        tasks = [batcher.submit(texts, attention) for texts in requests]
        return await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_requests_share_model_calls_and_keep_their_own_results():
    model = FakeModel()
    requests = [[f"r{i}-a", f"r{i}-b"][: 1 + i % 2] for i in range(40)]
    results = run(_submit_all(MicroBatcher(model, max_batch=16, max_wait_ms=50), requests))
    for texts, preds in zip(requests, results, strict=True):
        assert [p.label for p in preds] == texts
    assert len(model.calls) < len(requests)  # requests were grouped
    assert all(len(call) <= 16 for call in model.calls)  # bounded batch
    assert sorted(t for call in model.calls for t in call) == sorted(sum(requests, []))
    assert threading.get_ident() not in model.threads  # the model ran outside the event loop


def test_a_request_larger_than_the_batch_runs_alone():
    model = FakeModel()
    big = [f"t{i}" for i in range(10)]
    results = run(
        _submit_all(MicroBatcher(model, max_batch=4, max_wait_ms=20), [["x"], big, ["y"]])
    )
    assert [p.label for p in results[1]] == big
    assert big in model.calls


def test_wait_is_bounded_when_alone():
    model = FakeModel()

    async def one():
        batcher = MicroBatcher(model, max_batch=64, max_wait_ms=5)
        await batcher.start()
        try:
            return await asyncio.wait_for(batcher.submit(["solo"]), timeout=5)
        finally:
            await batcher.stop()

    assert [p.label for p in run(one())] == ["solo"]


def test_attention_stays_with_the_requests_that_asked():
    model = FakeModel()
    batcher = MicroBatcher(model, max_batch=8, max_wait_ms=50)

    async def mixed():
        await batcher.start()
        try:
            return await asyncio.gather(batcher.submit(["a"], True), batcher.submit(["b"], False))
        finally:
            await batcher.stop()

    with_attention, without = run(mixed())
    assert with_attention[0].attention == [1.0] and with_attention[0].tokens == ["a"]
    assert without[0].attention is None and without[0].tokens is None


def test_a_model_failure_fails_its_batch_only():
    model = FakeModel(fail_on="boom")

    async def scenario():
        batcher = MicroBatcher(model, max_batch=1, max_wait_ms=0)
        await batcher.start()
        try:
            bad = await asyncio.gather(batcher.submit(["boom"]), return_exceptions=True)
            good = await batcher.submit(["fine"])
            return bad[0], good
        finally:
            await batcher.stop()

    bad, good = run(scenario())
    assert isinstance(bad, RuntimeError)
    assert [p.label for p in good] == ["fine"]


def test_queue_is_bounded():
    gate = threading.Event()

    def slow(texts, attention):
        gate.wait(5)
        return FakeModel()(texts, attention)

    async def flood():
        batcher = MicroBatcher(slow, max_batch=1, max_wait_ms=0, max_pending=3)
        await batcher.start()
        try:
            tasks = [asyncio.ensure_future(batcher.submit(["t0"]))]
            await asyncio.sleep(0.05)  # t0 is in the (blocked) model
            tasks += [asyncio.ensure_future(batcher.submit([f"t{i}"])) for i in range(1, 4)]
            await asyncio.sleep(0.01)  # t1..t3 wait in the queue
            with pytest.raises(Busy):
                await batcher.submit(["one too many"])
            gate.set()
            return await asyncio.gather(*tasks)
        finally:
            await batcher.stop()

    results = run(flood())
    assert [r[0].label for r in results] == ["t0", "t1", "t2", "t3"]


def _two_requests(announce_second: bool) -> list[list[str]]:
    """Submit "a", then "b" 50 ms later, with a 2 s wait bound; the model calls made."""
    model = FakeModel()

    async def scenario():
        batcher = MicroBatcher(model, max_batch=8, max_wait_ms=2000)
        await batcher.start()
        try:
            settle = batcher.announce() if announce_second else None
            first = asyncio.ensure_future(batcher.submit(["a"]))
            await asyncio.sleep(0.05)
            await asyncio.gather(first, batcher.submit(["b"], settle=settle))
        finally:
            await batcher.stop()

    run(scenario())
    return model.calls


def test_a_batch_waits_for_announced_requests_only():
    assert _two_requests(announce_second=True) == [["a", "b"]]
    assert _two_requests(announce_second=False) == [["a"], ["b"]]
