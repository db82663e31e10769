"""Scoring DataFrame partitions with one `Predictor` per process: the Dask recipe.

    from dask.distributed import Client, LocalCluster
    import dask.dataframe as dd
    from tweetsent.runs.partitions import predict_dataframe

    client = Client(LocalCluster(n_workers=4, threads_per_worker=1))   # or a real cluster
    tweets = dd.read_parquet("tweets/")                 # any columns, one of them the text
    predict_dataframe(tweets, "runs/default", text_col="text").to_parquet("labelled/")

`predict_partition` turns one pandas DataFrame into the same frame plus `label`,
`prob_<label>` (float64, rounded to 6 decimals as in every tweetsent output) and `empty`
columns (an input column of one of these names is replaced); a null or blank text gets the
model's prior with `empty` True, so no row is dropped. It takes its `Predictor` from a
per-process cache (`cached_predictor`): a worker process loads the run once, on its first
partition, and reuses it for every later one (`LOADS` counts the loads of this process). The
run directory must be readable at the same path on every worker. `predict_dataframe` maps it
over a Dask DataFrame with the output's `meta` given, so Dask never calls it to guess.

Needs `pip install tweetsent[dask]` (dask[dataframe,distributed]); pandas is imported only here.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.runs.predict import Predictor
from tweetsent.runs.rundir import read_run

_CACHE: dict[tuple[str, str], Predictor] = {}
_LOCK = threading.Lock()  # a worker with several threads loads the run once, too
LOADS = 0  # runs loaded by this process


def cached_predictor(run: str | Path, device: str = "cpu", threads: int | None = 1) -> Predictor:
    """This process's `Predictor` of `run` (loaded on first use, in-process scoring; `threads`:
    torch threads set at the load, None leaves torch's setting)."""
    global LOADS
    key = (str(Path(run).resolve()), device)
    with _LOCK:
        predictor = _CACHE.get(key)
        if predictor is None:
            if threads:
                import torch

                torch.set_num_threads(threads)
            predictor = _CACHE[key] = Predictor.from_run(run, device=device, workers=1)
            LOADS += 1
    return predictor


def predict_partition(
    frame: Any, run: str | Path, text_col: str = "text", device: str = "cpu", threads: int = 1
) -> Any:
    """`frame` (a pandas DataFrame) with the predictions of its `text_col` beside its columns."""
    predictor = cached_predictor(run, device, threads)
    texts = frame[text_col].fillna("").astype(str).tolist()
    scores = predictor.predict_arrays(texts)
    return _with_predictions(frame, predictor.labels, scores.probs, scores.empty)


def predict_dataframe(
    frame: Any, run: str | Path, text_col: str = "text", device: str = "cpu", threads: int = 1
) -> Any:
    """A Dask DataFrame of `frame`'s rows with their predictions (lazy; one task a partition)."""
    if text_col not in frame.columns:
        raise KeyError(f"no column {text_col!r}; columns: {list(frame.columns)}")
    labels = read_run(run).labels  # config and labels only: the weights load on the workers
    empty = np.zeros((0, len(labels)), dtype=np.float32)
    # `_meta` is Dask's private empty pandas frame of the collection's columns and dtypes
    # (what map_partitions infers from); there is no public accessor of it. dask is pinned to
    # checked versions in pyproject.toml and tests/test_private_apis.py checks it is an empty
    # pandas DataFrame with the frame's columns.
    meta = _with_predictions(frame._meta, labels, empty, np.zeros(0, dtype=bool))
    return frame.map_partitions(
        predict_partition,
        run=str(run),
        text_col=text_col,
        device=device,
        threads=threads,
        meta=meta,
    )


def _with_predictions(frame: Any, labels: list[str], probs: np.ndarray, empty: np.ndarray) -> Any:
    import pandas as pd

    prob_cols = [f"prob_{label}" for label in labels]
    out = frame.drop(columns=[c for c in ("label", *prob_cols, "empty") if c in frame.columns])
    names = np.asarray(labels, dtype=object)
    rounded = np.rint(probs.astype(np.float64) * 1e6) / 1e6  # as `predict.round6`
    label = names[probs.argmax(axis=1)]  # a string dtype, so that to_parquet knows the type
    columns = {"label": pd.Series(label, index=frame.index, dtype=pd.StringDtype())}
    for j, col in enumerate(prob_cols):
        columns[col] = pd.Series(rounded[:, j], index=frame.index, dtype=np.float64)
    columns["empty"] = pd.Series(empty, index=frame.index, dtype=bool)
    return out.assign(**columns)
