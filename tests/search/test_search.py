"""Studies end to end on tiny data: grid coverage with concurrent workers, seeds, resume after
a killed worker, two-stage TPE, pruning, report files."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tweetsent.cli import main
from tweetsent.config import RunConfig
from tweetsent.search import load_space, run_search, trial_seed
from tweetsent.search.storage import open_storage

GRID = """
model.cell = ["lstm", "gru"]
model.num_layers = { low = 1, high = 2 }
model.layer_dropout = { choices = [0.0, 0.2], when = { "model.num_layers" = 2 } }
"""  # 2 x (1 + 2) = 6 points


def _study(space) -> optuna.Study:
    s = space.settings
    return optuna.load_study(study_name=s.name, storage=open_storage(s.storage_url))


def _by_slot(study: optuna.Study) -> dict[int, optuna.trial.FrozenTrial]:
    return {t.user_attrs["slot"]: t for t in study.get_trials() if t.state == TrialState.COMPLETE}


@pytest.fixture(scope="module")
def grid_runs(tweets, tmp_path_factory, space_toml_for):
    """The same 6-point grid run by 2 worker processes and, via the CLI, by 1 worker."""
    root = tmp_path_factory.mktemp("grid")
    runs = {}
    for workers in (2, 1):
        out = root / f"w{workers}"
        path = root / f"space{workers}.toml"
        path.write_text(space_toml_for(tweets, out, GRID), encoding="utf-8")
        if workers == 2:
            space = load_space(path).with_settings({"workers": 2})
            run_search(space, log=lambda _: None)
        else:
            assert main(["search", str(path), "--workers", "1", "--no-progress"]) == 0
            space = load_space(path)
        runs[workers] = space
    return runs


@pytest.fixture(scope="module")
def space_toml_for(make_space):
    def make(tweets: Path, out: Path, params: str, search: str = 'name = "grid"') -> str:
        return make_space(tweets, out, search=search, params=params)

    return make


@pytest.mark.slow
def test_grid_runs_every_combination_exactly_once_with_two_worker_processes(grid_runs):
    space = grid_runs[2]
    study = _study(space)
    trials = study.get_trials()
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len(trials) == len(space.grid()) == 6
    seen = Counter(tuple(sorted(t.params.items())) for t in trials)
    assert set(seen) == {tuple(sorted(p.items())) for p in space.grid()}
    assert set(seen.values()) == {1}
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both processes worked
    # every trial kept its run directory
    for t in trials:
        assert (Path(t.user_attrs["run_dir"]) / "model.safetensors").is_file()


@pytest.mark.slow
def test_seeds_and_results_do_not_depend_on_the_number_of_workers(grid_runs):
    one, two = _by_slot(_study(grid_runs[1])), _by_slot(_study(grid_runs[2]))
    assert sorted(one) == sorted(two) == list(range(6))
    for slot in range(6):
        assert one[slot].params == two[slot].params
        seed = one[slot].user_attrs["fields"]["train.seed"]
        assert seed == two[slot].user_attrs["fields"]["train.seed"] == trial_seed(1, slot)
        assert one[slot].value == pytest.approx(two[slot].value, abs=1e-9)
    assert len({one[s].user_attrs["fields"]["train.seed"] for s in one}) == 6


@pytest.mark.slow
def test_report_files_and_best_config_round_trip(grid_runs):
    space = grid_runs[1]
    out = space.settings.study_dir
    for name in ("leaderboard.csv", "leaderboard.md", "importances.json", "best_config.toml"):
        assert (out / name).is_file(), name
    assert (out / "parallel_coordinates.png").read_bytes()[:4] == b"\x89PNG"
    with open(out / "leaderboard.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and rows[0]["rank"] == "1"
    values = [float(r["value"]) for r in rows]
    assert values == sorted(values, reverse=True)
    best = _study(space).best_trial
    config = RunConfig.from_toml(out / "best_config.toml")
    expected = space.config(best.user_attrs["fields"])
    assert (
        config.model == expected.model
        and config.train.seed == best.user_attrs["fields"]["train.seed"]
    )
    assert config.data.train == expected.data.train


@pytest.mark.slow
def test_existing_study_needs_resume_or_join(grid_runs, capsys):
    space = grid_runs[1]
    from tweetsent.errors import ConfigError

    with pytest.raises(ConfigError, match="already exists.*--resume"):
        run_search(space, log=lambda _: None)
    # resuming a finished grid reruns nothing
    lines = []
    run_search(space, resume=True, log=lines.append)
    assert "0 planned trial(s)" in lines[0]
    assert len(_study(space).get_trials()) == 6


KILLER = """
import os, signal, sys
import tweetsent.search.trial as trial_mod
from tweetsent.search import load_space, run_search

real_train = trial_mod.train

def train(config, log=print, on_epoch=None, **kw):
    def maybe_die(row):
        if config.out.endswith("0002") and row["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-trial
        if on_epoch:
            on_epoch(row)
    return real_train(config, log=log, on_epoch=maybe_die, **kw)

trial_mod.train = train
run_search(load_space(sys.argv[1]), log=lambda _: None)
"""


@pytest.mark.slow
def test_resume_after_a_killed_worker_reruns_only_missing_and_failed(
    tweets, tmp_path, space_toml_for
):
    path = tmp_path / "space.toml"
    params = 'model.cell = ["lstm", "gru"]\nmodel.hidden_size = [4, 8, 16]\n'  # 6 points
    path.write_text(space_toml_for(tweets, tmp_path / "out", params), encoding="utf-8")
    script = tmp_path / "killer.py"
    script.write_text(textwrap.dedent(KILLER), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True)
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    space = load_space(path)
    before = {t.number: t.state for t in _study(space).get_trials()}
    assert before == {
        0: TrialState.COMPLETE,
        1: TrialState.COMPLETE,
        2: TrialState.RUNNING,
        3: TrialState.WAITING,
        4: TrialState.WAITING,
        5: TrialState.WAITING,
    }

    lines = []
    run_search(space, resume=True, log=lines.append)
    assert "1 trial(s) of dead workers marked failed, 1 planned trial(s)" in lines[0]
    trials = _study(space).get_trials()
    states = {t.number: t.state for t in trials}
    assert states[2] == TrialState.FAIL and "died" in trials[2].user_attrs["error"]
    assert all(states[n] == TrialState.COMPLETE for n in (0, 1, 3, 4, 5, 6))
    assert len(trials) == 7  # only the failed point ran again, as trial 6
    assert trials[6].user_attrs["slot"] == 2 and trials[6].params == trials[2].params
    # the finished trials were not touched: one run directory each, 0000..0006
    assert sorted(p.name for p in (tmp_path / "out" / "grid" / "trials").iterdir()) == [
        f"{n:04d}" for n in range(7)
    ]


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not reaped, does not count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _kill_after_a_trial(search: subprocess.Popen, trials_dir: Path) -> None:
    """Wait until a trial has finished training (its run directory has metrics.json), then
    kill the search. Watching files, not the database: opening the storage while the search
    creates its tables races Optuna's schema setup."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(trials_dir.glob("*/metrics.json")):
        time.sleep(0.2)
    search.kill()


@pytest.mark.slow
def test_workers_stop_claiming_when_the_search_process_dies(tweets, tmp_path, space_toml_for):
    """Kill `tweetsent search` (not its workers): each worker finishes the trial it holds and
    claims no more, so no orphan goes on running the study (`--resume` continues it later)."""
    path = tmp_path / "space.toml"
    params = '"train.seed" = [' + ", ".join(str(n) for n in range(1, 41)) + "]\n"  # 40 trials
    path.write_text(space_toml_for(tweets, tmp_path / "out", params), encoding="utf-8")
    space = load_space(path)
    command = [sys.executable, "-m", "tweetsent.cli", "search", str(path), "--workers", "2"]
    search = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _kill_after_a_trial(search, tmp_path / "out" / "grid" / "trials")
    finally:  # never leave the search running, whatever failed
        search.kill()
        search.wait()
    logs = tmp_path / "out" / "grid" / "logs"

    def stopped() -> int:  # workers that noticed (a worker may not have claimed any trial)
        return sum("the search process is gone" in p.read_text() for p in logs.iterdir())

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        trials = _study(space).get_trials()
        workers = {
            int(t.user_attrs["worker"].rsplit(":", 1)[1])
            for t in trials
            if "worker" in t.user_attrs
        }
        if workers and not any(map(_alive, workers)) and stopped() == 2:
            break
        time.sleep(0.2)
    trials = _study(space).get_trials()
    assert workers and not any(map(_alive, workers)), "workers still running"
    states = Counter(t.state for t in trials)
    assert states[TrialState.RUNNING] == 0  # the held trials were finished and told
    assert states[TrialState.WAITING] >= 30  # what nobody claimed stays queued for --resume
    assert stopped() == 2  # each of the 2 workers stopped on its own check


@pytest.mark.slow
def test_two_stage_tpe_searches_around_the_top_k(grid_runs, tweets, tmp_path, space_toml_for):
    coarse = grid_runs[1]
    search = (
        f'name = "fine"\nsampler = "tpe"\ntrials = 4\nstartup = 2\n'
        f'from_study = "grid"\nfrom_storage = "{coarse.settings.storage_url}"\ntop_k = 2'
    )
    text = space_toml_for(
        tweets, tmp_path / "fine", "train.lr = { low = 0.005, high = 0.05, log = true }", search
    )
    path = tmp_path / "fine.toml"
    path.write_text(text, encoding="utf-8")
    run_search(load_space(path), log=lambda _: None)
    study = _study(load_space(path))
    trials = study.get_trials()
    assert [t.user_attrs["origin"] for t in trials] == ["random", "random", "tpe", "tpe"]
    coarse_study = _study(coarse)
    top = sorted(coarse_study.get_trials(), key=lambda t: -t.value)[:2]
    labels = {f"t{t.number}": t for t in top}
    for trial in trials:
        parent = labels[trial.params["stage1"]]
        for key, value in parent.params.items():
            assert trial.user_attrs["fields"][key] == value
        assert 0.005 <= trial.params["train.lr"] <= 0.05


def test_hopeless_trial_is_pruned_and_keeps_its_run_directory(tweets, tmp_path, make_space):
    search = 'name = "prune"\npruner = "median"\nprune_startup = 1\nprune_warmup = 0'
    text = make_space(
        tweets, tmp_path / "out", search, "train.lr = [0.05, 0.0000001]",
        fixed="train.lr = DROP\ntrain.epochs = 4",
    )  # fmt: skip
    path = tmp_path / "space.toml"
    path.write_text(text, encoding="utf-8")
    run_search(load_space(path), log=lambda _: None)
    good, bad = _study(load_space(path)).get_trials()
    assert good.state == TrialState.COMPLETE and len(good.user_attrs["history"]) == 4
    assert bad.state == TrialState.PRUNED and len(bad.user_attrs["history"]) < 4
    assert (Path(bad.user_attrs["run_dir"]) / "config.json").is_file()


def test_leaderboard_tells_an_empty_choice_from_an_unused_field():
    from tweetsent.search.report import table

    rows = [
        {
            "rank": 1,
            "trial": 0,
            "state": "complete",
            "origin": "grid",
            "value": 0.5,
            "gap": 0.1,
            "best_epoch": 1,
            "embed.lexicon": "",
            "model.layer_dropout": None,
        },
        {
            "rank": 2,
            "trial": 1,
            "state": "complete",
            "origin": "grid",
            "value": 0.4,
            "gap": 0.1,
            "best_epoch": 1,
            "embed.lexicon": "vader",
            "model.layer_dropout": 0.2,
        },
    ]
    text = table(rows, ["embed.lexicon", "model.layer_dropout"], md=True)
    first, second = text.splitlines()[2:4]
    assert '| "" | - |' in first and "| vader | 0.2000 |" in second


def test_importances_avoid_fanova_for_a_categorical_of_many_choices():
    """fANOVA enumerates 2^choices one-hot cells: 40 seeds in a grid would hang the report."""
    from tweetsent.search.report import FANOVA_MAX_CHOICES, importance_evaluator, importances

    def study_with(choices: int) -> optuna.Study:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="maximize")
        space = {
            "train.seed": optuna.distributions.CategoricalDistribution(list(range(choices))),
            "train.lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
        }
        for n in range(choices):
            trial = study.ask(space)
            study.tell(trial, trial.params["train.lr"] * 10 + 0.01 * (n % 3))
        return study

    pytest.importorskip("sklearn")
    few, many = study_with(FANOVA_MAX_CHOICES), study_with(40)
    assert isinstance(importance_evaluator(few), optuna.importance.FanovaImportanceEvaluator)
    assert isinstance(importance_evaluator(many), optuna.importance.PedAnovaImportanceEvaluator)
    assert set(importances(many)) == {"train.seed", "train.lr"}
