"""Parquet input: a file read in row batches (pyarrow), fed to a `Sink` like the text formats.

A row's "line" is its 1-based row number in the file, so skips and errors read `file:row:
reason`; a page that cannot be read (corrupt, bad compression) is reported at its first row,
found by reading its row group again a row at a time. The text column must hold strings,
plain or dictionary-encoded (a pandas categorical); a null or blank text is a skipped row
(counted), as in the other formats; a label column is optional unless labels are required.
With rows kept (prediction), each row is a dict of every column's Python value (ints,
timestamps, ...) and the sink records the file's Arrow schema (`Sink.schema`), so that a
Parquet output can keep the input's column types.
"""

from __future__ import annotations

from pathlib import Path

from tweetsent.data.examples import Sink
from tweetsent.data.parsers import Options
from tweetsent.errors import DataError

BATCH_ROWS = 65_536  # rows per batch read from the file


def parse_parquet(path: Path, sink: Sink, opts: Options) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"not a readable Parquet file ({_short(exc)})", path) from None
    schema = pfile.schema_arrow
    label_col = _check_columns(schema, path, opts)
    sink.columns = list(schema.names)
    keep = sink.rows is not None
    if keep:
        sink.schema = schema
    columns = None if keep else [opts.text_col, *([label_col] if label_col else [])]
    row = 0
    try:
        for batch in pfile.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            texts = batch.column(opts.text_col).to_pylist()
            labels = batch.column(label_col).to_pylist() if label_col else [None] * len(texts)
            rows = batch.to_pylist() if keep else [None] * len(texts)
            for text, label, values in zip(texts, labels, rows, strict=True):
                row += 1
                _add(sink, row, text, label, values, opts)
    except (pa.ArrowException, OSError) as exc:  # a codec's failure is an OSError
        bad = _first_bad_row(pfile, columns, row)
        where = f"at row {bad:,}" if bad else f"after row {row:,}"
        raise DataError(f"cannot read Parquet {where} ({_short(exc)})", path) from None


def _first_bad_row(pfile, columns: list[str] | None, done: int) -> int | None:
    """The 1-based row at which reading fails: the row groups from the one holding row
    `done + 1` are read again one row at a time (batches of many rows fail at their start)."""
    import pyarrow as pa

    start, groups = 0, pfile.metadata.num_row_groups
    for group in range(groups):
        rows = pfile.metadata.row_group(group).num_rows
        if start + rows > done:
            break
        start += rows
    else:
        return None
    row = start
    try:
        for batch in pfile.iter_batches(
            batch_size=1, row_groups=range(group, groups), columns=columns
        ):
            row += batch.num_rows
    except (pa.ArrowException, OSError):
        return row + 1
    return None


def _add(sink: Sink, row: int, text, label, values, opts: Options) -> None:
    text = text.strip() if text is not None else ""
    label = None if label is None or str(label).strip() == "" else str(label).strip()
    if not text:
        sink.skip(row, f"empty text (column {opts.text_col!r})")
    elif label is None and opts.require_labels:
        sink.skip(row, f"no label (column {opts.label_col!r})")
    else:
        sink.add(row, text, label, values)


def _check_columns(schema, path: Path, opts: Options) -> str | None:
    """The label column's name (None if absent and not required); DataError for a missing or
    non-string text column or a missing required label column."""
    import pyarrow as pa

    present = ", ".join(repr(n) for n in schema.names)
    if opts.text_col not in schema.names:
        raise DataError(f"no text column {opts.text_col!r} (--text-col); columns: {present}", path)
    kind = schema.field(opts.text_col).type
    if pa.types.is_dictionary(kind):  # a pandas categorical: its values are the texts
        kind = kind.value_type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataError(f"text column {opts.text_col!r} holds {kind}, expected strings", path)
    if opts.label_col in schema.names:
        return opts.label_col
    if opts.require_labels:
        raise DataError(
            f"no label column {opts.label_col!r} (--label-col); columns: {present}", path
        )
    return None


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
