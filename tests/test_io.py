import os
import stat
from pathlib import Path

import pytest

from tweetsent.errors import TweetsentError
from tweetsent.io import atomic_path, atomic_write, read_json, write_json


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_atomic_files_get_normal_permissions(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"1")
    for name in ("a.json", "b.bin"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode & 0o044, oct(mode)  # readable by others, like open() would make it
    assert read_json(tmp_path / "a.json") == {"x": 1}


def test_atomic_write_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as handle:
        handle.write("new")
    assert link.is_symlink() and target.read_text() == "new"


def test_atomic_write_into_a_fifo_streams_into_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader waits (never blocks here)
    try:
        with atomic_write(fifo) as handle:
            handle.write("through the pipe\n")
        got = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert got == b"through the pipe\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not replaced


def test_a_full_disk_is_a_one_line_error(tmp_path, monkeypatch):
    import errno

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "out.txt"
    with pytest.raises(TweetsentError, match="out.txt: cannot write"), atomic_write(out) as h:
        h.write("x")
    assert os.listdir(tmp_path) == []


def test_a_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(TweetsentError, match="is a directory"), atomic_write(tmp_path) as h:
        h.write("x")
    assert tmp_path.is_dir()


def test_temporary_files_of_killed_writes_are_removed_later(tmp_path):
    import time

    from tweetsent.io import STALE_S

    stale = [tmp_path / ".out.txt.abc123.tmp", tmp_path / ".weights.xyz.tmp.bin"]
    fresh = tmp_path / ".out.txt.def456.tmp"  # maybe a writer still at work
    for path in [*stale, fresh]:
        path.write_text("half")
    old = time.time() - STALE_S - 60
    for path in stale:
        os.utime(path, (old, old))
    with atomic_write(tmp_path / "out.txt") as handle:
        handle.write("done")
    with atomic_path(tmp_path / "weights.bin") as tmp:
        tmp.write_bytes(b"1")
    assert sorted(os.listdir(tmp_path)) == sorted([fresh.name, "out.txt", "weights.bin"])


def test_an_unwritable_folder_is_one_line_for_a_relative_output(tmp_path, monkeypatch):
    """Issue 26 item 5: `cd ro && predict ... --output o.csv` (the temporary file is named
    absolutely, the output relatively) is one line, as is a folder that cannot be made."""
    import errno
    import tempfile

    def denied(prefix="", suffix="", dir=None):
        name = os.path.join(os.path.abspath(dir), f"{prefix}x{suffix}")
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    denied_line = r"^o.csv: cannot write \(Permission denied\)$"
    with pytest.raises(TweetsentError, match=denied_line), atomic_write("o.csv") as handle:
        handle.write("x")
    with pytest.raises(TweetsentError, match=r"^o.pq: cannot write"), atomic_path("o.pq"):
        pass
    (tmp_path / "ro").mkdir()
    monkeypatch.chdir(tmp_path / "ro")

    def no_mkdir(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "mkdir", no_mkdir)
    refused = pytest.raises(TweetsentError, match=r"^new/o.json: cannot write")
    with refused, atomic_write("new/o.json") as handle:
        handle.write("x")


def test_a_full_disk_under_a_writer_that_wants_a_path_is_one_line(tmp_path):
    """Issue 26 item 5: Parquet (pyarrow) raises ENOSPC without a file name inside
    `atomic_path`: one line, and no file left."""
    import errno

    out = tmp_path / "out.parquet"
    with pytest.raises(TweetsentError, match="out.parquet: cannot write"), atomic_path(out):
        raise OSError(errno.ENOSPC, "Error writing bytes to file")
    assert os.listdir(tmp_path) == []
