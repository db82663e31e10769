"""Batch scoring of files at any size: read, clean, score and write in chunks.

    predict_file(predictor, "tweets.parquet", "labelled.parquet", text_col="text")
    predict_shards(predictor, "shards/", "labelled/")       # one output shard per input shard

Each chunk of `chunk` rows (`data.readers.read_chunks`) goes through
`Predictor.predict_arrays` (the fast path: distinct texts, id memo, forked scoring workers from
`PARALLEL_MIN_TEXTS` texts; no object per tweet) and is written before the next is read, so
memory holds one chunk whatever the input's length, and the output keeps the input order. The
output file appears under its name only when every row was written (`runs.writers`): an
interrupted or failed run leaves the old file or none.
Malformed input rows are skipped, counted and reported on stderr with file and line.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections import deque
from pathlib import Path

from tweetsent.data.formats import resolve_paths
from tweetsent.data.readers import Chunk, ReadReport, read_chunks
from tweetsent.errors import TweetsentError
from tweetsent.runs.predict import Predictor, QueuedPrediction
from tweetsent.runs.writers import OUTPUT_FORMATS, Scored, open_writer

CHUNK = 100_000  # rows per chunk: enough for the forked workers, ~50 MB of Python objects
ATTENTION_CHUNK = 4096  # attention weights are large
# With a queued scorer (runs.helper, runs.onnxrt) chunks are smaller and several are in flight:
# a chunk is written while the next ones are scored, and encoded while the scorer is still loading.
QUEUED_CHUNK = 16_384
QUEUED_ROWS = 131_072  # rows queued at most (memory stays bounded as with CHUNK)
_SHARD_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv"}


def predict_file(
    predictor: Predictor,
    input_path: str | Path,
    output_path: str | Path | None,
    fmt: str = "auto",
    text_col: str = "text",
    attention: bool = False,
    hops: bool = False,
    progress: bool = True,
    chunk: int = CHUNK,
    output_format: str | None = None,
) -> int:
    """Label every tweet of a file (or of every file a folder or glob names, into one output);
    write JSONL (or CSV/TSV/Parquet keeping the input columns; `output_format` or the suffix).
    Returns the number of predictions."""
    if output_path is not None:
        refuse_input_as_output(resolve_paths(input_path), Path(output_path))
    bar = _progress_bar(input_path, progress and output_path is not None)
    try:
        count, report = _predict_into(
            predictor,
            input_path,
            output_path,
            fmt,
            text_col,
            attention,
            hops,
            chunk,
            output_format,
            bar,
        )
        _finish(bar)
    finally:
        bar.close()
    if report.skipped:
        print(report.summary(), file=sys.stderr)
    return count


def predict_shards(
    predictor: Predictor,
    input_dir: str | Path,
    output_dir: str | Path,
    fmt: str = "auto",
    text_col: str = "text",
    progress: bool = True,
    chunk: int = CHUNK,
    output_format: str | None = None,
) -> dict[str, int]:
    """One output shard per input file of `input_dir` (files, folders or globs), written into
    `output_dir` under the input's name with the output format's suffix (by default each
    shard's own format: Parquet, CSV, TSV; JSONL for the others). Each shard is written
    atomically, so an interrupted run leaves complete shards only. Returns rows per output."""
    files = resolve_paths(input_dir)
    out_dir = Path(output_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TweetsentError(f"{out_dir}: not a folder (one output shard per input shard)")
    _refuse_output_inside_input(input_dir, out_dir)
    names: dict[str, tuple[Path, str]] = {}  # output name -> (input shard, output format)
    for path in files:
        kind = output_format or _SHARD_FORMATS.get(path.suffix.lower(), "jsonl")
        name = path.stem + OUTPUT_FORMATS[kind]
        if name in names:
            raise TweetsentError(f"{path} and {names[name][0]} would both write {out_dir / name}")
        names[name] = (path, kind)
        refuse_input_as_output(files, out_dir / name)
    out_dir.mkdir(parents=True, exist_ok=True)
    bar = _progress_bar(files, progress)
    counts: dict[str, int] = {}
    report = ReadReport()
    try:
        for name, (path, kind) in names.items():
            target = out_dir / name
            counts[str(target)], part = _predict_into(
                predictor, path, target, fmt, text_col, False, False, chunk, kind, bar
            )
            report.merge(part)
        _finish(bar)
    finally:
        bar.close()
    if report.skipped:
        print(report.summary(), file=sys.stderr)
    return counts


def refuse_input_as_output(inputs: list[Path], output: Path) -> None:
    """A one-line error when `output` is one of the `inputs` (the same file after symlinks
    and hard links): writing it would destroy the input it is read from."""
    try:
        out = output.stat()
    except OSError:  # not there yet (or unreadable: the writer says so)
        return
    if not stat.S_ISREG(out.st_mode):  # a FIFO or device is written into, never replaced
        return
    for path in inputs:
        with contextlib.suppress(OSError):
            st = path.stat()
            if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
                raise TweetsentError(
                    f"{output}: is the input {path}; writing it would destroy the input "
                    "(give another output)"
                )


def _refuse_output_inside_input(inputs, out_dir: Path) -> None:
    """A shard output folder equal to or inside an input folder is refused: its shards would
    replace the input's or be read as input by the next run."""
    out = Path(os.path.realpath(out_dir))
    for raw in [inputs] if isinstance(inputs, str | os.PathLike) else inputs:
        folder = Path(os.path.realpath(Path(raw).expanduser()))
        if folder.is_dir() and (out == folder or folder in out.parents):
            raise TweetsentError(
                f"{out_dir}: is inside the input folder {raw}; give an output folder outside it"
            )


def _predict_into(
    predictor: Predictor,
    input_path: str | Path | list[Path],
    output_path: str | Path | None,
    fmt: str,
    text_col: str,
    attention: bool,
    hops: bool,
    chunk: int,
    output_format: str | None,
    bar,
) -> tuple[int, ReadReport]:
    with_attention = attention and predictor.has_attention
    queued = predictor.background and not with_attention
    if with_attention:
        chunk = min(chunk, ATTENTION_CHUNK)
    elif queued:
        chunk = min(chunk, QUEUED_CHUNK)
    count = 0
    pending: deque[tuple[Chunk, QueuedPrediction]] = deque()  # scored in the background
    in_flight = 0  # rows in `pending`
    with open_writer(output_path, predictor.labels, output_format, hops, str(input_path)) as out:

        def write(part: Chunk, scored: Scored) -> None:
            nonlocal count
            out.write(part, scored)
            count += len(scored)
            bar.update(len(scored))

        def write_done(wait: bool) -> None:
            """Write the leading chunks whose scores are in (all of them if `wait`)."""
            nonlocal in_flight
            while pending and (wait or in_flight > QUEUED_ROWS or pending[0][1].done()):
                part, queued_prediction = pending.popleft()
                in_flight -= len(part.examples.texts)
                write(part, Scored.of(part.examples.texts, queued_prediction.result()))

        def score(part: Chunk) -> None:
            nonlocal in_flight
            texts = part.examples.texts
            if not texts:  # an empty input file: its columns, for an output without rows
                out.write(part, Scored.nothing())
            elif with_attention:
                write(part, Scored.of_predictions(predictor.predict(texts, attention=True)))
            elif queued:  # encoded now, scored while the next chunks are read and encoded
                pending.append((part, predictor.predict_arrays_queued(texts)))
                in_flight += len(texts)
                write_done(wait=False)
            else:
                write(part, Scored.of(texts, predictor.predict_arrays(texts)))

        report = read_chunks(
            input_path, score, chunk, fmt, text_col, keep_rows=out.needs_rows, allow_empty=True
        )
        write_done(wait=True)
    if not report.rows_read:
        where = f"; {output_path} has no rows" if output_path is not None else ""
        print(f"warning: {input_path}: no rows to label{where}", file=sys.stderr)
    return count, report


class _Count:
    """What a run without a progress bar updates: the count alone (tqdm is not imported)."""

    def __init__(self) -> None:
        self.n = 0
        self.total: int | None = None

    def update(self, n: int) -> None:
        self.n += n

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(paths, enabled: bool):
    """A tqdm bar in tweets, with tweets/s and an ETA: its total is estimated from the input
    (Parquet row counts, text lines) when the input is made of regular files. Disabled: a
    `_Count` (importing tqdm costs ~20 ms of a command's start)."""
    if not enabled:
        return _Count()
    from tqdm.auto import tqdm

    class Bar(tqdm):  # no monitor thread: forking scoring workers with threads around is unsafe
        monitor_interval = 0

    total = estimate_rows(paths)
    return Bar(total=total, unit=" tweets", unit_scale=True, smoothing=0.1)


def _finish(bar) -> None:
    """The estimated total becomes the real count (skipped rows were in the estimate)."""
    bar.total = bar.n
    bar.refresh()


def estimate_rows(paths) -> int | None:
    """Rows in `paths` (files, folders, globs): Parquet row counts, text lines (minus a header
    line for CSV/TSV); None if one is not a regular file. An estimate: CSV fields may span
    lines, and skipped rows are counted."""
    total = 0
    try:
        files = resolve_paths(paths)
    except TweetsentError:
        return None
    for path in files:
        if not path.is_file():
            return None
        if path.suffix.lower() in (".parquet", ".pq"):
            try:
                import pyarrow.parquet as pq

                total += pq.ParquetFile(path).metadata.num_rows
            except Exception:  # an unreadable file is reported by the reader itself
                return None
            continue
        total += _count_lines(path) - (path.suffix.lower() in (".csv", ".tsv"))
    return total


def _count_lines(path: Path) -> int:
    lines, last = 0, b"\n"
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n" and os.path.getsize(path) > 0)
