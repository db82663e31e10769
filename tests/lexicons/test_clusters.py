"""CMU Twitter word clusters (Owoputi et al. 2013): reading, first-wins, the id table, errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tweetsent.errors import DataError
from tweetsent.lexicons import cluster_table, load_clusters


def _write(path: Path, text: str) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def test_clusters_from_gzip(tmp_path):
    text = "0000\tlol\t40\n0000\tlmao\t41\n\n01\t:)\t900\n111\t#win\t7\n0000\t:)\t3\n"
    clusters = load_clusters(_write(tmp_path / "50mpaths2.txt.gz", text))
    # words kept as written; the first line of a word wins
    assert clusters == {"lol": "0000", "lmao": "0000", ":)": "01", "#win": "111"}
    assert cluster_table(clusters) == ["0000", "01", "111"]  # id = index + 1, 0 = no cluster
    assert load_clusters(str(_write(tmp_path / "plain.txt", text))) == clusters


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("0\ta\t1\n1\tb\n", 2, "expected 'bit-string TAB word TAB count'"),
        ("0\ta\t1\n\n012\tb\t1\n", 3, "cluster '012' is not a bit-string"),
        ("0\ta\t1\n1\tb\tmany\n", 2, "count 'many' is not a whole number"),
        ("\ta\t1\n", 1, "cluster '' is not a bit-string"),
        ("0\t\t1\n", 1, "expected 'bit-string TAB word TAB count'"),
    ],
)
def test_malformed_cluster_line(tmp_path, text, line, message):
    with pytest.raises(DataError) as info:
        load_clusters(_write(tmp_path / "paths.txt", text))
    assert f"paths.txt:{line}: " in str(info.value)
    assert message in str(info.value)


def test_missing_and_empty_cluster_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_clusters(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="no entries"):
        load_clusters(_write(tmp_path / "empty.txt", "\n"))
