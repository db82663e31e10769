"""Server settings, the `serve` command's user errors, and readiness before the model loads."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from tweetsent.cli import main
from tweetsent.errors import ConfigError
from tweetsent.serve.server import is_loopback
from tweetsent.serve.settings import ServeSettings


@pytest.mark.parametrize(
    "field,value",
    [
        ("max_texts", 0),
        ("max_chars", -1),
        ("max_body_bytes", 10),
        ("max_batch", 0),
        ("max_wait_ms", 5000),
        ("port", 70000),
        ("precision", "float16"),
        ("max_texts", True),
        ("max_connections", 0),
        ("request_timeout_s", 0),
        ("keep_alive_s", "5"),
    ],
)
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(ConfigError, match=f"serve.{field}"):
        ServeSettings(**{field: value})


def test_defaults_listen_on_loopback_only():
    settings = ServeSettings()
    assert settings.host == "127.0.0.1" and is_loopback(settings.host)
    assert is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_serve_command_user_errors_are_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["serve", str(tmp_path), "--max-texts", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: serve.max_texts") and err.count("\n") == 1


def _call(app, method: str, path: str, body: bytes = b"") -> tuple[int, dict]:
    """One request straight into the ASGI app (no lifespan: the model is never loaded)."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(payload)


def test_not_ready_until_the_model_is_loaded(bilstm_run):
    from tweetsent.serve import create_app

    app = create_app(bilstm_run)
    assert _call(app, "GET", "/healthz") == (200, {"status": "ok"})
    assert _call(app, "GET", "/readyz") == (503, {"status": "loading"})
    status, body = _call(app, "POST", "/v1/predict", b'{"texts": ["hi"]}')
    assert status == 503 and body["error"]["code"] == "not_ready"
    status, body = _call(app, "GET", "/v1/model")
    assert status == 503 and body["error"]["code"] == "not_ready"


def test_settings_are_frozen():
    settings = ServeSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_texts = 8  # type: ignore[misc]
    assert dataclasses.replace(settings, max_texts=8).max_texts == 8
    with pytest.raises(ConfigError, match="serve.max_texts"):
        dataclasses.replace(settings, max_texts=0)
