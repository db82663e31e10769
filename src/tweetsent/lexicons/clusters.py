"""Twitter word clusters (CMU ARK): word -> Brown-cluster bit-string.

    clusters = load_clusters("50mpaths2.txt.gz")   # {'lol': '11111...', ...}
    table = cluster_table(clusters)                # sorted distinct bit-strings
    cluster_id = table.index(clusters[word]) + 1   # 0 is reserved for "no cluster"

Owoputi, O'Connor, Dyer, Gimpel, Schneider and Smith 2013, "Improved Part-of-Speech Tagging
for Online Conversational Text with Word Clusters": Brown clustering of 56M English tweets into
1,000 clusters of 216,856 words (`50mpaths2`). A word's cluster is the path to its leaf in the
binary merge tree, so bit-string prefixes are coarser clusters. Mohammad et al. 2013
(NRC-Canada) used the presence of each of the 1,000 clusters in a tweet as a feature.

File format, one word a line: `bit-string TAB word TAB count` (count = the word's frequency in
the clustered tweets), UTF-8, gzip read transparently. Words are kept as written; the first
line of a word wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from tweetsent.errors import DataError
from tweetsent.lexicons.textfile import read_lines

_EXPECTED = "expected 'bit-string TAB word TAB count'"
_BITS = frozenset("01")


def load_clusters(path: str | os.PathLike) -> dict[str, str]:
    """word -> cluster bit-string. Raises `DataError(message, path, line)` on a missing or
    unreadable file, a malformed line or a file without entries."""
    clusters: dict[str, str] = {}
    valid: set[str] = set()  # bit-strings already checked (1,000 clusters, 216,856 lines)
    for number, text in enumerate(read_lines(path), 1):
        if not text.strip():
            continue
        parts = text.split("\t")
        if len(parts) != 3 or not parts[1]:
            raise DataError(_EXPECTED, path, number)
        bits, word, count = parts
        if bits not in valid:
            if not bits or not _BITS.issuperset(bits):
                message = f"{_EXPECTED} (cluster {bits!r} is not a bit-string)"
                raise DataError(message, path, number)
            valid.add(bits)
        if not count.isdigit():
            raise DataError(f"{_EXPECTED} (count {count!r} is not a whole number)", path, number)
        clusters.setdefault(word, bits)
    if not clusters:
        raise DataError("the cluster file has no entries", path)
    return clusters


def cluster_table(clusters: Mapping[str, str]) -> list[str]:
    """The distinct bit-strings, sorted; a cluster's id is its index + 1 (0 = no cluster)."""
    return sorted(set(clusters.values()))
