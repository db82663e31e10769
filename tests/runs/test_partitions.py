"""The Dask recipe: a Parquet dataset scored on a LocalCluster of 2 worker processes equals the
single-process `predict_file`, and each worker loads the run once, not once per partition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthetic import synthetic_tweets
from tweetsent.runs import partitions
from tweetsent.runs.batch import predict_file
from tweetsent.runs.predict import Predictor

dd = pytest.importorskip("dask.dataframe", reason="the Dask recipe needs tweetsent[dask]")
distributed = pytest.importorskip("dask.distributed", reason="needs tweetsent[dask]")


def write_dataset(folder: Path, files: int = 3, rows: int = 40) -> None:
    folder.mkdir()
    for f in range(files):
        texts = [text for _, text in synthetic_tweets(rows, seed=20 + f)]
        texts[5] = "love love :) " + texts[5]
        ids = list(range(f * rows, (f + 1) * rows))
        table = pa.table({"id": pa.array(ids, pa.int64()), "text": texts, "shard": [f] * rows})
        pq.write_table(table, folder / f"part-{f}.parquet")


def test_partition_scoring_equals_predict(batch_run, tmp_path):
    frame = pq.read_table(_dataset(tmp_path)).to_pandas()
    frame.loc[3, "text"] = None  # a null text keeps its row: the prior, flagged empty
    out = partitions.predict_partition(frame, batch_run)
    assert list(out.columns) == [
        "id",
        "text",
        "shard",
        "label",
        "prob_negative",
        "prob_neutral",
        "prob_positive",
        "empty",
    ]
    preds = Predictor.from_run(batch_run).predict(frame["text"].fillna("").tolist())
    assert out["label"].tolist() == [p.label for p in preds]
    assert out["prob_positive"].tolist() == [p.probs["positive"] for p in preds]
    assert out["empty"].tolist() == [p.empty for p in preds] and out["empty"][3]
    before = partitions.LOADS
    partitions.predict_partition(frame.iloc[:7], batch_run)
    assert before == partitions.LOADS  # the cached Predictor


def _dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "tweets"
    if not folder.exists():
        write_dataset(folder)
    return folder


@pytest.mark.slow
def test_dask_recipe_on_a_local_cluster_equals_single_process_predict(batch_run, tmp_path):
    folder = _dataset(tmp_path)
    single = tmp_path / "single.parquet"
    predict_file(Predictor.from_run(batch_run), folder, single, progress=False)
    expected = pq.read_table(single).to_pandas()

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        tweets = dd.read_parquet(str(folder)).repartition(npartitions=6)
        labelled = partitions.predict_dataframe(tweets, batch_run, text_col="text")
        labelled.to_parquet(str(tmp_path / "labelled"))  # the recipe's last step
        loads = client.run(lambda: partitions.LOADS)
    got = pq.read_table(tmp_path / "labelled").to_pandas()
    assert len(loads) == 2  # two worker processes
    assert all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1  # not per partition
    assert list(got.columns) == list(expected.columns)
    assert got["id"].tolist() == expected["id"].tolist()
    assert got["label"].tolist() == expected["label"].tolist()
    for col in [c for c in got.columns if c.startswith("prob_")]:
        np.testing.assert_array_equal(got[col].to_numpy(), expected[col].to_numpy())
    assert got["empty"].tolist() == expected["empty"].tolist()
