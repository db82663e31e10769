"""One study, two workers, a real PostgreSQL server (as two machines would share it).

Needs TWEETSENT_TEST_PG_URL (`.ci/setup-postgres.sh` starts a server on 127.0.0.1 and prints
it); skips with the reason when it is unset or the server cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from tweetsent.search import load_space, run_search
from tweetsent.search.storage import open_storage

PARAMS = 'model.cell = ["lstm", "gru"]\nmodel.hidden_size = [4, 8, 12]\n'  # 6 points


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("TWEETSENT_TEST_PG_URL", "")
    if not url:
        pytest.skip("TWEETSENT_TEST_PG_URL not set (bash .ci/setup-postgres.sh prints one)")
    psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 missing: pip install '.[postgres]'")
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server reachable at TWEETSENT_TEST_PG_URL: {exc}".strip())
    return url


@pytest.mark.slow
def test_two_workers_share_one_study_on_postgresql(pg_url, tweets, tmp_path, make_space):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    search = f'name = "{name}"\nstorage = "{pg_url}"\nworkers = 0'
    path = tmp_path / "space.toml"
    path.write_text(make_space(tweets, tmp_path / "out", search, PARAMS), encoding="utf-8")
    space = load_space(path)
    run_search(space, log=lambda _: None)  # workers = 0: create the study, queue the grid
    storage = open_storage(pg_url)
    try:
        cmd = [sys.executable, "-m", "tweetsent.cli", "search", str(path), "--join"]
        cmd += ["--workers", "1", "--no-progress"]
        workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)]
        workers.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for proc in workers:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err.decode()[-2000:]
        trials = optuna.load_study(study_name=name, storage=storage).get_trials()
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
        seen = Counter(tuple(sorted(t.params.items())) for t in trials)
        assert set(seen) == {tuple(sorted(p.items())) for p in space.grid()}
        assert set(seen.values()) == {1}
        assert len({t.user_attrs["worker"] for t in trials}) >= 1
    finally:
        optuna.delete_study(study_name=name, storage=storage)
