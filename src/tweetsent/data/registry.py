"""Known public datasets: where they come from, their checksums, and where they live here.

    fetch("semeval2017-4a")                  # download into data_home()/semeval2017-4a/
    import_local("semeval2017-4a", "~/dl/")  # or copy files you downloaded yourself
    dataset_files("semeval2017-4a", "train") # -> list of paths for read_examples
    info()                                   # what is known, present, missing, and where

Datasets live in `data_home()` = $TWEETSENT_DATA, or `cache_root()/data`, one folder each.

Checksums. The SemEval files are pinned by SHA-256 (and their URLs by commit). Sentiment140's
archive has no published checksum and none could be taken when this registry was written
(offline), so its `sha256` is None: the first download or import computes the digests, prints
them and records them in the dataset folder's SHA256SUMS; later downloads (`force=True`) and
imports are checked against those recorded digests (trust on first use). That first copy is
therefore not verified against anything, and it comes over plain http.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tweetsent.data.download import (
    copy_verified,
    download,
    extract_members,
    read_sums,
    remove,
    temp_path,
    write_sums,
)
from tweetsent.errors import DataError
from tweetsent.io import sha256_file
from tweetsent.paths import cache_root


@dataclass(frozen=True)
class DataFile:
    name: str  # file name in the dataset folder
    sha256: str | None  # None: unknown, recorded on first download (see module doc)
    url: str | None = None  # None: the file comes out of the dataset's archive
    rows: int | None = None  # rows expected (informational)


@dataclass(frozen=True)
class Archive:
    name: str
    url: str
    sha256: str | None


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    format: str  # reader format of its files
    files: tuple[DataFile, ...]
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    archive: Archive | None = None
    source: str = ""


_SEMEVAL_BASE = (
    "https://raw.githubusercontent.com/cbaziotis/datastories-semeval2017-task4/"
    "5671b64fde21e61bea49dd5403f5421607d5dc00/dataset/Subtask_A/downloaded/"
)
_SEMEVAL_FILES = (  # name, sha256, rows
    (
        "twitter-2013train-A.tsv",
        "111969d156c516b40bd504fcedcca52bbd44ec24add6f59290eb94df9b9c392c",
        9684,
    ),
    (
        "twitter-2013dev-A.tsv",
        "e402ab2e9bad766275ef5af490e2c3b0edca8236d60e6e69227589186bffd896",
        1654,
    ),
    (
        "twitter-2013test-A.tsv",
        "eb98d2342016eefda22dd563aa1ccde18aed399eeba572d8c963bbc56c196164",
        3547,
    ),
    (
        "twitter-2014test-A.tsv",
        "d6aa09ca41031e3deefb7e5b2f74f53260ab374f993e2275d8e4ccec6b210253",
        1853,
    ),
    (
        "twitter-2014sarcasm-A.tsv",
        "8321459374f88fc32b0b93da76c8740e7a3f30256886dbe9fcebb04b0ae8906f",
        86,
    ),
    (
        "twitter-2015train-A.tsv",
        "29780e613f562a511fa427196503c3f95fea6c0298470e157deab88a0e0ed65e",
        489,
    ),
    (
        "twitter-2015test-A.tsv",
        "54b3481924c025d31ac9669c049603b91035b40e8becd6629fb9476a6d9a62f4",
        2390,
    ),
    (
        "twitter-2016train-A.tsv",
        "f49f65cf5e94b47d077ab7715d3d0a656c09b5c71608678a672d7378ef79c932",
        6000,
    ),
    (
        "twitter-2016dev-A.tsv",
        "47bda81cb91db2bf92222a5f20742b5e3edc14eb391e74b882b284e5afd0c8bb",
        1999,
    ),
    (
        "twitter-2016devtest-A.tsv",
        "c16686ebaa3b61770f4d4d2a60d051715146950faa93e039bb0aefb3523c3b38",
        2000,
    ),
    # 20,632 rows: the last line has no final newline (so `wc -l` says 20,631).
    (
        "twitter-2016test-A.tsv",
        "c90ee3e9cca3c4b019cc45169190c0bcc1c9e2eda938527e31d12040798dc453",
        20632,
    ),
)
_SEMEVAL_TEST = "twitter-2016test-A.tsv"
_SEMEVAL_DEV = ("twitter-2016dev-A.tsv", "twitter-2016devtest-A.tsv")
_S140_TRAIN = "training.1600000.processed.noemoticon.csv"
_S140_TEST = "testdata.manual.2009.06.14.csv"

DATASETS: dict[str, Dataset] = {
    "semeval2017-4a": Dataset(
        name="semeval2017-4a",
        description="SemEval-2017 Task 4 subtask A (English, 3 classes), 2013-2016 releases",
        format="semeval",
        files=tuple(DataFile(n, sha, _SEMEVAL_BASE + n, rows) for n, sha, rows in _SEMEVAL_FILES),
        # `train` includes the dev files, as in the task's protocol (train on everything but
        # the 2016 test set); hold validation rows out of train, or use `train-nodev`.
        splits={
            "train": tuple(n for n, _, _ in _SEMEVAL_FILES if n != _SEMEVAL_TEST),
            "train-nodev": tuple(
                n for n, _, _ in _SEMEVAL_FILES if n != _SEMEVAL_TEST and n not in _SEMEVAL_DEV
            ),
            "dev": _SEMEVAL_DEV,
            "test": (_SEMEVAL_TEST,),
        },
        source="github.com/cbaziotis/datastories-semeval2017-task4 (dataset/Subtask_A/downloaded)",
    ),
    "sentiment140": Dataset(
        name="sentiment140",
        description="Sentiment140 (Go et al. 2009): 1.6M tweets labelled by emoticons "
        "(negative/positive) + 498 hand-labelled test tweets (3 classes)",
        format="sentiment140",
        files=(DataFile(_S140_TRAIN, None, rows=1_600_000), DataFile(_S140_TEST, None, rows=498)),
        splits={"train": (_S140_TRAIN,), "test": (_S140_TEST,)},
        archive=Archive(
            "trainingandtestdata.zip",
            "http://cs.stanford.edu/people/alecmgo/trainingandtestdata.zip",
            None,
        ),
        source="cs.stanford.edu/people/alecmgo (Sentiment140 project)",
    ),
}


def data_home() -> Path:
    """$TWEETSENT_DATA, or cache_root()/data."""
    env = os.environ.get("TWEETSENT_DATA")
    return Path(env).expanduser() if env else cache_root() / "data"


def get_dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def dataset_dir(name: str) -> Path:
    return data_home() / get_dataset(name).name


def fetch(name: str, force: bool = False, progress: bool = True) -> Path:
    """Download the dataset's missing files (all of them with `force`); returns its folder."""
    ds = get_dataset(name)
    folder = dataset_dir(name)
    todo = [f for f in ds.files if force or not (folder / f.name).is_file()]
    if not todo:
        return folder
    sums = read_sums(folder)
    hint = (
        f"; without internet access, download the files elsewhere and import them: "
        f"`tweetsent data import {name} FOLDER` (import_local)"
    )
    if ds.archive is not None:
        arc = ds.archive
        tmp = temp_path(folder, arc.name)
        try:
            sums[arc.name] = download(
                arc.url, tmp, _expected(arc.name, arc.sha256, sums), progress, hint, name=arc.name
            )
            _extract(ds, tmp, folder, sums)
        finally:
            remove(tmp)
    else:
        for f in todo:
            sums[f.name] = download(
                f.url or "", folder / f.name, _expected(f.name, f.sha256, sums), progress, hint
            )
    _write_sums(folder, sums, ds)
    return folder


def import_local(name: str, folder: str | os.PathLike) -> Path:
    """Copy the dataset's files from a local folder (or its archive, if that is there), verify
    their checksums, and return the dataset folder."""
    ds = get_dataset(name)
    source = Path(folder).expanduser()
    if not source.is_dir():
        raise DataError("no such folder", source)
    dest = dataset_dir(name)
    sums = read_sums(dest)
    present = [f for f in ds.files if (source / f.name).is_file()]
    if len(present) < len(ds.files) and ds.archive and (source / ds.archive.name).is_file():
        archive = source / ds.archive.name
        sums[ds.archive.name] = _archive_digest(archive, ds, sums)
        _extract(ds, archive, dest, sums)
    elif len(present) < len(ds.files):
        missing = [f.name for f in ds.files if f not in present]
        also = f" (or {ds.archive.name})" if ds.archive else ""
        raise DataError(
            f"missing {len(missing)} file(s) of {name}{also}: {', '.join(missing)}", source
        )
    else:
        for f in ds.files:
            sums[f.name] = copy_verified(
                source / f.name, dest / f.name, _expected(f.name, f.sha256, sums)
            )
    _write_sums(dest, sums, ds)
    return dest


def _archive_digest(archive: Path, ds: Dataset, sums: dict[str, str]) -> str:
    assert ds.archive is not None
    actual = sha256_file(archive)
    expected = _expected(ds.archive.name, ds.archive.sha256, sums)
    if expected is not None and actual != expected:
        raise DataError(f"checksum mismatch: expected sha256 {expected}, got {actual}", archive)
    return actual


def _extract(ds: Dataset, archive: Path, folder: Path, sums: dict[str, str]) -> None:
    members = {f.name: folder / f.name for f in ds.files}
    known = {f.name: f.sha256 for f in ds.files}
    digests = extract_members(archive, members, lambda n: _expected(n, known[n], sums))
    sums.update(digests)


def _expected(name: str, pinned: str | None, sums: dict[str, str]) -> str | None:
    return pinned or sums.get(name)


def _write_sums(folder: Path, sums: dict[str, str], ds: Dataset) -> None:
    pinned = {f.name for f in ds.files if f.sha256}
    if ds.archive and ds.archive.sha256:
        pinned.add(ds.archive.name)
    write_sums(folder, sums, ds.name, pinned)


def _count_rows(path: Path) -> int:
    """Lines holding something (a missing final newline still counts its line)."""
    rows, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            rows += block.count(b"\n")
            last = block[-1:]
    return rows + (last != b"\n")


def info(name: str | None = None) -> list[dict[str, Any]]:
    """For each dataset (or just `name`): where it lives, and each file's presence and rows."""
    names = [name] if name is not None else list(DATASETS)
    out = []
    for n in names:
        ds = get_dataset(n)
        folder = dataset_dir(n)
        files = []
        for f in ds.files:
            path = folder / f.name
            present = path.is_file()
            files.append(
                {
                    "name": f.name,
                    "present": present,
                    "path": str(path),
                    "bytes": path.stat().st_size if present else None,
                    "rows": _count_rows(path) if present else None,
                    "rows_expected": f.rows,
                    "sha256": f.sha256,
                }
            )
        out.append(
            {
                "name": ds.name,
                "description": ds.description,
                "format": ds.format,
                "where": str(folder),
                "present": all(f["present"] for f in files),
                "missing": [f["name"] for f in files if not f["present"]],
                "splits": sorted(ds.splits),
                "source": ds.source,
                "files": files,
            }
        )
    return out


def dataset_files(name: str, split: str | None = None, check: bool = False) -> list[Path]:
    """Paths of the dataset's files, or of one named split's files, in `data_home()`.

    The paths are returned whether or not the files are there; with `check=True` a missing
    file raises DataError with the fetch/import hint.
    """
    ds = get_dataset(name)
    if split is None:
        names = tuple(f.name for f in ds.files)
    elif split in ds.splits:
        names = ds.splits[split]
    else:
        raise DataError(
            f"dataset {name} has no split {split!r}; splits: {', '.join(sorted(ds.splits))}"
        )
    folder = dataset_dir(name)
    paths = [folder / n for n in names]
    missing = [p.name for p in paths if not p.is_file()]
    if check and missing:
        raise DataError(
            f"dataset {name} is missing {', '.join(missing)}: run fetch "
            f"(`tweetsent data fetch {name}`) or import_local",
            folder,
        )
    return paths
