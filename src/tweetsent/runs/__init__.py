"""Everything that uses a trained run, none of which trains.

    predictor = Predictor.from_run("runs/default")
    predictor.predict(["I love this :)", "worst day ever"])

Modules: `rundir` (the run directory's files; `read_run` reads them, `load_model` rebuilds the
model, never unpickles), `backends` (`open_scorer`: reads a run once, picks its backend once),
`inference` (the `Scorer` interface; memoised text -> ids, slices, forked scoring workers), the
backends `torch_scorer` (`TorchScorer`; `run_model`, the scoring loop, also used by training
for validation), `onnxrt` (the RNN models on ONNX Runtime, no torch) and `helper` (either in a
helper process that loads while the caller cleans), `predict` (`Predictor`, the facade),
`batch` (`predict_file`, `predict_shards`: files of any size, in chunks; `writers`: JSONL,
CSV/TSV, Parquet outputs), `partitions` (DataFrame partitions, the Dask recipe), `evaluate`,
`explain` (attention heatmap / HTML), `export` (TorchScript / ONNX), `card` (the one-line model
summary of every card). Training may import this package (to save runs and score); nothing
below it does.

The names below are imported when first used, so that importing one module of the package
(`tweetsent predict` imports `runs.backends`, which forks its `helper` before importing the
rest) does not import them all first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tweetsent.runs.batch import predict_file, predict_shards
    from tweetsent.runs.predict import BatchPrediction, Prediction, Predictor
    from tweetsent.runs.rundir import LoadedRun, load_run, read_run

__all__ = [
    "BatchPrediction",
    "LoadedRun",
    "Prediction",
    "Predictor",
    "load_run",
    "predict_file",
    "predict_shards",
    "read_run",
]


def __getattr__(name: str) -> Any:
    if name in ("predict_file", "predict_shards"):
        from tweetsent.runs import batch

        return getattr(batch, name)
    if name in ("BatchPrediction", "Prediction", "Predictor"):
        from tweetsent.runs import predict

        return getattr(predict, name)
    if name in ("LoadedRun", "load_run", "read_run"):
        from tweetsent.runs import rundir

        return getattr(rundir, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
