"""One parser per file format. Each streams a file and feeds a `Sink` row by row.

Line-based formats (semeval, tsv, jsonl, txt, tweeteval) read bytes line by line and decode each
line on its own, so that one undecodable line is one skipped row with its line number. CSV
formats go through the `csv` module (quoted fields may span lines), fed by the same capped line
reader; a CSV row is reported at the line where it starts. Lines are counted from 1; LF, CRLF
and bare CR (old Mac files) end a line, a missing final newline is accepted, and a line over
`MAX_LINE_BYTES` is a skipped row, never held whole, in every format but TweetEval's;
whitespace-only lines are not rows (counted in `ReadReport.blank_lines`).

Text fields are cleaned the same way in every tab-separated format (`clean_text`): surrounding
whitespace removed, and a field wrapped in double quotes (as a CSV writer leaves it) is unwrapped
with `""` turned back into `"`. Unbalanced quotes (a lone opening or closing quote, common in the
SemEval sarcasm file) are left as they are.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tweetsent.data.examples import Sink
from tweetsent.errors import DataError

SENTIMENT140_COLUMNS = ("polarity", "id", "date", "query", "user", "text")
SENTIMENT140_LABELS = {"0": "negative", "2": "neutral", "4": "positive"}
NOT_AVAILABLE = "not available"  # SemEval text of a tweet deleted before download
_UESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_SURROGATE = re.compile("[\udc80-\udcff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # JSON \\ud800-\\udfff, paired or not
_MAX_ROW_LINES = 20  # a CSV row longer than this is an unbalanced quote, not a tweet
MAX_LINE_BYTES = 1 << 20  # a longer line is a skipped row (an error with --strict), never read
_CHUNK = 1 << 16
_EOL_KEEP = re.compile(rb"(\r\n|\r|\n)")


@dataclass(frozen=True)
class Options:
    text_col: str = "text"
    label_col: str = "label"
    require_labels: bool = True


def clean_text(field: str) -> str:
    """Strip whitespace and one level of CSV-style double quoting.

    A field that starts and ends with a double quote loses both, and each doubled quote inside
    becomes one; a lone quote at one end only is kept.
    """
    text = field.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('""', '"').strip()
    return text


def decode_escapes(text: str) -> str:
    r"""Turn the literal `\u002c`, `\u2019` escapes of the 2013 SemEval files into characters."""
    if "\\u" not in text:
        return text
    text = _UESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= c <= "\udfff" for c in text):  # escaped surrogate pairs
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _raw_lines(handle: BinaryIO, limit: int, ends: bool = False) -> Iterator[bytes | None]:
    """The lines of a binary file, split at LF, CRLF or a bare CR (old Mac files), without
    their ends (with them if `ends`). A line longer than `limit` bytes is not kept in memory:
    it comes out as None."""
    rest = b""  # the start of a line not yet ended
    too_long = False  # the line being read is over the limit (its start was dropped)
    while True:
        chunk = handle.read(_CHUNK)
        buffer = rest + chunk
        hold = b"\r" if chunk and buffer.endswith(b"\r") else b""  # maybe half of a CRLF
        if hold:
            buffer = buffer[:-1]
        if b"\r" in buffer:
            pieces = _EOL_KEEP.split(buffer)  # line, end, line, end, ..., rest
            lines, eols = pieces[:-1:2], pieces[1::2]
        else:
            pieces = buffer.split(b"\n")
            lines, eols = pieces[:-1], [b"\n"] * (len(pieces) - 1)
        rest = pieces[-1]
        for piece, eol in zip(lines, eols, strict=True):
            if too_long or len(piece) > limit:
                yield None
            else:
                yield piece + eol if ends else piece
            too_long = False
        if len(rest) > limit:
            too_long, rest = True, b""
        rest += hold
        if not chunk:
            if rest or too_long:
                yield None if too_long else rest
            return


def _lines(path: Path, sink: Sink, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(line number, decoded line without its end) for every non-blank, decodable line."""
    undecodable = 0
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(_raw_lines(handle, MAX_LINE_BYTES), 1):
            if raw is None:
                sink.skip(lineno, f"line longer than {MAX_LINE_BYTES:,} bytes (not a tweet)")
                continue
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                undecodable += 1
                sink.skip(lineno, f"undecodable bytes (not {encoding}) at byte {exc.start + 1}")
                continue
            if lineno == 1:
                line = line.lstrip("\ufeff")
            if not line.strip():
                sink.report.blank_lines += 1
                continue
            yield lineno, line
    if undecodable and sink.count == 0:
        raise DataError(f"not {encoding} text: none of its lines could be decoded", sink.path)


def parse_semeval(path: Path, sink: Sink, opts: Options) -> None:
    """`id<TAB>label<TAB>text`; trailing empty fields dropped, extra tabs inside the text
    joined with a space; `\\uXXXX` escapes decoded; "Not Available" tweets skipped."""
    keep = sink.rows is not None
    for lineno, line in _lines(path, sink):
        fields = line.split("\t")
        while len(fields) > 3 and not fields[-1].strip():
            fields.pop()
        if len(fields) < 3:
            sink.skip(lineno, f"expected id<TAB>label<TAB>text, found {len(fields)} field(s)")
            continue
        raw = fields[2] if len(fields) == 3 else " ".join(fields[2:])
        text = decode_escapes(clean_text(raw))
        label = fields[1].strip() or None
        if not text:
            sink.skip(lineno, "empty text")
        elif text.lower() == NOT_AVAILABLE:
            sink.skip(lineno, "tweet text not available (deleted tweet)")
        elif label is None and opts.require_labels:
            sink.skip(lineno, "empty label")
        else:
            row = {"id": fields[0].strip(), "label": label or "", "text": text} if keep else None
            sink.add(lineno, text, label, row)


def _columns(header: list[str], path: Path, opts: Options) -> tuple[int, int | None]:
    """Indices of the text and label columns; DataError listing the columns if one is missing.

    Drops empty names at the end of `header` (in place).
    """
    while header and not header[-1].strip():
        header.pop()  # a trailing separator on the header line
    names = [h.strip() for h in header]
    present = ", ".join(repr(n) for n in names)
    if opts.text_col not in names:
        raise DataError(
            f"no text column {opts.text_col!r} (set data.text_col); columns: {present}", path, 1
        )
    label = names.index(opts.label_col) if opts.label_col in names else None
    if label is None and opts.require_labels:
        raise DataError(
            f"no label column {opts.label_col!r} (set data.label_col); columns: {present}", path, 1
        )
    return names.index(opts.text_col), label


def _add_table_row(
    sink: Sink,
    lineno: int,
    fields: list[str],
    header: list[str],
    cols: tuple[int, int | None],
    opts: Options,
) -> None:
    """Check one header-format row's field count, text and label, then add or skip it."""
    while len(fields) > len(header) and not fields[-1].strip():
        fields.pop()
    if max(cols[0], cols[1] or 0) < len(fields) < len(header):
        fields = fields + [""] * (len(header) - len(fields))  # trailing empty fields left out
    if len(fields) != len(header):
        sink.skip(lineno, f"expected {len(header)} fields, found {len(fields)}")
        return
    text = clean_text(fields[cols[0]])
    label = clean_text(fields[cols[1]]) if cols[1] is not None else ""
    if not text:
        sink.skip(lineno, "empty text")
    elif not label and opts.require_labels:
        sink.skip(lineno, "empty label")
    else:
        row = dict(zip(header, fields, strict=True)) if sink.rows is not None else None
        sink.add(lineno, text, label or None, row)


def parse_tsv(path: Path, sink: Sink, opts: Options) -> None:
    """Tab-separated with a header row; no quoting rules beyond `clean_text`."""
    header: list[str] | None = None
    cols: tuple[int, int | None] = (0, None)
    for lineno, line in _lines(path, sink):
        fields = line.split("\t")
        if header is None:
            header = [clean_text(f) for f in fields]
            cols = _columns(header, path, opts)
            sink.columns = header
            continue
        _add_table_row(sink, lineno, fields, header, cols, opts)


class _LineTooLong(Exception):
    """Raised through `csv.reader` by `_CsvLines` at a line over `MAX_LINE_BYTES`."""


class _CsvLines:
    """The decoded lines of a file, with their ends, for `csv.reader`; counts them, and raises
    `_LineTooLong` at a line over `MAX_LINE_BYTES` (never held whole). The reader cannot go on
    after that, but this iterator can: a new reader starts at the next line."""

    def __init__(self, handle: BinaryIO, encoding: str) -> None:
        self.lines = _raw_lines(handle, MAX_LINE_BYTES, ends=True)
        self.encoding, self.count = encoding, 0
        self.bom = encoding.lower().replace("-", "").startswith("utf")

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        raw = next(self.lines)
        self.count += 1
        if raw is None:
            raise _LineTooLong
        line = raw.decode(self.encoding, errors="surrogateescape")
        if self.count == 1 and self.bom:
            line = line.removeprefix("\ufeff")
        return line


def _csv_rows(path: Path, sink: Sink, encoding: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each CSV row; bad rows, unbalanced quotes and lines over
    `MAX_LINE_BYTES` (never held whole) are skipped."""
    with open(path, "rb") as handle:
        lines = _CsvLines(handle, encoding)
        reader = csv.reader(lines)
        done = 0  # physical lines consumed so far
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except _LineTooLong:
                sink.skip(done + 1, f"line longer than {MAX_LINE_BYTES:,} bytes (not a tweet)")
                done, reader = lines.count, csv.reader(lines)
                continue
            except csv.Error as exc:
                sink.skip(done + 1, f"bad CSV row ({exc})")
                done = lines.count
                continue
            start, done = done + 1, lines.count
            if not fields or not any(f.strip() for f in fields):
                sink.report.blank_lines += done - start + 1
            elif done - start >= _MAX_ROW_LINES:
                sink.skip(start, f"quoted field runs over lines {start}-{done} (unbalanced quote?)")
            elif _SURROGATE.search("\x1f".join(fields)):
                sink.skip(start, f"undecodable bytes (not {encoding})")
            else:
                yield start, fields


def parse_csv(path: Path, sink: Sink, opts: Options) -> None:
    """Comma-separated with a header row, UTF-8 (a byte-order mark is accepted)."""
    header: list[str] | None = None
    cols: tuple[int, int | None] = (0, None)
    for lineno, fields in _csv_rows(path, sink, "utf-8"):
        if header is None:
            header = [f.strip() for f in fields]
            cols = _columns(header, path, opts)
            sink.columns = header
            continue
        _add_table_row(sink, lineno, fields, header, cols, opts)
    if sink.count == 0 and sink.report.rows_skipped and header is not None:
        _check_decodable(path, sink)


def _check_decodable(path: Path, sink: Sink) -> None:
    if all("undecodable" in reason for p, _, reason in sink.report.skips if p == sink.path):
        raise DataError("not UTF-8 text: none of its rows could be decoded", path)


def parse_sentiment140(path: Path, sink: Sink, opts: Options) -> None:
    """Stanford Sentiment140: headerless latin-1 CSV, polarity,id,date,query,user,text;
    polarity 0/2/4 becomes negative/neutral/positive (other values are kept as they are)."""
    keep = sink.rows is not None
    for lineno, fields in _csv_rows(path, sink, "latin-1"):
        if len(fields) != 6:
            sink.skip(
                lineno, f"expected 6 fields (polarity,id,date,query,user,text), found {len(fields)}"
            )
            continue
        text = fields[5].strip()
        polarity = fields[0].strip()
        if not text:
            sink.skip(lineno, "empty text")
            continue
        row = dict(zip(SENTIMENT140_COLUMNS, fields, strict=True)) if keep else None
        sink.add(lineno, text, SENTIMENT140_LABELS.get(polarity, polarity), row)


def parse_jsonl(path: Path, sink: Sink, opts: Options) -> None:
    """One JSON object a line; the first object must have the text (and label) field."""
    checked = False
    keep = sink.rows is not None
    for lineno, line in _lines(path, sink):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            sink.skip(lineno, f"bad JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            sink.skip(lineno, f"expected a JSON object, found {type(obj).__name__}")
            continue
        if _SURROGATE_ESCAPE.search(line) and _lone_surrogate(obj):  # only escapes make one
            sink.skip(lineno, "unpaired surrogate escape (e.g. \\ud800): not valid Unicode text")
            continue
        if not checked:
            _columns(list(obj), path, opts)
            checked = True
        text, label = obj.get(opts.text_col), obj.get(opts.label_col)
        if not isinstance(text, str) or not text.strip():
            why = "empty text" if text in (None, "") else f"text is {type(text).__name__}"
            sink.skip(lineno, f"{why} (field {opts.text_col!r})")
        elif label in (None, "") and opts.require_labels:
            sink.skip(lineno, f"no label (field {opts.label_col!r})")
        else:
            label = None if label in (None, "") else str(label).strip()
            sink.add(lineno, text.strip(), label, obj if keep else None)


def _lone_surrogate(obj: Any) -> bool:
    """Whether a decoded JSON value holds a lone UTF-16 surrogate (from a `\\udXXX` escape
    without its pair), which no UTF-8 output can hold."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_txt(path: Path, sink: Sink, opts: Options) -> None:
    """One tweet a line, no labels."""
    if opts.require_labels:
        raise DataError(
            "a plain-text file has no labels (one tweet a line); "
            "use a labelled format (TSV/CSV/JSONL with a label column)",
            path,
        )
    for lineno, line in _lines(path, sink):
        text = line.strip()
        sink.add(lineno, text, None, {"text": text} if sink.rows is not None else None)


def _read_mapping(path: Path) -> dict[str, str]:
    mapping_path = path.parent / "mapping.txt"
    if not mapping_path.is_file():
        raise DataError("TweetEval split without mapping.txt beside it", path)
    mapping: dict[str, str] = {}
    text = mapping_path.read_text(encoding="utf-8", errors="replace")
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.strip().split("\t")
        if not line.strip():
            continue
        if len(fields) != 2:
            raise DataError("expected <index><TAB><label name>", mapping_path, lineno)
        mapping[fields[0].strip()] = fields[1].strip()
    return mapping


def parse_tweeteval(path: Path, sink: Sink, opts: Options) -> None:
    """TweetEval: `X_text.txt` (one tweet a line) + `X_labels.txt` (one index a line) +
    `mapping.txt` (index<TAB>name). The two files must have the same number of lines."""
    labels_path = path.with_name(path.name[: -len("_text.txt")] + "_labels.txt")
    if not path.name.endswith("_text.txt") or not labels_path.is_file():
        raise DataError("TweetEval format needs X_text.txt with X_labels.txt beside it", path)
    mapping = _read_mapping(path)
    texts = path.read_bytes().splitlines()  # LF, CRLF or bare CR
    labels = labels_path.read_bytes().splitlines()
    for lines in (texts, labels):
        if lines and not lines[-1].strip():
            lines.pop()
    if len(texts) != len(labels):
        raise DataError(f"{len(texts)} lines here but {len(labels)} in {labels_path.name}", path)
    keep = sink.rows is not None
    for lineno, (raw, raw_label) in enumerate(zip(texts, labels, strict=True), 1):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            sink.skip(lineno, f"undecodable bytes (not utf-8) at byte {exc.start + 1}")
            continue
        index = raw_label.decode("utf-8", errors="replace").strip()
        if not text:
            sink.skip(lineno, "empty text")
        elif index not in mapping:
            sink.skip(lineno, f"label {index!r} not in mapping.txt")
        else:
            row = {"text": text, "label": mapping[index]} if keep else None
            sink.add(lineno, text, mapping[index], row)


PARSERS = {
    "semeval": parse_semeval,
    "tweeteval": parse_tweeteval,
    "sentiment140": parse_sentiment140,
    "csv": parse_csv,
    "tsv": parse_tsv,
    "jsonl": parse_jsonl,
    "txt": parse_txt,
}
