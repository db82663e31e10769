"""Dataset registry: fetch from file:// and a local http server, checksums, import, info."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import pytest

from tweetsent.data import DATASETS, data_home, dataset_files, fetch, import_local, info
from tweetsent.data.registry import Archive, DataFile, Dataset
from tweetsent.errors import DataError

TRAIN = b"1\tpositive\tgood\n2\tnegative\tbad\n"
TEST = b"3\tneutral\tmeh\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TWEETSENT_DATA", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def served(tmp_path) -> Path:
    folder = tmp_path / "remote"
    folder.mkdir()
    (folder / "train.tsv").write_bytes(TRAIN)
    (folder / "test.tsv").write_bytes(TEST)
    return folder


@pytest.fixture
def http_url(served):
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def register(monkeypatch, base: str, train_sha: str | None = None) -> Dataset:
    ds = Dataset(
        name="toy",
        description="toy",
        format="semeval",
        files=(
            DataFile("train.tsv", train_sha or sha(TRAIN), base + "train.tsv", 2),
            DataFile("test.tsv", sha(TEST), base + "test.tsv", 1),
        ),
        splits={"train": ("train.tsv",), "test": ("test.tsv",)},
    )
    monkeypatch.setitem(DATASETS, "toy", ds)
    return ds


def test_data_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TWEETSENT_DATA", str(tmp_path / "d"))
    assert data_home() == tmp_path / "d"
    monkeypatch.delenv("TWEETSENT_DATA")
    monkeypatch.setenv("TWEETSENT_CACHE", str(tmp_path / "c"))
    assert data_home() == tmp_path / "c" / "data"


def test_fetch_over_http_verifies_and_places_files(home, http_url, monkeypatch):
    register(monkeypatch, http_url)
    folder = fetch("toy", progress=False)
    assert folder == home / "toy"
    assert (folder / "train.tsv").read_bytes() == TRAIN
    assert dataset_files("toy", "test", check=True) == [folder / "test.tsv"]
    (folder / "test.tsv").unlink()
    fetch("toy", progress=False)  # only the missing file is fetched again
    assert (folder / "test.tsv").read_bytes() == TEST


def test_fetch_from_file_url(home, served, monkeypatch):
    register(monkeypatch, served.as_uri() + "/")
    folder = fetch("toy", progress=False)
    assert sorted(p.name for p in folder.iterdir()) == ["SHA256SUMS", "test.tsv", "train.tsv"]


def test_checksum_mismatch_leaves_no_file(home, http_url, monkeypatch):
    register(monkeypatch, http_url, train_sha="0" * 64)
    with pytest.raises(DataError, match="checksum mismatch for train.tsv") as info_:
        fetch("toy", progress=False)
    assert http_url + "train.tsv" in str(info_.value)
    leftovers = list((home / "toy").iterdir()) if (home / "toy").exists() else []
    assert [p.name for p in leftovers if "train" in p.name] == []


def test_network_error_names_the_url_and_the_import_hint(home, monkeypatch):
    register(monkeypatch, "http://127.0.0.1:9/")  # discard port: connection refused
    with pytest.raises(DataError, match=r"cannot download http://127\.0\.0\.1:9/train\.tsv") as e:
        fetch("toy", progress=False)
    assert "import" in str(e.value)


def test_archive_dataset_records_checksums_on_first_use(home, tmp_path, monkeypatch, capsys):
    archive = tmp_path / "remote.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner/train.tsv", TRAIN)
        zf.writestr("inner/test.tsv", TEST)
    ds = Dataset(
        name="zipped",
        description="z",
        format="semeval",
        files=(DataFile("train.tsv", None), DataFile("test.tsv", None)),
        archive=Archive("remote.zip", archive.as_uri(), None),
    )
    monkeypatch.setitem(DATASETS, "zipped", ds)
    folder = fetch("zipped", progress=False)
    assert (folder / "train.tsv").read_bytes() == TRAIN
    assert not [p for p in folder.iterdir() if p.suffix in (".part", ".zip")]
    sums = (folder / "SHA256SUMS").read_text()
    assert f"{sha(TRAIN)}  train.tsv" in sums and "remote.zip" in sums
    assert f"train.tsv sha256 {sha(TRAIN)}" in capsys.readouterr().err
    # A later download that differs from what was recorded is refused (trust on first use).
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner/train.tsv", TRAIN + b"9\tpositive\tchanged\n")
        zf.writestr("inner/test.tsv", TEST)
    with pytest.raises(DataError, match="checksum mismatch for remote.zip"):
        fetch("zipped", force=True, progress=False)
    assert (folder / "train.tsv").read_bytes() == TRAIN


def test_import_local_copies_and_verifies(home, served, monkeypatch):
    register(monkeypatch, "http://unused.invalid/")
    folder = import_local("toy", served)
    assert (folder / "train.tsv").read_bytes() == TRAIN
    entry = info("toy")[0]
    assert entry["present"] and entry["missing"] == []
    assert [f["rows"] for f in entry["files"]] == [2, 1]


def test_import_local_missing_and_mismatch(home, served, monkeypatch):
    register(monkeypatch, "http://unused.invalid/")
    (served / "test.tsv").unlink()
    with pytest.raises(DataError, match="missing 1 file.s. of toy: test.tsv"):
        import_local("toy", served)
    (served / "test.tsv").write_bytes(b"tampered\n")
    with pytest.raises(DataError, match="checksum mismatch"):
        import_local("toy", served)
    assert not (home / "toy" / "test.tsv").exists()
    with pytest.raises(DataError, match="no such folder"):
        import_local("toy", served / "nope")


def test_info_and_dataset_files_when_absent(home, monkeypatch):
    register(monkeypatch, "http://unused.invalid/")
    entry = info("toy")[0]
    assert not entry["present"] and entry["missing"] == ["train.tsv", "test.tsv"]
    assert entry["where"] == str(home / "toy")
    assert dataset_files("toy", "train") == [home / "toy" / "train.tsv"]
    with pytest.raises(DataError, match="missing train.tsv: run fetch"):
        dataset_files("toy", "train", check=True)
    with pytest.raises(DataError, match="no split 'valid'; splits: test, train"):
        dataset_files("toy", "valid")
    with pytest.raises(DataError, match="unknown dataset 'nope'"):
        fetch("nope")
    assert {e["name"] for e in info()} >= {"semeval2017-4a", "sentiment140", "toy"}


def test_semeval_entry_matches_the_shared_files(home, shared_data):
    sums = dict(
        reversed(line.split("  ")) for line in (shared_data / "SHA256SUMS").read_text().splitlines()
    )
    entry = DATASETS["semeval2017-4a"]
    assert {f.name: f.sha256 for f in entry.files} == sums
    assert all(f.url.endswith("/dataset/Subtask_A/downloaded/" + f.name) for f in entry.files)
    folder = import_local("semeval2017-4a", shared_data)  # verifies all 11 checksums
    assert len(dataset_files("semeval2017-4a")) == 11
    assert dataset_files("semeval2017-4a", "test") == [folder / "twitter-2016test-A.tsv"]
    dev = {p.name for p in dataset_files("semeval2017-4a", "dev")}
    assert dev == {"twitter-2016dev-A.tsv", "twitter-2016devtest-A.tsv"}
    train = {p.name for p in dataset_files("semeval2017-4a", "train")}
    assert len(train) == 10 and "twitter-2016test-A.tsv" not in train and dev <= train
    assert len(dataset_files("semeval2017-4a", "train-nodev")) == 8
    rows = {f["name"]: f["rows"] for f in info("semeval2017-4a")[0]["files"]}
    assert rows == {f.name: f.rows for f in entry.files}
