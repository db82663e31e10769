"""Which files a path means, and which format each file is in.

Paths (`resolve_paths`): a file; a folder, meaning every supported file directly inside it
(not recursive), sorted by name, skipping hidden files and README/LICENSE files; or a glob
(`data/*.tsv`, `**` allowed), sorted. A folder holding a TweetEval `mapping.txt` means its
`<split>_text.txt` files (each read with its `<split>_labels.txt`). Nothing matched -> DataError.

Auto-detection (`detect_format`), first rule that applies:

1. `X_text.txt` with a sibling `X_labels.txt` -> `tweeteval`; `.parquet`, `.pq`, or a file
   that starts with Parquet's magic bytes `PAR1` -> `parquet` (read in row batches, `parquet.py`).
2. `.jsonl`, `.ndjson`, `.json` -> `jsonl`.
3. `.csv`: first row has six fields, the first "0", "2" or "4" and the second all digits ->
   `sentiment140` (headerless, latin-1); otherwise `csv` with a header row.
4. Otherwise look at the first non-blank line split on tabs: three or more fields whose second
   is a sentiment label (positive, negative, neutral, objective..., pos/neg/neu, -1/0/1, 0/2/4)
   -> `semeval`; else `.tsv`/`.tab` -> `tsv` with a header row; else a line with a tab in an
   unknown extension -> `tsv`; else `txt` (one tweet a line, no labels).

Before any of this, `sniff` rejects a whole file that is not text (Parquet aside): UTF-16/32
byte-order marks, NUL bytes, zip/gzip archives -> one DataError naming the file.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Sequence
from pathlib import Path

from tweetsent.errors import DataError

FORMATS = ("semeval", "tweeteval", "sentiment140", "csv", "tsv", "jsonl", "txt", "parquet")
SUPPORTED_SUFFIXES = (".tsv", ".tab", ".txt", ".csv", ".jsonl", ".ndjson", ".parquet")
PARQUET_MAGIC = b"PAR1"
LABEL_WORDS = frozenset(
    {
        "positive",
        "negative",
        "neutral",
        "objective",
        "objective-or-neutral",
        "pos",
        "neg",
        "neu",
        "-1",
        "0",
        "1",
        "2",
        "4",
    }
)
_SKIP_NAMES = ("readme", "license", "licence", "sha256sums", "mapping.txt")
_SNIFF_BYTES = 8192
_BAD_MAGIC = {
    b"\xff\xfe\x00\x00": "UTF-32 encoded",
    b"\x00\x00\xfe\xff": "UTF-32 encoded",
    b"\xff\xfe": "UTF-16 encoded",
    b"\xfe\xff": "UTF-16 encoded",
    b"PK\x03\x04": "a zip archive (extract it first)",
    b"\x1f\x8b": "gzip-compressed (gunzip it)",
}


def resolve_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Expand files, folders and globs into a sorted, de-duplicated list of files."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    found: list[Path] = []
    for raw in paths:
        text = os.fspath(raw)
        path = Path(text).expanduser()
        if path.is_dir():
            found.extend(_folder_files(path))
        elif path.exists():
            found.append(path)
        elif glob.has_magic(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file() and not _is_side_file(Path(m))]
            if not files:
                raise DataError("no files match this pattern", text)
            found.extend(files)
        else:
            raise DataError("no such file or folder", text)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise DataError("no supported data files found", ", ".join(os.fspath(p) for p in paths))
    return unique


def _folder_files(folder: Path) -> list[Path]:
    if (folder / "mapping.txt").is_file():
        return sorted(p for p in folder.glob("*_text.txt") if tweeteval_labels(p) is not None)
    files = [
        p
        for p in sorted(folder.iterdir())
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not p.name.startswith(".")
        and not _is_side_file(p)
    ]
    if not files:
        raise DataError(
            f"no supported data files ({', '.join(SUPPORTED_SUFFIXES)}) in folder", folder
        )
    return files


def _is_side_file(path: Path) -> bool:
    """README/LICENSE/checksum files and TweetEval label/mapping files are not data files."""
    name = path.name.lower()
    if name.startswith(_SKIP_NAMES):
        return True
    return (
        name.endswith("_labels.txt")
        and path.with_name(path.name[: -len("_labels.txt")] + "_text.txt").is_file()
    )


def tweeteval_labels(path: Path) -> Path | None:
    """The `X_labels.txt` beside a TweetEval `X_text.txt`, or None."""
    if not path.name.endswith("_text.txt"):
        return None
    labels = path.with_name(path.name[: -len("_text.txt")] + "_labels.txt")
    return labels if labels.is_file() else None


def sniff(path: Path) -> bytes:
    """The file's first bytes; DataError if it is missing, a folder, a pipe or device (they
    cannot be read twice: once here, once by the reader, whose rows would lose this start),
    or not a text file."""
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            raise DataError(
                "is a pipe or device, not a regular file: input is read twice (the format from "
                "its start, then the rows); save it to a file first",
                path,
            )
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise DataError("no such file", path) from None
    except IsADirectoryError:
        raise DataError("is a folder, expected a file", path) from None
    except OSError as exc:
        raise DataError(f"cannot read ({exc.strerror})", path) from None
    if head.startswith(PARQUET_MAGIC):
        return head  # binary, read by pyarrow
    for magic, what in _BAD_MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"file is {what}; expected UTF-8 text", path)
    if b"\x00" in head:
        raise DataError("binary file (contains NUL bytes); expected UTF-8 text", path)
    return head


def detect_format(path: Path, head: bytes) -> str:
    """Pick a format for `path` from its name and its first line (rules in the module doc)."""
    suffix = path.suffix.lower()
    if tweeteval_labels(path) is not None:
        return "tweeteval"
    if suffix in (".parquet", ".pq") or head.startswith(PARQUET_MAGIC):
        return "parquet"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    first = _first_line(head)
    if suffix == ".csv":
        return "sentiment140" if _looks_sentiment140(first) else "csv"
    fields = first.split("\t")
    if len(fields) >= 3 and fields[1].strip().lower() in LABEL_WORDS and fields[0].strip():
        return "semeval"
    if suffix in (".tsv", ".tab"):
        return "tsv"
    if suffix != ".txt" and "\t" in first:
        return "tsv"
    return "txt"


def _first_line(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _looks_sentiment140(first: str) -> bool:
    try:
        row = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return False
    return len(row) == 6 and row[0].strip() in ("0", "2", "4") and row[1].strip().isdigit()
