"""Prediction outputs written chunk by chunk: JSONL, CSV/TSV and Parquet.

    with open_writer("out.parquet", labels) as writer:   # atomic: temp file, then rename
        writer.write(chunk, Scored.of(texts, predictor.predict_arrays(texts)))

`write` takes a `data.readers.Chunk` and its `Scored` rows, in order. JSONL: one
`Prediction.to_dict()` a line (formatted directly from the arrays, byte-identical to
`json.dumps`, unless attention weights come with `Prediction` objects). CSV/TSV: the input's
columns (those of the first row), then `label`, `prob_<label>` for each label, `empty`.
Parquet: the input's columns with their types (a Parquet input's own schema; other inputs'
types as pyarrow infers them from the first chunk), then `label` (string), `prob_<label>`
(float64, rounded to 6 decimals like the other formats), `empty` (bool). In CSV/TSV and
Parquet an input column with one of these names is replaced by the prediction. An empty chunk
(an input file without a row, `read_chunks(allow_empty=True)`) only gives its columns to an
output that gets no row at all: a CSV/TSV header, a 0-row Parquet file with the input's schema.

The file appears under its name only when the writer closes without an error
(`io.atomic_write` / `atomic_path`); a FIFO or device is written into directly.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring  # what json.dumps(..., ensure_ascii=False) uses
from pathlib import Path
from typing import IO, Any

from tweetsent.data.readers import Chunk
from tweetsent.errors import TweetsentError
from tweetsent.io import atomic_path, atomic_write
from tweetsent.runs.predict import BatchPrediction, Prediction, round6

OUTPUT_FORMATS = {"jsonl": ".jsonl", "csv": ".csv", "tsv": ".tsv", "parquet": ".parquet"}


def output_format(path: str | Path | None, fmt: str | None = None) -> str:
    """The output format: `fmt` if given, else from the file's suffix (JSONL by default)."""
    if fmt is not None:
        if fmt not in OUTPUT_FORMATS:
            raise TweetsentError(f"output format {fmt!r} is not one of {', '.join(OUTPUT_FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower() if path else ""
    return {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}.get(
        suffix, "jsonl"
    )


@dataclass
class Scored:
    """The predictions of a chunk's texts, as columns: label names, probabilities rounded to 6
    decimals (columns in label order), empty flags; `predictions` when they carry attention."""

    texts: list[str]
    labels: list[str]
    probs: list[list[float]]
    empty: list[bool]
    predictions: list[Prediction] | None = None

    @classmethod
    def of(cls, texts: list[str], batch: BatchPrediction) -> Scored:
        return cls(texts, batch.labels, round6(batch.probs), batch.empty.tolist())

    @classmethod
    def of_predictions(cls, preds: list[Prediction]) -> Scored:
        probs = [list(p.probs.values()) for p in preds]
        return cls(
            [p.text for p in preds],
            [p.label for p in preds],
            probs,
            [p.empty for p in preds],
            preds,
        )

    @classmethod
    def nothing(cls) -> Scored:
        return cls([], [], [], [])

    def __len__(self) -> int:
        return len(self.texts)


class JsonlWriter:
    needs_rows = False

    def __init__(self, handle: IO[str], labels: Sequence[str], hops: bool = False) -> None:
        self.handle, self.hops = handle, hops
        self.keys = [encode_basestring(label) + ": " for label in labels]
        self.names = {label: encode_basestring(label) for label in labels}

    def write(self, chunk: Chunk, scored: Scored) -> None:
        write = self.handle.write
        if scored.predictions is not None:
            for pred in scored.predictions:
                write(json.dumps(pred.to_dict(hops=self.hops), ensure_ascii=False) + "\n")
            return
        keys, names = self.keys, self.names
        for text, label, row, empty in zip(
            scored.texts, scored.labels, scored.probs, scored.empty, strict=True
        ):  # json.dumps(Prediction.to_dict()): float repr, ", " and ": " separators
            probs = ", ".join([k + repr(v) for k, v in zip(keys, row, strict=True)])
            write(
                f'{{"text": {encode_basestring(text)}, "label": {names[label]}, '
                f'"probs": {{{probs}}}, "empty": {"true" if empty else "false"}}}\n'
            )


class TableWriter:
    """CSV or TSV keeping the input's columns; the header comes from the first chunk."""

    needs_rows = True

    def __init__(self, handle: IO[str], labels: Sequence[str], delimiter: str) -> None:
        self.handle, self.labels, self.delimiter = handle, list(labels), delimiter
        self.writer: csv.DictWriter | None = None
        self.empty: Chunk | None = None  # an empty input's chunk: its columns, if no row comes

    def write(self, chunk: Chunk, scored: Scored) -> None:
        if not len(scored):
            self.empty = self.empty or chunk
            return
        rows = chunk.rows or [{"text": text} for text in scored.texts]
        prob_cols = [f"prob_{label}" for label in self.labels]
        if self.writer is None:
            self._start(list(rows[0]))
        assert self.writer is not None  # set by _start
        for row, label, probs, empty in zip(
            rows, scored.labels, scored.probs, scored.empty, strict=True
        ):
            cols = dict(zip(prob_cols, probs, strict=True))
            self.writer.writerow({**row, "label": label, **cols, "empty": empty})

    def _start(self, columns: list[str]) -> None:
        """The header: the input's columns, then ours (an input column named like one of ours
        is replaced, as in Parquet)."""
        ours = ["label", *(f"prob_{label}" for label in self.labels), "empty"]
        fields = [*(c for c in columns if c not in ours), *ours]
        self.writer = csv.DictWriter(
            self.handle, fieldnames=fields, extrasaction="ignore", delimiter=self.delimiter
        )
        self.writer.writeheader()

    def close(self) -> None:
        """Without a row, the header of an empty input's columns."""
        if self.writer is None and self.empty is not None:
            self._start(self.empty.columns or ["text"])


class ParquetWriter:
    """Parquet keeping the input's columns and types; the schema comes from the first chunk."""

    needs_rows = True

    def __init__(
        self, path: Path, labels: Sequence[str], source: str = "input", name: Path | None = None
    ) -> None:
        self.path, self.labels, self.source = path, list(labels), source
        self.name = name or path  # what errors call the output (`path` may be a temporary file)
        self.prob_cols = [f"prob_{label}" for label in self.labels]
        self.writer: Any = None
        self.inputs: Any = None  # schema of the input columns kept
        self.empty: Chunk | None = None  # an empty input's chunk: its columns, if no row comes

    def write(self, chunk: Chunk, scored: Scored) -> None:
        if not len(scored):
            self.empty = self.empty or chunk
        else:
            self._write(chunk, scored)

    def _write(self, chunk: Chunk, scored: Scored) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = chunk.rows or [{"text": text} for text in scored.texts]
        ours = {"label", *self.prob_cols, "empty"}
        try:
            if self.inputs is None:
                schema = chunk.schema or (
                    pa.Table.from_pylist(rows[:1000]).schema
                    if rows
                    else pa.schema([(name, pa.string()) for name in chunk.columns or ["text"]])
                )
                self.inputs = pa.schema([f for f in schema if f.name not in ours])
            table = pa.Table.from_pylist(rows, schema=self.inputs)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise TweetsentError(
                f"{self.name}: cannot keep the columns of {self.source} in Parquet "
                f"({str(exc).splitlines()[0][:200]}); write JSONL or CSV instead"
            ) from None
        table = table.append_column("label", pa.array(scored.labels, pa.string()))
        probs = list(zip(*scored.probs, strict=True)) or [()] * len(self.prob_cols)
        for col, values in zip(self.prob_cols, probs, strict=True):
            table = table.append_column(col, pa.array(values, pa.float64()))
        table = table.append_column("empty", pa.array(scored.empty, pa.bool_()))
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        """Without a row, the schema of an empty input's columns (`_empty_parquet` without
        one)."""
        if self.writer is None and self.empty is not None:
            self._write(self.empty, Scored.nothing())
        if self.writer is not None:
            self.writer.close()


@contextlib.contextmanager
def open_writer(
    path: str | Path | None,
    labels: Sequence[str],
    fmt: str | None = None,
    hops: bool = False,
    source: str = "input",
) -> Iterator[JsonlWriter | TableWriter | ParquetWriter]:
    """A writer of predictions to `path` (None: standard output, JSONL, CSV or TSV), renamed
    into place on success only; `fmt` overrides the format the suffix implies."""
    kind = output_format(path, fmt)
    if path is None:
        if kind == "parquet":
            raise TweetsentError("Parquet output needs --output FILE (not standard output)")
        if kind == "jsonl":
            yield JsonlWriter(sys.stdout, labels, hops)
        else:
            table = TableWriter(sys.stdout, labels, "\t" if kind == "tsv" else ",")
            yield table
            table.close()
        return
    if kind == "parquet":
        with atomic_path(path) as tmp:
            writer = ParquetWriter(Path(tmp), labels, source, name=Path(path))
            try:
                yield writer
            finally:
                writer.close()
            if writer.writer is None:  # nothing written: still a valid (empty) file
                _empty_parquet(Path(tmp), labels)
        return
    with atomic_write(path, "w", encoding="utf-8", newline="") as handle:
        if kind == "jsonl":
            yield JsonlWriter(handle, labels, hops)
        else:
            table = TableWriter(handle, labels, "\t" if kind == "tsv" else ",")
            yield table
            table.close()


def _empty_parquet(path: Path, labels: Sequence[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [pa.field("text", pa.string()), pa.field("label", pa.string())]
    fields += [pa.field(f"prob_{label}", pa.float64()) for label in labels]
    fields.append(pa.field("empty", pa.bool_()))
    pq.write_table(pa.schema(fields).empty_table(), path)
