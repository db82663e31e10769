"""A run whose weights hold NaN never becomes ready: /readyz says `failed`, the API answers 503
(not 500s or NaN probabilities), and the log says why in one line."""

from __future__ import annotations

import shutil
import time

from safetensors.torch import load_file, save_file


def test_nan_weights_never_become_ready(bilstm_run, tmp_path, start_server):
    run = tmp_path / "nan-run"
    shutil.copytree(bilstm_run, run)
    state = load_file(str(run / "model.safetensors"))
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name][0] = float("nan")
    save_file(state, str(run / "model.safetensors"))
    srv = start_server(run)
    deadline = time.monotonic() + 60
    reply = None
    while time.monotonic() < deadline:
        try:
            reply = srv.call("GET", "/readyz")
            if reply.json()["status"] != "loading":
                break
        except OSError:
            pass
        time.sleep(0.2)
    assert reply is not None and reply.status == 503 and reply.json()["status"] == "failed"
    assert srv.predict(["good day"]).status == 503
    log = srv.log_path.read_text()
    assert "NaN" in log and "model.safetensors" in log and "Traceback" not in log
