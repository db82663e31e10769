"""`tweetsent serve` reads the run directory's config.json once: the check before listening
and the model's load share one `read_run` (runs.backends.open_scorer takes the run read)."""

from __future__ import annotations

import asyncio
import time

import uvicorn

from tweetsent.serve.server import serve
from tweetsent.serve.settings import ServeSettings


async def _status(app, path: str) -> int:
    """GET `path` from the ASGI app directly (no socket): the response's status."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


async def _until_ready(app) -> int:
    async with app.router.lifespan_context(app):  # starts the batcher and the model's load
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = await _status(app, "/readyz")
            if status == 200:
                return await _status(app, "/v1/model")
            await asyncio.sleep(0.05)
    raise AssertionError("the model did not load within 60 s")


def test_serve_reads_config_json_once(bilstm_run, monkeypatch, config_reads):
    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: apps.append(app))
    serve(bilstm_run, ServeSettings(port=0))  # checks the run, then hands uvicorn the app
    assert len(apps) == 1 and config_reads == [str(bilstm_run / "config.json")]
    assert asyncio.run(_until_ready(apps[0])) == 200  # loaded and answering: no second read
    assert config_reads == [str(bilstm_run / "config.json")]
