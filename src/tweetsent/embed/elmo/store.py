"""The ELMo feature cache on disk: every biLM layer of every token, float16, memory-mapped.

    <root>/elmo-features/<model key>/          one folder per exact biLM (`ElmoSource.key`)
        model.json                              the files' checksums, layers, dim, format
        <chunk>.f16.npy                         (rows, L, D) float16, one row per token
        <chunk>.index.npz                       keys (n,), lengths (n,) of its tweets, row order

A tweet's key is the SHA-256 (first 16 bytes) of what the biLM reads for it (`text_keys`: its
cleaned tokens, or its raw pieces, token index and `embed.elmo_input`); the folder names the
model, so an entry is keyed by the exact model and input, and equal tweets share one entry.
A chunk's index is written (atomically) after its data file, so the index is the chunk's
commit marker: a process killed mid-chunk leaves at most a data file without an index, which
is ignored and later removed, and a rerun computes exactly the tweets not yet committed.
Processes working on different shards can share a folder; folders filled elsewhere are merged
by copying their chunks (`merge_stores`). Nothing is pickled: `.npy`/`.npz` of numbers and
fixed-width bytes, loaded with `allow_pickle=False`.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.data.features import FeatureRows
from tweetsent.embed.elmo.source import ElmoSource
from tweetsent.errors import DataError
from tweetsent.io import atomic_path, atomic_write, read_json, write_json
from tweetsent.text.align import ElmoInput

FORMAT = "tweetsent-elmo-features-1"
SUBDIR = "elmo-features"
KEY_DTYPE = "S16"
DATA, INDEX = ".f16.npy", ".index.npz"


def text_keys(token_lists: Sequence[Sequence[str] | ElmoInput]) -> np.ndarray:
    """(n,) keys of what the biLM reads, first 16 bytes of a sha256: for a token list (the
    cleaned tokens, `embed.elmo_input = "cleaned"`) of the token count and the tokens,
    newline-joined (whitespace never occurs inside a token), as before that setting existed;
    for an `ElmoInput` of its mode, pieces and index (never equal to a token list's text,
    which starts with a digit)."""
    digests = []
    for tokens in token_lists:
        if isinstance(tokens, ElmoInput):
            index = " ".join(map(str, tokens.index))
            text = f"{tokens.mode}\n{len(tokens.pieces)}\n{index}\n" + "\n".join(tokens.pieces)
        else:
            text = f"{len(tokens)}\n" + "\n".join(tokens)
        digests.append(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16])
    return np.frombuffer(b"".join(digests), dtype=KEY_DTYPE).copy()


class FeatureStore:
    """One model's folder of cached features: lookup by key, chunk writing."""

    def __init__(self, folder: Path, num_layers: int, dim: int) -> None:
        self.folder = folder
        self.num_layers = num_layers
        self.dim = dim
        self._dirty = True
        self._arrays: dict[int, np.ndarray] = {}

    @classmethod
    def open(cls, root: str | Path, source: ElmoSource, num_layers: int, dim: int) -> FeatureStore:
        """The folder of `source`'s model under `root`, created on first use."""
        folder = Path(root) / SUBDIR / source.key
        info = {"format": FORMAT, "key": source.key, "num_layers": num_layers, "dim": dim}
        if (folder / "model.json").is_file():
            _check_model(folder, info)
        else:
            write_json(folder / "model.json", {**info, "source": source.to_meta()})
        return cls(folder, num_layers, dim)

    @property
    def bytes_per_token(self) -> int:
        return self.num_layers * self.dim * 2

    def chunk_names(self) -> list[str]:
        return sorted(p.name[: -len(INDEX)] for p in self.folder.glob(f"*{INDEX}"))

    def _refresh(self) -> None:
        names = self.chunk_names()
        keys, lengths, chunks, starts = [], [], [], []
        for number, name in enumerate(names):
            k, n = _read_index(self.folder / f"{name}{INDEX}")
            keys.append(k)
            lengths.append(n)
            chunks.append(np.full(len(k), number, dtype=np.int64))
            starts.append(np.cumsum(n) - n)
        self._names, self._rows = names, [int(n.sum()) for n in lengths]
        self._arrays, self._dirty = {}, False
        if not names:
            self._keys = np.zeros(0, dtype=KEY_DTYPE)
            self._chunk = self._start = self._length = np.zeros(0, dtype=np.int64)
            return
        self._keys, first = np.unique(np.concatenate(keys), return_index=True)  # first copy wins
        self._chunk = np.concatenate(chunks)[first]
        self._start = np.concatenate(starts)[first]
        self._length = np.concatenate(lengths)[first]

    def __len__(self) -> int:
        if self._dirty:
            self._refresh()
        return len(self._keys)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """(n,) bool: which keys are cached."""
        return self._find(keys)[1]

    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._dirty:
            self._refresh()
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, max(len(self._keys) - 1, 0))
        found = self._keys[pos] == keys if len(self._keys) else np.zeros(len(keys), dtype=bool)
        return pos, np.asarray(found, dtype=bool)

    def rows(self, keys: np.ndarray) -> FeatureRows:
        """Memory-mapped features of these tweets (all must be cached)."""
        pos, found = self._find(keys)
        if not found.all():
            missing = int((~found).sum())
            raise DataError(f"{missing} of {len(keys)} tweets are not cached", self.folder)
        chunk = self._chunk[pos]
        used = np.unique(chunk)
        remap = np.zeros(len(self._names), dtype=np.int64)
        remap[used] = np.arange(len(used))
        arrays = [self._array(int(c)) for c in used]
        if not arrays:
            arrays = [np.zeros((0, self.num_layers, self.dim), dtype=np.float16)]
        return FeatureRows(arrays, remap[chunk], self._start[pos], self._length[pos])

    def _array(self, number: int) -> np.ndarray:
        if number not in self._arrays:
            path = self.folder / f"{self._names[number]}{DATA}"
            self._arrays[number] = _open_data(path, self._rows[number], self)
        return self._arrays[number]

    def write_chunk(self, name: str, keys: np.ndarray, lengths: np.ndarray, data: np.ndarray):
        """Commit one chunk: data (sum(lengths), L, D) float16 first, then its index."""
        if data.shape != (int(lengths.sum()), self.num_layers, self.dim):
            raise ValueError(f"chunk data {data.shape} does not match its index")
        with atomic_write(self.folder / f"{name}{DATA}", "wb") as handle:
            np.save(handle, np.ascontiguousarray(data, dtype=np.float16), allow_pickle=False)
        with atomic_write(self.folder / f"{name}{INDEX}", "wb") as handle:
            np.savez(handle, keys=keys.astype(KEY_DTYPE), lengths=lengths.astype(np.int64))
        self._dirty = True

    def remove_uncommitted(self, prefix: str) -> int:
        """Delete data files (and temporary files) starting with `prefix` that have no index:
        what a killed writer of that shard left. Returns how many were removed."""
        committed = set(self.chunk_names())
        removed = 0
        for path in self.folder.glob(f"{prefix}*{DATA}"):
            if path.name[: -len(DATA)] not in committed:
                path.unlink(missing_ok=True)
                removed += 1
        for path in self.folder.glob(f".{prefix}*"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed


def _check_model(folder: Path, info: dict[str, Any]) -> None:
    try:
        saved = read_json(folder / "model.json")
    except ValueError as exc:
        path = folder / "model.json"
        raise DataError(f"unreadable feature cache description ({exc})", path) from None
    for field, value in info.items():
        if saved.get(field) != value:
            raise DataError(
                f"feature cache {field} is {saved.get(field)!r}, expected {value!r}",
                folder / "model.json",
            )


def _read_index(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as index:
            keys, lengths = index["keys"], index["lengths"]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"unreadable feature cache index ({exc}); delete it", path) from None
    if keys.dtype != np.dtype(KEY_DTYPE) or keys.shape != lengths.shape:
        raise DataError("feature cache index has the wrong layout; delete it", path)
    return keys, lengths.astype(np.int64)


def _open_data(path: Path, rows: int, store: FeatureStore) -> np.ndarray:
    shape = (rows, store.num_layers, store.dim)
    if rows == 0:
        return np.zeros(shape, dtype=np.float16)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable feature cache chunk ({exc}); delete it", path) from None
    if array.dtype != np.float16 or array.shape != shape:
        raise DataError(
            f"feature cache chunk is {array.dtype} {array.shape}, expected float16 {shape}", path
        )
    return array


def merge_stores(sources: Sequence[str | Path], dest_root: str | Path) -> int:
    """Copy the chunks of cache roots `sources` (e.g. shards computed on other machines) into
    `dest_root`, model by model; chunks already there are skipped. Returns chunks copied."""
    copied = 0
    for source in sources:
        base = Path(source) / SUBDIR
        if not base.is_dir():
            raise DataError(f"no {SUBDIR} folder: not a tweetsent cache root", source)
        for folder in sorted(p for p in base.iterdir() if (p / "model.json").is_file()):
            dest = Path(dest_root) / SUBDIR / folder.name
            info = read_json(folder / "model.json")
            if (dest / "model.json").is_file():
                _check_model(dest, {k: info[k] for k in ("format", "key", "num_layers", "dim")})
            else:
                write_json(dest / "model.json", info)
            have = {p.name for p in dest.glob(f"*{INDEX}")}
            for index in sorted(folder.glob(f"*{INDEX}")):
                if index.name in have:
                    continue
                data = index.with_name(index.name[: -len(INDEX)] + DATA)
                for src in (data, index):  # data first: the index commits the chunk
                    with atomic_path(dest / src.name) as tmp:
                        shutil.copyfile(src, tmp)
                copied += 1
    return copied
