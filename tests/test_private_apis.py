"""The private third-party APIs tweetsent relies on are still there and behave as the code
expects. Each is pinned in pyproject.toml; when an upgrade changes one, the test naming it
fails here (on real objects, not mocks) instead of the feature breaking quietly.

- uvicorn protocol internals: serve/connections.py (see its module doc);
- torch `Tensor._version`: models/ngram.py (the prediction cache's key);
- torch `nn.Module._apply`: embed/elmo/embedder.py (moving the unregistered biLM);
- torch `torch._VF.lstm` / `gru`: models/rnn.py (checked against nn.LSTM/nn.GRU in
  tests/models/test_rnn_encoder.py; here only that they exist);
- Dask `frame._meta`: runs/partitions.py.
"""

from __future__ import annotations

import asyncio
import collections
import inspect

import numpy as np
import pytest
import torch
from torch import nn

# -- uvicorn ------------------------------------------------------------------------------------


def _params(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_uvicorn_auto_protocol_is_httptools():
    """serve/server.py hands `AutoHTTPProtocol` to `guarded_protocol`; the header limit and
    pipelining rules need the httptools class (httptools is a dependency)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert AutoHTTPProtocol is HttpToolsProtocol


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("connection_made", ["self", "transport"]),
        ("data_received", ["self", "data"]),
        ("connection_lost", ["self", "exc"]),
        ("on_headers_complete", ["self"]),
        ("on_message_complete", ["self"]),
        ("on_response_complete", ["self"]),
        ("send_400_response", ["self", "msg"]),
        ("_start_asgi_task", ["self", "cycle", "app"]),
    ],
)
def test_uvicorn_httptools_methods(name, params):
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    method = getattr(HttpToolsProtocol, name, None)
    assert method is not None, f"uvicorn HttpToolsProtocol.{name} is gone (serve/connections.py)"
    assert _params(method) == params, f"uvicorn HttpToolsProtocol.{name} changed its signature"


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("connection_made", ["self", "transport"]),
        ("data_received", ["self", "data"]),
        ("connection_lost", ["self", "exc"]),
        ("on_response_complete", ["self"]),
        ("send_400_response", ["self", "msg"]),
    ],
)
def test_uvicorn_h11_methods(name, params):
    """The fallback base when httptools is missing."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    method = getattr(H11Protocol, name, None)
    assert method is not None, f"uvicorn H11Protocol.{name} is gone (serve/connections.py)"
    assert _params(method) == params, f"uvicorn H11Protocol.{name} changed its signature"


def test_uvicorn_keep_alive_takes_seconds_as_float():
    """serve/server.py passes a float `timeout_keep_alive` (uvicorn annotates int): uvicorn
    must keep it as given and only use it as call_later's delay."""
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = uvicorn.Config(_app, timeout_keep_alive=0.25)  # annotated int
    assert config.timeout_keep_alive == 0.25
    source = inspect.getsource(HttpToolsProtocol.on_response_complete)
    assert "call_later(" in source and "self.timeout_keep_alive" in source, (
        "uvicorn no longer arms keep-alive with loop.call_later(self.timeout_keep_alive, ...)"
    )


async def _app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class _Transport(asyncio.Transport):
    """An in-memory socket: what the server writes is kept in `written`."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data) -> None:
        self.written += data

    def write_eof(self) -> None:
        pass

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _protocol(base, loop):
    import uvicorn
    from uvicorn.server import ServerState

    config = uvicorn.Config(_app, lifespan="off", log_level="warning")
    return base(config=config, server_state=ServerState(), app_state={}, _loop=loop)


def test_uvicorn_protocol_state_for_pipelined_requests():
    """Two pipelined requests in one read: the first starts through `_start_asgi_task(cycle,
    app)`, the second waits in `pipeline` as (cycle, app); `cycle` and its fields are what
    GuardedProtocol reads; `connections` holds the open protocols."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    started = []

    class Recording(HttpToolsProtocol):
        def _start_asgi_task(self, cycle, app):
            started.append(cycle)
            super()._start_asgi_task(cycle, app)

    loop = asyncio.new_event_loop()
    try:
        protocol = _protocol(Recording, loop)
        assert protocol.cycle is None, "uvicorn: `cycle` is no longer None before a request"
        transport = _Transport()
        protocol.connection_made(transport)
        assert protocol in protocol.connections
        assert protocol.loop is loop and protocol.transport is transport
        assert isinstance(protocol.pipeline, collections.deque)
        request = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"
        protocol.data_received(request + request)
        assert len(started) == 1, "uvicorn no longer starts requests via _start_asgi_task"
        assert len(protocol.pipeline) == 1, "uvicorn no longer queues pipelined requests"
        queued, _ = protocol.pipeline[0]
        for name in ("more_body", "response_complete", "disconnected", "message_event"):
            assert hasattr(queued, name), f"uvicorn RequestResponseCycle.{name} is gone"
        assert isinstance(queued.message_event, asyncio.Event)
        loop.run_until_complete(asyncio.sleep(0.05))
        assert len(started) == 2, "a pipelined request no longer starts via _start_asgi_task"
        assert protocol.cycle.response_complete and not protocol.cycle.more_body
        assert transport.written.count(b"HTTP/1.1 200") == 2
        protocol.connection_lost(None)
        assert protocol not in protocol.connections
    finally:
        loop.close()


def test_guarded_protocol_on_the_installed_uvicorn():
    """serve/connections.py's subclass, built on the installed uvicorn, answers a request and
    turns a malformed one into the JSON 400 (its `send_400_response`)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from tweetsent.serve.connections import guarded_protocol

    loop = asyncio.new_event_loop()
    try:
        guarded = guarded_protocol(AutoHTTPProtocol, 5.0, 8)
        protocol = _protocol(guarded, loop)
        transport = _Transport()
        protocol.connection_made(transport)
        protocol.data_received(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        loop.run_until_complete(asyncio.sleep(0.05))
        assert transport.written.startswith(b"HTTP/1.1 200")
        protocol.data_received(b"NOT HTTP\r\n\r\n")
        assert b'"bad_request"' in transport.written
        protocol.connection_lost(None)
    finally:
        loop.close()


# -- torch --------------------------------------------------------------------------------------


def test_tensor_version_counts_in_place_writes():
    """models/ngram.py keys its per-vocabulary cache on (data_ptr, _version) of the weights."""
    table = nn.Embedding(4, 3)
    weight = table.weight
    assert isinstance(weight._version, int), "torch Tensor._version is no longer an int"
    before = weight._version
    _ = table(torch.tensor([1, 2])).sum()  # reading does not count
    assert weight._version == before
    with torch.no_grad():
        weight.add_(1.0)  # an optimizer step
    assert weight._version > before, "torch Tensor._version no longer moves on in-place writes"
    after_step = weight._version
    table.load_state_dict({"weight": torch.zeros(4, 3)})  # copy_ into the same storage
    assert weight._version > after_step, "load_state_dict no longer bumps Tensor._version"


def test_module_apply_is_what_to_and_double_call():
    """embed/elmo/embedder.py overrides `_apply(fn, recurse=True)` to move its unregistered
    biLM with the module."""
    assert _params(nn.Module._apply) == ["self", "fn", "recurse"], (
        "torch nn.Module._apply changed its signature"
    )
    calls = []

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(2, 2)

        def _apply(self, fn, recurse=True):
            calls.append(recurse)
            return super()._apply(fn, recurse)

    probe = Probe()
    probe.double()
    probe.to(torch.float32)
    probe.to("cpu")
    assert len(calls) == 3, "torch: .double() / .to() no longer go through Module._apply"
    assert probe.linear.weight.dtype == torch.float32


def test_elmo_embedder_moves_its_bilm():
    """The override at work: the biLM (not a submodule) follows `.double()` / `.float()`."""
    from tiny_elmo import TINY
    from tweetsent.embed.elmo import ElmoBiLm, ElmoEmbedder

    embedder = ElmoEmbedder(ElmoBiLm(TINY))
    assert "bilm" not in dict(embedder.named_children())
    embedder.double()
    assert next(embedder.bilm.parameters()).dtype == torch.float64
    embedder.float()
    assert next(embedder.bilm.parameters()).dtype == torch.float32


def test_torch_vf_rnn_kernels_exist():
    """models/rnn.py calls torch._VF.lstm / gru (parity: tests/models/test_rnn_encoder.py)."""
    for name in ("lstm", "gru"):
        assert callable(getattr(torch._VF, name, None)), f"torch._VF.{name} is gone"


# -- Dask ---------------------------------------------------------------------------------------


def test_dask_frame_meta_is_an_empty_pandas_frame():
    """runs/partitions.py builds map_partitions' `meta` from `frame._meta`."""
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")

    pandas_frame = pd.DataFrame({"text": ["a", "b", "c"], "n": np.arange(3)})
    frame = dd.from_pandas(pandas_frame, npartitions=2)
    meta = getattr(frame, "_meta", None)
    assert isinstance(meta, pd.DataFrame), "Dask DataFrame._meta is no longer a pandas frame"
    assert len(meta) == 0
    assert list(meta.columns) == ["text", "n"]
    assert meta["n"].dtype == pandas_frame["n"].dtype
