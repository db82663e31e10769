"""Server settings: where to listen, how to batch, and the limits on what a client may send."""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.errors import ConfigError

PRECISIONS = ("mixed", "float64", "float32")


@dataclass(frozen=True)
class ServeSettings:
    """Every limit is configurable (`tweetsent serve --max-texts ...`) and has a JSON error.

    `precision` decides how a text gets the same answer in any batch (serve/precision.py):
    `mixed` (default) float32 encoder + float64 pooling and head, `float64`, or `float32`.
    """

    host: str = "127.0.0.1"  # loopback by default; binding elsewhere is an explicit choice
    port: int = 8000
    max_texts: int = 64  # texts per request
    max_chars: int = 1000  # characters per text (a tweet has at most 280)
    max_body_bytes: int = 1 << 20  # request body
    max_header_bytes: int = 64 << 10  # request line and headers (beyond: 431)
    max_batch: int = 64  # texts per model call (a larger request runs alone)
    max_wait_ms: float = 5.0  # how long the first request of a batch waits for company
    max_pending: int = 1024  # queued requests; beyond this, 503 "busy"
    max_connections: int = 4096  # open sockets; beyond, the longest-idle one is closed
    request_timeout_s: float = 10.0  # to send a complete request (headers and body)
    keep_alive_s: float = 5.0  # an idle keep-alive connection is closed after this
    precision: str = "mixed"
    threads: int = 1  # torch threads of the model worker (0: every core)
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name, lo in (
            ("port", 0),
            ("max_texts", 1),
            ("max_chars", 1),
            ("max_body_bytes", 64),
            ("max_header_bytes", 1024),
            ("max_batch", 1),
            ("max_pending", 1),
            ("max_connections", 1),
            ("threads", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise ConfigError(f"serve.{name}: {value!r} must be an integer >= {lo}")
        if self.port > 65535:
            raise ConfigError(f"serve.port: {self.port} must be <= 65535")
        if not 0 <= self.max_wait_ms <= 1000:
            raise ConfigError(f"serve.max_wait_ms: {self.max_wait_ms!r} must be in [0, 1000]")
        for name in ("request_timeout_s", "keep_alive_s"):
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not 0 < value <= 3600:
                raise ConfigError(f"serve.{name}: {value!r} must be in (0, 3600] seconds")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"serve.precision: {self.precision!r} is not one of {', '.join(PRECISIONS)}"
            )
