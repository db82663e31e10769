"""Download, copy and unzip files with SHA-256 checks; nothing lands half-written.

Every writer streams into a temporary file beside its destination while hashing it, compares the
digest with the expected one, and only then renames the file into place; on a mismatch or any
error the temporary file is removed and the destination is left as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from tweetsent.errors import DataError
from tweetsent.io import atomic_write, sha256_file

if TYPE_CHECKING:
    from tqdm import tqdm

CHUNK = 1 << 20
TIMEOUT_S = 60


def _write_verified(
    source: IO[bytes],
    dest: Path,
    expected: str | None,
    origin: str,
    total: int | None = None,
    progress: bool = False,
    name: str = "",
) -> str:
    """Stream `source` into `dest` atomically; returns the SHA-256 digest.

    Raises DataError (and leaves no file) when `expected` is given and differs.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    digest = hashlib.sha256()
    name = name or dest.name
    bar = _progress_bar(name, total) if progress else None
    try:
        with os.fdopen(fd, "wb") as out:
            while block := source.read(CHUNK):
                digest.update(block)
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
        actual = digest.hexdigest()
        if expected is not None and actual != expected.lower():
            raise DataError(
                f"checksum mismatch for {name} from {origin}: expected sha256 "
                f"{expected}, got {actual}; the file was not kept"
            )
        os.replace(tmp, dest)
        return actual
    finally:
        if bar is not None:
            bar.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _progress_bar(name: str, total: int | None) -> tqdm | None:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False, file=sys.stderr)


def download(
    url: str,
    dest: Path,
    expected: str | None,
    progress: bool = True,
    hint: str = "",
    name: str = "",
) -> str:
    """Fetch `url` into `dest` (verified when `expected` is given); returns the digest.

    `name` is the file's name in messages (default: the destination's name).
    """
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            return _write_verified(response, dest, expected, url, total, progress, name)
    except DataError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"cannot download {url} ({reason}){hint}") from None


def copy_verified(source: Path, dest: Path, expected: str | None) -> str:
    """Copy a local file into `dest` (verified when `expected` is given); returns the digest."""
    if dest.exists() and source.resolve() == dest.resolve():
        actual = sha256_file(dest)
        if expected is not None and actual != expected.lower():
            raise DataError(f"checksum mismatch: expected sha256 {expected}, got {actual}", dest)
        return actual
    try:
        with open(source, "rb") as handle:
            return _write_verified(handle, dest, expected, str(source))
    except OSError as exc:
        raise DataError(f"cannot read ({exc.strerror})", source) from None


def extract_members(
    archive: Path, members: dict[str, Path], expected: Callable[[str], str | None]
) -> dict[str, str]:
    """Extract the zip members named in `members` (matched by base name) to their paths.

    Only those members are written, under the given names (no path from the archive is used).
    Returns {member name: digest}.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            by_base = {
                Path(info.filename).name: info for info in zf.infolist() if not info.is_dir()
            }
            missing = [name for name in members if name not in by_base]
            if missing:
                raise DataError(f"archive lacks {', '.join(missing)}", archive)
            digests = {}
            for name, dest in members.items():
                with zf.open(by_base[name]) as source:
                    digests[name] = _write_verified(
                        source, dest, expected(name), f"{archive.name}:{name}"
                    )
            return digests
    except zipfile.BadZipFile as exc:
        raise DataError(f"not a valid zip archive ({exc})", archive) from None


def temp_path(folder: Path, name: str) -> Path:
    """A fresh temporary file name in `folder` (created empty), for a downloaded archive."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    os.close(fd)
    return Path(tmp)


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


SUMS = "SHA256SUMS"


def read_sums(folder: Path) -> dict[str, str]:
    """The `SHA256SUMS` file of a folder (`<digest>  <name>` lines) as {name: digest}."""
    path = folder / SUMS
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, fname = line.strip().partition("  ")
        if digest and fname:
            sums[fname.strip()] = digest.lower()
    return sums


def write_sums(folder: Path, sums: dict[str, str], owner: str, pinned: Iterable[str] = ()) -> None:
    """Record every digest in the folder's `SHA256SUMS`; announce on stderr those that no
    registry entry pins (`pinned`) and that were not recorded before (first use). `owner`
    starts the message (a dataset's name, "elmo small")."""
    pinned, old = set(pinned), read_sums(folder)
    for fname, digest in sorted(sums.items()):
        if fname not in pinned and fname not in old:
            print(
                f"{owner}: {fname} sha256 {digest} (no published checksum; recorded in "
                f"{folder / SUMS})",
                file=sys.stderr,
            )
    with atomic_write(folder / SUMS, "w", encoding="utf-8") as handle:
        for fname, digest in sorted(sums.items()):
            handle.write(f"{digest}  {fname}\n")
