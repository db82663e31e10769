"""Parquet input: read like the text formats (skips counted with their row), found in folders."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tweetsent.data import read_examples
from tweetsent.data.readers import read_chunks
from tweetsent.errors import DataError


def write(path, texts, labels=None):
    columns = {"id": list(range(len(texts))), "text": pa.array(texts, pa.string())}
    if labels is not None:
        columns["label"] = labels
    pq.write_table(pa.table(columns), path, row_group_size=3)
    return path


def test_parquet_reads_like_jsonl(tmp_path):
    texts = ["love it", "  ", None, "hate it ", "meh", "so so"]
    labels = ["positive", "neutral", "neutral", "negative", None, "neutral"]
    folder = tmp_path / "data"
    folder.mkdir()
    path = write(folder / "a.parquet", texts, labels)
    examples, report = read_examples([folder])  # a folder finds .parquet files
    assert examples.texts == ["love it", "hate it", "so so"]
    assert examples.labels == ["positive", "negative", "neutral"]
    assert list(examples.lines) == [1, 4, 6]  # row numbers
    assert report.files == {str(path): "parquet"} and report.skipped == 3
    assert [(line, reason) for _, line, reason in report.skips] == [
        (2, "empty text (column 'text')"),
        (3, "empty text (column 'text')"),
        (5, "no label (column 'label')"),
    ]
    with pytest.raises(DataError, match=r"a\.parquet:2: empty text"):
        read_examples([path], strict=True)


def test_chunks_carry_the_rows_and_the_schema(tmp_path):
    path = write(tmp_path / "a.parquet", [f"tweet {i}" for i in range(10)])
    chunks = []
    report = read_chunks(path, chunks.append, size=4)
    assert [len(c.examples) for c in chunks] == [4, 4, 2] and report.rows_read == 10
    assert chunks[1].rows[0] == {"id": 4, "text": "tweet 4"}
    assert chunks[0].schema.field("id").type == pa.int64()
    with pytest.raises(DataError, match="no label column 'label'"):
        read_examples([path])
