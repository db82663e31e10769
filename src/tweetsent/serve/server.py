"""Run the app under uvicorn: `tweetsent serve RUN` calls `serve(run_dir, settings)`."""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path

from tweetsent.errors import ConfigError
from tweetsent.runs.rundir import WEIGHTS, read_run
from tweetsent.serve.settings import ServeSettings


def serve(run_dir: str | Path, settings: ServeSettings, access_log: bool = False) -> None:
    """Check the run directory (a user error is one line, before anything listens), then serve
    until interrupted. The model loads in the background; /readyz says when it is ready."""
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from tweetsent.serve.app import create_app
    from tweetsent.serve.connections import guarded_protocol, raise_open_files_limit

    run = read_run(run_dir)
    if not (run.path / WEIGHTS).is_file():
        raise ConfigError(f"{run.path}: no {WEIGHTS} (training did not finish an epoch)")
    if not is_loopback(settings.host):
        print(
            f"warning: listening on {settings.host}: reachable from other machines",
            file=sys.stderr,
        )
    files = raise_open_files_limit(settings.max_connections + 256)
    if files < settings.max_connections + 64:
        print(
            f"warning: the open-files limit ({files}) is below --max-connections "
            f"{settings.max_connections}: raise it (ulimit -n) or lower --max-connections",
            file=sys.stderr,
        )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    # No limit_concurrency: uvicorn would count idle sockets (serve/connections.py).
    protocol = guarded_protocol(
        AutoHTTPProtocol,
        settings.request_timeout_s,
        settings.max_connections,
        settings.max_header_bytes,
    )
    uvicorn.run(
        create_app(run, settings),  # the run read above: config.json is read once
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        log_level="info",
        http=protocol,
        # uvicorn annotates an int but only hands it to loop.call_later (seconds, a float):
        # fractional keep-alives work (tests/test_private_apis.py checks it)
        timeout_keep_alive=settings.keep_alive_s,  # type: ignore[arg-type]  # float is fine
        timeout_graceful_shutdown=10,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
