"""Serving fixtures: tiny runs trained once per session, and real `tweetsent serve` processes.

The servers are separate processes (uvicorn on a free loopback port), reached over HTTP with
the standard library only, so the tests see what a client sees.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthetic import synthetic_tweets, tiny_config, write_tsv
from tweetsent.config import ModelConfig
from tweetsent.errors import ConfigError

# Small limits so that every limit is cheap to hit.
LIMITS = {"max_texts": 8, "max_chars": 300, "max_body_bytes": 8192}


def attention_pooling_available() -> bool:
    try:
        ModelConfig(pooling="attention")
    except ConfigError:
        return False
    return True


def train_tiny(folder: Path, **overrides: Any) -> Path:
    """Train a tiny model on synthetic tweets in a few seconds; return its run directory."""
    from tweetsent.train import train

    folder.mkdir(parents=True, exist_ok=True)
    data = write_tsv(folder / "train.tsv", synthetic_tweets(240, seed=1))
    train(tiny_config(data, folder / "run", **overrides), log=lambda *args: None)
    return folder / "run"


@pytest.fixture(scope="session")
def bilstm_run(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("serve-bilstm"))


@pytest.fixture(scope="session")
def attention_run(tmp_path_factory) -> Path:
    if not attention_pooling_available():
        pytest.skip("self-attention pooling is not in ModelConfig yet (model.pooling='attention')")
    return train_tiny(tmp_path_factory.mktemp("serve-attention"), **{"model.pooling": "attention"})


@pytest.fixture(scope="session")
def elmo_run(tmp_path_factory) -> Path:
    """A classifier over a tiny random ELMo biLM (generated here, in the official layout)."""
    from dataclasses import replace

    from tiny_elmo import TINY, write_model

    folder = tmp_path_factory.mktemp("serve-elmo")
    write_model(folder, replace(TINY, n_highway=1))
    elmo = {
        "embed.kind": "elmo",
        "embed.elmo_options": str(folder / "options.json"),
        "embed.elmo_weights": str(folder / "weights.hdf5"),
        "embed.elmo_dropout": 0.0,
        "embed.elmo_concat": "random",
        "embed.dim": 8,
        "train.epochs": 2,
    }
    return train_tiny(folder, **elmo)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Server:
    """A `tweetsent serve` process on 127.0.0.1:port; `call` sends one HTTP request."""

    def __init__(self, run_dir: Path, log_path: Path, *flags: str) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        command = [sys.executable, "-m", "tweetsent.cli", "serve", str(run_dir)]
        command += ["--port", str(self.port), *flags]
        self.log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.call("GET", "/readyz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout} s: {self.log_path.read_text()[-2000:]}")

    def call(
        self,
        method: str,
        path: str,
        body: bytes | str | dict | list | None = None,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> Reply:
        headers = dict(headers or {})
        if isinstance(body, dict | list):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            if chunked:
                conn.request(method, path, body=iter([body]), headers=headers, encode_chunked=True)
            else:
                conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def predict(self, texts: list, attention: bool = False) -> Reply:
        return self.call("POST", "/v1/predict", {"texts": texts, "attention": attention})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.log.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def limit_flags() -> list[str]:
    return [f"--{name.replace('_', '-')}={value}" for name, value in LIMITS.items()]


@pytest.fixture(scope="session")
def server(bilstm_run, tmp_path_factory):
    """A BiLSTM server with small limits."""
    srv = Server(bilstm_run, tmp_path_factory.mktemp("serve-log") / "server.log", *limit_flags())
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def start_server(tmp_path):
    """Start a server on any run directory with any flags (not waited for); all stopped after."""
    started: list[Server] = []

    def start(run_dir: Path, *flags: str) -> Server:
        started.append(Server(run_dir, tmp_path / f"server-{len(started)}.log", *flags))
        return started[-1]

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture(scope="module")
def timeout_server(bilstm_run, tmp_path_factory):
    """A BiLSTM server with short connection timeouts (2 s to send a request, 1 s keep-alive)."""
    log = tmp_path_factory.mktemp("serve-log") / "timeouts.log"
    srv = Server(bilstm_run, log, "--request-timeout=2", "--keep-alive=1")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def attention_server(attention_run, tmp_path_factory):
    srv = Server(attention_run, tmp_path_factory.mktemp("serve-log") / "attention.log")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def ensemble_run(bilstm_run, attention_run, tmp_path_factory) -> Path:
    """The two runs above as one ensemble run (uniform weights; one member has attention)."""
    from tweetsent.runs.ensemble import build_ensemble

    out = tmp_path_factory.mktemp("serve-ensemble") / "both"
    build_ensemble([bilstm_run, attention_run], out, weights="uniform", log=lambda *a: None)
    return out


@pytest.fixture(scope="session")
def ensemble_server(ensemble_run, tmp_path_factory):
    srv = Server(ensemble_run, tmp_path_factory.mktemp("serve-log") / "ensemble.log")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()
