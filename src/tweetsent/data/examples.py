"""Column-oriented labelled examples and the report of how they were read.

`Examples` keeps one list per column (texts, labels) plus, for every row, where it came from
(file and line), stored compactly as two integer arrays so that 1.6M rows cost a few MB of
bookkeeping, not a tuple each. `ReadReport` counts what was read and what was skipped, and keeps
the first `MAX_REASONS` skip reasons with their file and line.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tweetsent.errors import DataError

MAX_REASONS = 20


@dataclass
class Examples:
    """Tweets and their raw (or canonical) labels, with each row's source file and line.

    `file_ids[i]` indexes `paths`; `lines[i]` is the 1-based line where row `i` starts.
    """

    texts: list[str] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    file_ids: array = field(default_factory=lambda: array("i"))
    lines: array = field(default_factory=lambda: array("i"))

    def __len__(self) -> int:
        return len(self.texts)

    def source(self, i: int) -> tuple[str, int]:
        """(path, line) of row `i`."""
        return self.paths[self.file_ids[i]], self.lines[i]

    @property
    def sources(self) -> list[tuple[str, int]]:
        """(path, line) of every row (built on demand)."""
        paths = self.paths
        return [(paths[f], n) for f, n in zip(self.file_ids, self.lines, strict=True)]

    def subset(self, indices: Iterable[int]) -> Examples:
        """The rows at `indices`, in that order, with their sources."""
        idx = list(indices)
        return Examples(
            texts=[self.texts[i] for i in idx],
            labels=[self.labels[i] for i in idx],
            paths=list(self.paths),
            file_ids=array("i", (self.file_ids[i] for i in idx)),
            lines=array("i", (self.lines[i] for i in idx)),
        )

    def extend(self, other: Examples) -> None:
        """Append `other`'s rows (its paths are merged into ours)."""
        remap = [self._path_id(p) for p in other.paths]
        self.texts.extend(other.texts)
        self.labels.extend(other.labels)
        self.file_ids.extend(remap[f] for f in other.file_ids)
        self.lines.extend(other.lines)

    def _path_id(self, path: str) -> int:
        if path in self.paths:
            return self.paths.index(path)
        self.paths.append(path)
        return len(self.paths) - 1


@dataclass
class ReadReport:
    """What a read did: files and formats, rows kept, rows skipped and why."""

    files: dict[str, str] = field(default_factory=dict)  # path -> format used
    rows_per_file: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    rows_skipped: int = 0
    skips: list[tuple[str, int, str]] = field(default_factory=list)  # first MAX_REASONS
    blank_lines: int = 0  # whitespace-only lines, ignored (not rows)
    empty_files: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Alias of `rows_read`."""
        return self.rows_read

    @property
    def skipped(self) -> int:
        """Alias of `rows_skipped`."""
        return self.rows_skipped

    @property
    def skipped_rows(self) -> list[tuple[str, int, str]]:
        """Alias of `skips`: the first MAX_REASONS (path, line, reason)."""
        return self.skips

    def add_skip(self, path: str, line: int, reason: str) -> None:
        self.rows_skipped += 1
        if len(self.skips) < MAX_REASONS:
            self.skips.append((path, line, reason))

    def merge(self, other: ReadReport) -> None:
        self.files.update(other.files)
        for path, n in other.rows_per_file.items():
            self.rows_per_file[path] = self.rows_per_file.get(path, 0) + n
        self.rows_read += other.rows_read
        self.blank_lines += other.blank_lines
        self.empty_files.extend(other.empty_files)
        for skip in other.skips:
            self.add_skip(*skip)
        self.rows_skipped += other.rows_skipped - len(other.skips)

    def summary(self) -> str:
        """A few human-readable lines: counts, then the first skip reasons."""
        lines = [
            f"read {self.rows_read:,} rows from {len(self.files)} file(s), "
            f"skipped {self.rows_skipped:,}"
        ]
        lines += [f"  skipped {path}:{line}: {reason}" for path, line, reason in self.skips]
        if self.rows_skipped > len(self.skips):
            lines.append(f"  ... and {self.rows_skipped - len(self.skips):,} more")
        lines += [f"  empty file {path}" for path in self.empty_files]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": dict(self.files),
            "rows_per_file": dict(self.rows_per_file),
            "rows_read": self.rows_read,
            "rows_skipped": self.rows_skipped,
            "skips": [list(s) for s in self.skips],
            "blank_lines": self.blank_lines,
            "empty_files": list(self.empty_files),
        }


class Sink:
    """Where a parser puts rows: appends to columns, or records (strict: raises) a skip."""

    def __init__(
        self,
        examples: Examples,
        report: ReadReport,
        path: str,
        strict: bool,
        keep_rows: bool = False,
    ) -> None:
        self.examples, self.report, self.path, self.strict = examples, report, path, strict
        self.file_id = examples._path_id(path)
        self.rows: list[dict[str, Any]] | None = [] if keep_rows else None
        self.count = 0
        self.skipped = 0
        self.schema: Any = None  # the file's Arrow schema (Parquet input with rows kept)
        self.columns: list[str] | None = None  # the file's column names, where it has them

    def add(
        self, line: int, text: str, label: str | None, row: dict[str, Any] | None = None
    ) -> None:
        ex = self.examples
        ex.texts.append(text)
        ex.labels.append(label)
        ex.file_ids.append(self.file_id)
        ex.lines.append(line)
        if self.rows is not None:
            self.rows.append(row if row is not None else {"text": text})
        self.count += 1

    def skip(self, line: int, reason: str) -> None:
        if self.strict:
            raise DataError(reason, self.path, line)
        self.skipped += 1
        self.report.add_skip(self.path, line, reason)

    def finish(self, fmt: str) -> None:
        self.report.files[self.path] = fmt
        self.report.rows_per_file[self.path] = (
            self.report.rows_per_file.get(self.path, 0) + self.count
        )
        self.report.rows_read += self.count


def label_counts(labels: Sequence[str | None]) -> dict[str | None, int]:
    """How many rows carry each label, most frequent first."""
    counts: dict[str | None, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))
