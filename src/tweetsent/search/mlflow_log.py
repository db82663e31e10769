"""Optional MLflow logging of every trial: parameters, per-epoch metrics, figures.

Off unless `search.mlflow` (`--mlflow URI`) is set; "default" means a local store: the SQLite
file `<out>/mlflow.db` with artifacts in `<out>/mlartifacts` (MLflow 3 retired its plain-file
store). Needs the `mlflow` extra (`pip install 'tweetsent[mlflow]'`). A logging error is
reported and the search goes on.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from optuna.trial import FrozenTrial

from tweetsent.errors import ConfigError
from tweetsent.search.settings import SearchSettings


def check_mlflow() -> None:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ConfigError(
            "--mlflow: the mlflow package is not installed (pip install 'tweetsent[mlflow]')"
        ) from None


def tracking_uri(settings: SearchSettings) -> str:
    if settings.mlflow == "default":
        return f"sqlite:///{(settings.out_dir / 'mlflow.db').resolve()}"
    return settings.mlflow


def _experiment(mlflow, settings: SearchSettings) -> None:
    if mlflow.get_experiment_by_name(settings.name) is None and settings.mlflow == "default":
        artifacts = (settings.out_dir / "mlartifacts").resolve().as_uri()
        with contextlib.suppress(mlflow.exceptions.MlflowException):  # another worker was first
            mlflow.create_experiment(settings.name, artifact_location=artifacts)
    mlflow.set_experiment(settings.name)


def log_trial(settings: SearchSettings, trial: FrozenTrial) -> None:
    """One MLflow run per trial, in the experiment named after the study."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(settings))
    _experiment(mlflow, settings)
    attrs = trial.user_attrs
    with mlflow.start_run(run_name=f"trial-{trial.number:04d}"):
        mlflow.set_tags(
            {
                "state": trial.state.name.lower(),
                "origin": attrs.get("origin", ""),
                "parent": str(attrs.get("parent", "")),
                "run_dir": attrs.get("run_dir", ""),
            }
        )
        mlflow.log_params({k: str(v) for k, v in attrs.get("fields", {}).items()})
        for row in attrs.get("history", []):
            step = int(row["epoch"])
            metrics = {k: float(v) for k, v in row.items() if k != "epoch"}
            mlflow.log_metrics(metrics, step=step)
        if trial.value is not None:
            mlflow.log_metric(f"best_valid_{settings.metric}", float(trial.value))
        run_dir = Path(attrs.get("run_dir", ""))
        for name in ("learning_curves.png", "metrics.json", "config.json"):
            if (run_dir / name).is_file():
                mlflow.log_artifact(str(run_dir / name))
