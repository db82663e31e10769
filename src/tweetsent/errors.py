"""User-facing errors: one line, no traceback at the CLI."""

from __future__ import annotations


class TweetsentError(Exception):
    """A user mistake or an unusable input. The CLI prints `error: <message>` and exits 2."""


class ConfigError(TweetsentError, ValueError):
    """A configuration field has a bad value; the message names the field."""


class DataError(TweetsentError):
    """An input file cannot be read: the message names the file, line and reason."""

    def __init__(self, message: str, path: object = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line
