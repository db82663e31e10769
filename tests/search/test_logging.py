"""Progress display and optional MLflow logging."""

from __future__ import annotations

import pytest

from tweetsent.search import load_space, run_search
from tweetsent.search.progress import Display


def test_display_counts_trials_and_follows_each_worker(capsys):
    display = Display(workers=2, total=3, metric="avgrec", enabled=False)
    display.handle(0, "start", 0, 4, "grid")
    display.handle(1, "start", 1, 4, "grid")
    display.handle(0, "epoch", 0, 2, 0.61)
    assert display.lines[0].n == 2 and display.lines[0].total == 4
    display.handle(0, "end", 0, "COMPLETE", 0.61)
    display.handle(1, "end", 1, "PRUNED", None)
    display.handle(1, "queued", 1)
    display.handle(1, "note", "overfitting rule: trial 0 ...")
    assert display.finished == 2 and display.total == 4 and display.best == 0.61
    display.close()
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "trial 0 complete avgrec 0.6100 (worker 0)",
        "trial 1 pruned (worker 1)",
        "worker 1: overfitting rule: trial 0 ...",
    ]


@pytest.mark.slow
def test_mlflow_logs_every_trial_with_its_epochs(tweets, tmp_path, make_space):
    mlflow = pytest.importorskip("mlflow", reason="mlflow not installed (extra: tweetsent[mlflow])")
    search = 'name = "logged"\nmlflow = "default"'
    text = make_space(tweets, tmp_path / "out", search, 'model.cell = ["lstm", "gru"]')
    (tmp_path / "space.toml").write_text(text, encoding="utf-8")
    run_search(load_space(tmp_path / "space.toml"), log=lambda _: None)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'out' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["logged"], output_format="list")
    assert sorted(r.info.run_name for r in runs) == ["trial-0000", "trial-0001"]
    run = runs[0]
    assert run.data.params["model.cell"] in ("lstm", "gru")
    assert run.data.tags["origin"] == "grid"
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "valid_avgrec")
    assert [m.step for m in history] == [1, 2]
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    assert "learning_curves.png" in artifacts
    assert (tmp_path / "out" / "mlartifacts").is_dir()
