"""Read tweets (and labels) from files, folders and globs in any supported format.

    examples, report = read_examples(["data/semeval/"], format="auto")
    examples.texts[0], examples.labels[0], examples.source(0)   # text, raw label, (path, line)
    print(report.summary())

Formats (see `formats.py` for auto-detection and `parsers.py` for each format's rules):
`semeval` (id TAB label TAB text), `tweeteval` (X_text.txt + X_labels.txt + mapping.txt),
`sentiment140` (headerless latin-1 CSV), `csv` / `tsv` (header row, `text_col` / `label_col`),
`jsonl` (one object a line), `txt` (one tweet a line, no labels), `parquet` (`parquet.py`).

`read_chunks` streams instead: it hands rows to a callback in chunks of a fixed size, in input
order, so that memory does not grow with the input (prediction and evaluation of large files).

Malformed rows (wrong field count, empty text or label, bad JSON, undecodable bytes) are skipped
and counted in the `ReadReport` with file and line; with `strict=True` the first one raises
`DataError(reason, path, line)`. Problems with a whole file (missing, not text, missing column,
TweetEval line counts that differ) always raise. Labels are returned raw: `labels.apply_labels`
maps them to a label set.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tweetsent.data.examples import Examples, ReadReport, Sink
from tweetsent.data.formats import FORMATS, detect_format, resolve_paths, sniff
from tweetsent.data.parquet import parse_parquet
from tweetsent.data.parsers import PARSERS, Options
from tweetsent.errors import DataError

__all__ = [
    "Chunk",
    "Examples",
    "ReadReport",
    "TextRows",
    "read_chunks",
    "read_examples",
    "read_file",
    "read_texts",
]

READERS = {**PARSERS, "parquet": parse_parquet}

PathsLike = str | os.PathLike | Sequence[str | os.PathLike]


@dataclass
class TextRows:
    """Prediction input: the texts plus each input row, so that outputs can keep its columns."""

    texts: list[str]
    rows: list[dict[str, Any]]  # one dict per text, the input's fields
    columns: list[str]  # the input's column order (first file)
    examples: Examples  # the same texts with labels (if any) and sources
    report: ReadReport = field(default_factory=ReadReport)


def read_examples(
    paths: PathsLike,
    format: str = "auto",
    text_col: str = "text",
    label_col: str = "label",
    strict: bool = False,
    require_labels: bool = True,
) -> tuple[Examples, ReadReport]:
    """Read every file that `paths` (files, folders, globs) names, in order.

    Raises DataError when nothing matches, a file cannot be read, or no row at all was read.
    """
    opts = Options(text_col=text_col, label_col=label_col, require_labels=require_labels)
    examples, report, _ = _read_all(paths, format, opts, strict, keep_rows=False)
    return examples, report


def read_texts(path: PathsLike, format: str = "auto", text_col: str = "text") -> TextRows:
    """Read tweets to predict: labels optional, every input row kept (as a dict)."""
    opts = Options(text_col=text_col, label_col="label", require_labels=False)
    examples, report, rows = _read_all(path, format, opts, strict=False, keep_rows=True)
    columns = list(rows[0]) if rows else [text_col]
    return TextRows(
        texts=examples.texts, rows=rows, columns=columns, examples=examples, report=report
    )


def _read_all(
    paths: PathsLike, fmt: str, opts: Options, strict: bool, keep_rows: bool
) -> tuple[Examples, ReadReport, list[dict[str, Any]]]:
    if fmt != "auto" and fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; expected auto, {', '.join(FORMATS)}")
    examples, report = Examples(), ReadReport()
    rows: list[dict[str, Any]] = []
    files = resolve_paths(paths)
    for path in files:
        sink = Sink(examples, report, str(path), strict, keep_rows)
        read_file(path, fmt, opts, sink)
        if sink.rows is not None:
            rows.extend(sink.rows)
    if not len(examples):
        _no_rows(files, report)
    return examples, report, rows


def _no_rows(files: list[Path], report: ReadReport) -> None:
    where = ", ".join(str(p) for p in files)
    why = (
        f" (first problem: {report.skips[0][2]} at line {report.skips[0][1]})"
        if report.skips
        else ""
    )
    raise DataError(f"no usable rows read{why}", where)


def read_file(path: Path, fmt: str, opts: Options, sink: Sink) -> str:
    """Read one file into `sink`; returns the format used."""
    head = sniff(path)
    if fmt == "auto":
        if (
            path.name.endswith("_labels.txt")
            and path.with_name(path.name[: -len("_labels.txt")] + "_text.txt").is_file()
        ):
            raise DataError("this is a TweetEval label file: pass the matching _text.txt", path)
        fmt = detect_format(path, head)
    if not head.strip(b" \t\r\n\xef\xbb\xbf") and path.stat().st_size <= len(head):
        if sink.strict:
            raise DataError("empty file", path)
        sink.report.empty_files.append(str(path))
        sink.finish(fmt)
        return fmt
    READERS[fmt](path, sink, opts)
    sink.finish(fmt)
    return fmt


@dataclass
class Chunk:
    """Consecutive rows of the input: `examples` (texts, raw labels, file and line of each),
    the input rows when kept, the Arrow schema of a Parquet file they came from, and the
    column names of their file where it has some (CSV/TSV header, Parquet)."""

    examples: Examples
    rows: list[dict[str, Any]] | None
    schema: Any = None
    columns: list[str] | None = None


class ChunkSink(Sink):
    """A `Sink` that hands its rows to `on_chunk` every `size` rows instead of keeping them."""

    def __init__(
        self,
        report: ReadReport,
        path: str,
        strict: bool,
        keep_rows: bool,
        size: int,
        on_chunk: Callable[[Chunk], None],
    ) -> None:
        super().__init__(Examples(), report, path, strict, keep_rows)
        self.size, self.on_chunk = size, on_chunk

    def add(
        self, line: int, text: str, label: str | None, row: dict[str, Any] | None = None
    ) -> None:
        super().add(line, text, label, row)
        if len(self.examples) >= self.size:
            self.flush()

    def flush(self) -> None:
        if len(self.examples):
            chunk = Chunk(self.examples, self.rows, self.schema, self.columns)
            self.examples = Examples(paths=[self.path], file_ids=array("i"), lines=array("i"))
            self.rows = [] if self.rows is not None else None
            self.on_chunk(chunk)


def read_chunks(
    paths: PathsLike,
    on_chunk: Callable[[Chunk], None],
    size: int = 100_000,
    format: str = "auto",
    text_col: str = "text",
    label_col: str = "label",
    strict: bool = False,
    require_labels: bool = False,
    keep_rows: bool = True,
    allow_empty: bool = False,
) -> ReadReport:
    """Read every file that `paths` names, in order, calling `on_chunk` with each run of `size`
    rows (a file's last chunk may be shorter; no chunk spans two files). Memory holds one chunk.

    Raises DataError like `read_examples` (after the chunks read so far were handed over).
    With `allow_empty`, a file without a single row (empty, a header only, a 0-row Parquet
    file) is not an error: it hands over one empty chunk with its columns (or `text_col`)."""
    if format != "auto" and format not in FORMATS:
        raise DataError(f"unknown format {format!r}; expected auto, {', '.join(FORMATS)}")
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    opts = Options(text_col=text_col, label_col=label_col, require_labels=require_labels)
    report = ReadReport()
    files = resolve_paths(paths)
    for path in files:
        sink = ChunkSink(report, str(path), strict, keep_rows, size, on_chunk)
        read_file(path, format, opts, sink)
        sink.flush()
        if allow_empty and not sink.count and not sink.skipped:
            rows: list[dict[str, Any]] | None = [] if keep_rows else None
            on_chunk(Chunk(Examples(), rows, sink.schema, sink.columns or [text_col]))
    if not report.rows_read and (report.rows_skipped or not allow_empty):
        _no_rows(files, report)
    return report
