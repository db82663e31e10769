"""Connection limits under uvicorn: idle and half-sent connections cannot lock the server out.

uvicorn's `limit_concurrency` counts open connections, idle ones included, and closes an idle
connection only after a response (`timeout_keep_alive`); a client that connects and sends
nothing, or sends its headers one byte at a time, holds a connection for ever. The server
therefore runs uvicorn without `limit_concurrency` and with `guarded_protocol(...)`, its HTTP
protocol plus three rules:

- a connection that has not sent a complete request (headers and body) within
  `request_timeout_s` of connecting, or of starting its next request, is closed;
- an idle keep-alive connection is closed after `keep_alive_s` (uvicorn's own timer);
- beyond `max_connections` open connections, a new one closes the connection that has waited
  longest for a request (never one with a request in progress), so a new client is always
  answered. Work in progress is bounded by `max_pending` (503 "busy"), not by sockets;
- request headers over `max_header_bytes` get a JSON 431 (`headers_too_large`): the parser
  never holds more than that plus one read;
- a response that closes the connection while the client is still sending (a 413 for a body
  over the limit, a 431) is followed by a lingering close: the response is sent and the
  writing side shut, then up to `LINGER_BYTES` more are read and discarded (for at most
  `LINGER_S`), so the client finishes sending and reads the answer instead of a broken pipe.

A request uvicorn cannot parse gets a JSON 400 (`bad_request`), like every other error.

Private uvicorn API. uvicorn has no public hook for any of these rules, so the subclass relies
on its HTTP protocol classes' internals (`uvicorn.protocols.http.httptools_impl.
HttpToolsProtocol`, and `h11_impl.H11Protocol` where httptools is missing):
- methods overridden and called through `super()`: `connection_made`, `data_received`,
  `connection_lost`, `on_response_complete`, `send_400_response(msg)`, the httptools parser
  callbacks `on_headers_complete` / `on_message_complete`, and the private
  `_start_asgi_task(cycle, app)` (httptools: the one place a pipelined request starts);
- attributes read: `cycle` (the current `RequestResponseCycle`, None before the first
  request), `pipeline` (httptools: deque of queued `(cycle, app)`), `connections` (the
  server's set of open protocols), `loop`, `transport`; on a cycle `more_body`,
  `response_complete`, `disconnected`, `message_event`;
- `uvicorn.run(timeout_keep_alive=)` annotated int, given a float: uvicorn only passes it
  to `loop.call_later`.
pyproject.toml pins uvicorn to the minor versions checked (`>=0.29,<0.56`) and
tests/test_private_apis.py fails, naming the missing piece, when an upgrade changes them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
from typing import Any

LINGER_BYTES = 16 << 20  # read and discarded after a response that closes mid-request
LINGER_S = 5.0


def guarded_protocol(
    base: type, request_timeout_s: float, max_connections: int, max_header_bytes: int = 65536
) -> type:
    """A subclass of uvicorn's HTTP protocol class `base` (httptools or h11), with the rules
    above. The header limit needs the httptools parser's callbacks; h11 has its own."""

    order = itertools.count()  # when each connection began to wait (loop.time() is coarse)
    count_heads = hasattr(base, "on_headers_complete")

    class GuardedProtocol(base):
        def connection_made(self, transport: asyncio.Transport) -> None:
            self._raw = transport
            self._lingering = False
            self._discard_left = LINGER_BYTES
            self._head_bytes = 0  # bytes of the request head being received
            self._in_body = False  # between a request's headers and its end
            self._head_done = False  # a request head completed during this read
            super().connection_made(_LingeringTransport(transport, self))
            self._deadline: asyncio.TimerHandle | None = None
            self._armed_cycle: Any = None
            self._waiting_since = next(order)
            self._arm()
            if len(self.connections) > max_connections:
                self._evict_one()

        def data_received(self, data: bytes) -> None:
            if self._lingering:  # the answer is sent: discard what the client still sends
                self._discard_left -= len(data)
                if self._discard_left <= 0:
                    self._raw.close()
                return
            # A new request starts: give it request_timeout_s to arrive in full.
            if self._waiting() and (self._deadline is None or self._armed_cycle is not self.cycle):
                self._arm()
            heading, self._head_done = not self._in_body, False
            super().data_received(data)
            if not count_heads or self._raw.is_closing() or self._lingering:
                return
            if heading and not self._head_done:  # all of `data` belongs to one request head
                self._head_bytes += len(data)
                if self._head_bytes > max_header_bytes:
                    self._raw.write(_error_response(431, "headers_too_large", _head_message))
                    self._linger()
            else:
                self._head_bytes = 0

        def on_headers_complete(self) -> None:
            self._in_body = self._head_done = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_body = False
            super().on_message_complete()

        def close_or_linger(self) -> None:
            """uvicorn closes the connection: linger if the request is still arriving."""
            cycle = self.cycle
            if cycle is not None and cycle.more_body and not self._raw.is_closing():
                self._linger()
            else:
                self._raw.close()

        def _linger(self) -> None:
            if self._lingering:
                return
            self._lingering = True
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            try:
                self._raw.write_eof()  # after the answer: the client reads it, then EOF
                self._raw.resume_reading()
            except (OSError, RuntimeError, NotImplementedError):
                self._raw.close()
                return
            self.loop.call_later(LINGER_S, self._raw.close)

        def connection_lost(self, exc: Exception | None) -> None:
            deadline = getattr(self, "_deadline", None)  # unset if connection_made failed
            if deadline is not None:
                deadline.cancel()
                self._deadline = None
            # uvicorn marks only the newest request as disconnected; with pipelined requests
            # the one still running would write to a closed socket (a traceback per request).
            # `pipeline` and the cycle's fields are uvicorn internals (see the module doc).
            for cycle in [
                getattr(self, "_running", None),
                *(c for c, _ in getattr(self, "pipeline", ())),
            ]:
                if cycle is not None and not cycle.response_complete:
                    cycle.disconnected = True
                    cycle.message_event.set()
            super().connection_lost(exc)

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            # private uvicorn method (httptools): where every request, pipelined or not, starts
            self._running = cycle
            super()._start_asgi_task(cycle, app)

        def on_response_complete(self) -> None:
            self._waiting_since = next(order)
            super().on_response_complete()

        def send_400_response(self, msg: str) -> None:
            # uvicorn's own answer to a request it cannot parse, as JSON like every error.
            self.transport.write(_BAD_REQUEST)
            self.transport.close()

        def _waiting(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._armed_cycle = self.cycle
            self._deadline = self.loop.call_later(request_timeout_s, self._expire)

        def _expire(self) -> None:
            self._deadline = None
            cycle = self.cycle
            no_headers = cycle is self._armed_cycle and self._waiting()
            no_body = cycle is not None and cycle.more_body and not cycle.response_complete
            if (no_headers or no_body) and not self._raw.is_closing():
                self._raw.close()

        def _evict_one(self) -> None:
            idle = [c for c in self.connections if c is not self and _idle(c)]
            if idle:
                oldest = min(idle, key=lambda c: c._waiting_since)
                oldest._raw.close()
            else:  # every connection is busy: refuse the new one
                self._raw.close()

    _head_message = f"the request headers are over the {max_header_bytes:,}-byte limit"
    GuardedProtocol.__name__ = f"Guarded{base.__name__}"
    return GuardedProtocol


class _LingeringTransport:
    """A connection's transport as uvicorn sees it: `close()` asks the protocol, which lingers
    while the request is still arriving; `is_closing()` is true from then on."""

    def __init__(self, transport: asyncio.Transport, protocol: Any) -> None:
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        self._protocol.close_or_linger()

    def is_closing(self) -> bool:
        return self._protocol._lingering or self._transport.is_closing()


def _error_response(status: int, code: str, message: str) -> bytes:
    """A JSON error answered by the protocol itself (the app never sees the request)."""
    reason = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}[status]
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n" % (status, reason)
    return head + b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)


_BAD_REQUEST = _error_response(400, "bad_request", "not a valid HTTP request")


def _idle(connection: Any) -> bool:
    waiting = getattr(connection, "_waiting", None)
    return waiting is not None and waiting() and not connection.transport.is_closing()


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's soft limit on open files towards `wanted` (at most the hard limit);
    return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
