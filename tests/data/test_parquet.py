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


def test_a_dictionary_encoded_text_column_is_read(tmp_path):
    """A pandas categorical (an Arrow dictionary) text or label column holds strings too."""
    path = tmp_path / "cat.parquet"
    texts = pa.array(["love it", "hate it", "love it"]).dictionary_encode()
    labels = pa.array(["positive", "negative", "positive"]).dictionary_encode()
    pq.write_table(pa.table({"text": texts, "label": labels}), path)
    examples, _ = read_examples([path])
    assert examples.texts == ["love it", "hate it", "love it"]
    assert examples.labels == ["positive", "negative", "positive"]
    numbers = tmp_path / "numbers.parquet"
    pq.write_table(
        pa.table({"text": pa.array([1, 2]).dictionary_encode(), "label": labels[:2]}), numbers
    )
    with pytest.raises(DataError, match="text column 'text' holds int64, expected strings"):
        read_examples([numbers])


def test_a_corrupt_page_is_reported_at_its_first_row(tmp_path):
    """A damaged page (here gzip data) deep in the file is reported at the row where it starts,
    not "after row 0" (the first batch of 65,536 rows fails as a whole), in one line."""
    path = tmp_path / "bad.parquet"
    n = 60_000
    texts = pa.array([f"tweet number {i} :)" for i in range(n)])
    options = {"compression": "gzip", "use_dictionary": False, "data_page_size": 16 << 10}
    pq.write_table(pa.table({"text": texts}), path, **options)
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    data = bytearray(path.read_bytes())
    middle = column.data_page_offset + int(column.total_compressed_size * 0.7)
    data[middle : middle + 64] = bytes(b ^ 0x5A for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))
    with pytest.raises(
        DataError, match=r"bad\.parquet: cannot read Parquet at row ([\d,]+) "
    ) as exc:
        read_chunks(path, lambda chunk: None)
    bad = int(exc.value.args[0].split("at row ")[1].split()[0].replace(",", ""))
    assert 30_000 < bad < 50_000
    first = next(pq.ParquetFile(path).iter_batches(batch_size=bad - 1))  # the rows before it read
    assert first.column(0)[-1].as_py() == f"tweet number {bad - 2} :)"
