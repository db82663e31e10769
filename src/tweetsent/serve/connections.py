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
  answered. Work in progress is bounded by `max_pending` (503 "busy"), not by sockets.

A request uvicorn cannot parse gets a JSON 400 (`bad_request`), like every other error.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
from typing import Any


def guarded_protocol(base: type, request_timeout_s: float, max_connections: int) -> type:
    """A subclass of uvicorn's HTTP protocol class `base` (httptools or h11), with the rules
    above."""

    order = itertools.count()  # when each connection began to wait (loop.time() is coarse)

    class GuardedProtocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._deadline: asyncio.TimerHandle | None = None
            self._armed_cycle: Any = None
            self._waiting_since = next(order)
            self._arm()
            if len(self.connections) > max_connections:
                self._evict_one()

        def data_received(self, data: bytes) -> None:
            # A new request starts: give it request_timeout_s to arrive in full.
            if self._waiting() and (self._deadline is None or self._armed_cycle is not self.cycle):
                self._arm()
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if getattr(self, "_deadline", None) is not None:
                self._deadline.cancel()
                self._deadline = None
            # uvicorn marks only the newest request as disconnected; with pipelined requests
            # the one still running would write to a closed socket (a traceback per request).
            for cycle in [
                getattr(self, "_running", None),
                *(c for c, _ in getattr(self, "pipeline", ())),
            ]:
                if cycle is not None and not cycle.response_complete:
                    cycle.disconnected = True
                    cycle.message_event.set()
            super().connection_lost(exc)

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:  # httptools: pipelining
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
            if (no_headers or no_body) and not self.transport.is_closing():
                self.transport.close()

        def _evict_one(self) -> None:
            idle = [c for c in self.connections if c is not self and _idle(c)]
            if idle:
                oldest = min(idle, key=lambda c: c._waiting_since)
                oldest.transport.close()
            else:  # every connection is busy: refuse the new one
                self.transport.close()

    GuardedProtocol.__name__ = f"Guarded{base.__name__}"
    return GuardedProtocol


_BODY = json.dumps(
    {"error": {"code": "bad_request", "message": "not a valid HTTP request"}}
).encode()
_BAD_REQUEST = (
    b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_BODY), _BODY)
)


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
