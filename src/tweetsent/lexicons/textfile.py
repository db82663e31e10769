"""Reading a lexicon or word-cluster file: plain or gzip text, strict UTF-8, lines in order.

    lines = read_lines(path)   # ['word\\t1.5', ...]; line number = index + 1

Gzip is recognised by its magic bytes, so `lexicon.txt.gz` and a gzip file without the suffix
both work. The whole file is read and split at once (a 62k-line lexicon takes a few
milliseconds); lines are split at `\\n` only, never at the other Unicode line breaks that
`str.splitlines` honours, and a trailing `\\r` is dropped (VADER's file has CRLF endings).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from tweetsent.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"


def read_lines(path: str | os.PathLike) -> list[str]:
    """The lines of a UTF-8 text file (gzip read transparently), without line endings.

    Raises `DataError(message, path, line)` when the file is missing, is a broken gzip file,
    or is not UTF-8 (the line of the first bad byte is named).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"not a readable gzip file ({exc})", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"not UTF-8 text ({exc.reason})", path, line) from None
    if text.startswith("\ufeff"):  # a byte-order mark is not part of the first term
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline does not start another line
    return [line[:-1] if line.endswith("\r") else line for line in lines]
