"""Small file helpers: atomic writes, JSON and TOML, checksums. Nothing here unpickles.

`tempfile`, `tomllib` and `hashlib` are imported by the functions that use them: every command
imports this module (through the configs), and `tweetsent predict` starts its scoring helper
before it writes, reads TOML or hashes anything."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tweetsent.errors import ConfigError, TweetsentError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open() would have given the file (mkstemp gives 0600)


# Errors of the disk or the output itself (full, gone, read-only): one line, not a traceback.
_OUTPUT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EIO,
    errno.EPIPE,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
    errno.EISDIR,
}


def output_target(path: str | os.PathLike) -> tuple[Path, bool]:
    """Where a write to `path` should go, and whether it can be atomic (temp file + rename).

    A symlink is followed (its target is written, the link stays); a FIFO, character device or
    socket is written into directly (renaming over it would replace it); a directory is a
    one-line `TweetsentError`.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        st = path.stat()
    except FileNotFoundError:
        return path, True
    except OSError as exc:
        raise TweetsentError(f"{path}: cannot write ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise TweetsentError(f"{path}: is a directory; give a file name to write")
    return path, stat.S_ISREG(st.st_mode)


@contextlib.contextmanager
def _output_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS or not _about(exc.filename, path):
            raise  # not about this output: as it is
        raise TweetsentError(f"{path}: cannot write ({exc.strerror})") from None


def _about(filename: Any, path: Path) -> bool:
    """Whether an error's file name is the output `path`, a folder above it, or a temporary
    file beside it (compared as absolute paths: a relative output's temporary file is named
    absolutely)."""
    if filename is None:
        return True
    target = Path(os.path.abspath(path))
    name = Path(os.path.abspath(os.fsdecode(filename)))
    return name == target or name in target.parents or name.parent == target.parent


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Write to a temporary file beside `path`, then rename it into place.

    A crash or an exception leaves the old file (or no file), never a half-written one. A
    symlink's target is written; a FIFO or device is written into directly, never replaced
    (`output_target`); a full disk or unwritable place is a one-line `TweetsentError`.
    """
    path, atomic = output_target(path)
    if not atomic:
        with _output_errors(path), open(path, mode, **kwargs) as handle:
            yield handle
        return
    import tempfile

    with _output_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(path.parent, f".{path.name}.*.tmp")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with _output_errors(path):
            with os.fdopen(fd, mode, **kwargs) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, _MODE)
            os.replace(tmp, path)
            _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path for a writer that wants a filename (safetensors, savefig, numpy).

    Like `atomic_write`: a symlink's target is replaced, a FIFO or device gets the path itself
    (written directly), a directory is a one-line `TweetsentError`; the file and its folder
    are fsynced before and after the rename."""
    path, atomic = output_target(path)
    if not atomic:
        with _output_errors(path):
            yield path
        return
    import tempfile

    with _output_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(path.parent, f".{path.stem}.*.tmp{path.suffix}")
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
        )
        os.close(fd)
    try:
        with _output_errors(path):  # a full disk under a writer (Parquet, safetensors) too
            yield Path(tmp)
            _fsync_file(tmp)
            os.chmod(tmp, _MODE)
            os.replace(tmp, path)
            _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


STALE_S = 3600.0  # a temporary file this old is left by a killed writer


def _remove_stale(folder: Path, pattern: str) -> None:
    """Remove the temporary files of writes killed before their rename (older than STALE_S)."""
    now = time.time()
    for old in folder.glob(pattern):
        with contextlib.suppress(OSError):
            if now - old.lstat().st_mtime > STALE_S:
                old.unlink()


def _fsync_file(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (where the platform allows fsync on a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_write(path, "w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False, sort_keys=False)
        handle.write("\n")


MAX_READ_BYTES = 256 << 20  # the largest JSON or text file read whole (a run's vocab.json: MBs)


def read_json(path: str | os.PathLike, max_bytes: int = MAX_READ_BYTES) -> Any:
    """A JSON file, read whole: only a regular file of at most `max_bytes` (`read_capped`)."""
    return json.loads(read_capped(path, max_bytes).decode("utf-8"))


def read_capped(path: str | os.PathLike, max_bytes: int = MAX_READ_BYTES) -> bytes:
    """The bytes of a regular file of at most `max_bytes`. Anything else (a link to /dev/zero,
    a FIFO, a huge file) is a one-line `TweetsentError` before a byte is read: a tampered
    directory never exhausts memory or blocks. A missing file raises FileNotFoundError."""
    st = os.stat(path)  # FileNotFoundError as open() would raise it
    if not stat.S_ISREG(st.st_mode):
        raise TweetsentError(f"{path}: not a regular file")
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise TweetsentError(
            f"{path}: {max(size, len(data)):,} bytes, over the {max_bytes:,}-byte limit"
        )
    return data


def read_toml(path: str | os.PathLike, what: str = "config file") -> dict[str, Any]:
    """A TOML file as a dict; a missing or malformed file is a one-line `ConfigError` naming
    `what` it should have been."""
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def toml_table(raw: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    """The table `[name]` of a read TOML file (empty when absent); anything else is a one-line
    `ConfigError` naming `source`."""
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    return table


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
