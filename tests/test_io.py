import os
import stat

import pytest

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
