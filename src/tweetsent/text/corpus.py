"""Tokenize a whole corpus: in parallel across processes, cached on disk.

    token_lists = tokenize_corpus(texts, TextConfig(), workers=0, cache_dir=None)

The cache key is the SHA-256 of (every text, the `TextConfig`, `NORMALIZER_VERSION`), so a
second call with the same texts and settings reads `<cache_dir>/tokens/<key>.npz` instead of
tokenizing. The file holds numbers only (no pickle): the distinct tokens as one UTF-8 blob
with their end offsets, the flat token ids (int32) and each text's start offset. It is written
atomically; an unreadable or inconsistent file counts as a miss and is rewritten.

Workers are processes (`fork` where the platform has it, else the default start method; the
worker function is a top-level function of plain arguments, so spawn works too). Each worker
returns its chunk already encoded as (distinct tokens, int32 ids), which is cheap to send back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import cast

import numpy as np
from tqdm.auto import tqdm

from tweetsent.config import TextConfig
from tweetsent.io import atomic_path
from tweetsent.parallel import FORK, gc_paused, shared, usable_cpus, worker_pool
from tweetsent.paths import cache_root
from tweetsent.text.normalize import NORMALIZER_VERSION, normalizer_for

CACHE_FORMAT = "tweetsent-tokens-1"
PARALLEL_MIN_TEXTS = 20_000  # fewer texts than this are tokenized in-process
_CHUNK_MAX = 20_000
_HASH_BLOCK = 50_000

# A chunk tokenized and encoded: (distinct tokens, their ids per token, token count per text).
Encoded = tuple[list[str], np.ndarray, np.ndarray]


def default_cache_dir() -> Path:
    """$TWEETSENT_CACHE, or ~/.cache/tweetsent (see `tweetsent.paths.cache_root`)."""
    return cache_root()


def corpus_key(texts: Sequence[str], config: TextConfig) -> str:
    """SHA-256 over the texts (lengths + contents), the config and the normalizer version."""
    digest = hashlib.sha256()
    header = {
        "format": CACHE_FORMAT,
        "normalizer": NORMALIZER_VERSION,
        "text": dataclasses.asdict(config),
        "n": len(texts),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for start in range(0, len(texts), _HASH_BLOCK):
        block = texts[start : start + _HASH_BLOCK]
        digest.update(np.fromiter(map(len, block), dtype=np.int64, count=len(block)).tobytes())
        digest.update("".join(block).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def tokenize_corpus(
    texts: Sequence[str],
    config: TextConfig,
    workers: int = 0,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    cache: bool = True,
) -> list[list[str]]:
    """Tokens of every text, in order; equal to `[Normalizer(config).tokenize(t) for t in texts]`.

    workers: processes (0 = every CPU core this process may use); inputs under
    `PARALLEL_MIN_TEXTS` texts are tokenized in-process. cache_dir: None or "" = the default
    (`default_cache_dir()`); `cache=False` neither reads nor writes the on-disk cache.
    """
    texts = texts if isinstance(texts, list) else list(texts)
    if not texts:
        return []
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"texts[{bad}] is {type(texts[bad]).__name__}, not str")
    path = None
    if cache:
        folder = Path(cache_dir) if cache_dir else default_cache_dir()
        path = folder / "tokens" / f"{corpus_key(texts, config)}.npz"
        hit = _load(path, len(texts))
        if hit is not None:
            return _decode(*hit)
    with gc_paused():
        table, ids, lengths = _tokenize_encoded(texts, config, workers, progress)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if path is not None:
        _save(path, table, ids, offsets)
    return _decode(table, ids, offsets)


# -- tokenizing ---------------------------------------------------------------------------------


def _encode_chunk(texts: list[str], config: TextConfig) -> Encoded:
    """Worker: tokenize a chunk and encode it against its own table of distinct tokens."""
    with gc_paused():
        return _encode_chunk_unpaused(texts, config)


def _encode_chunk_unpaused(texts: list[str], config: TextConfig) -> Encoded:
    tokenize = normalizer_for(config).tokenize
    index: dict[str, int] = {}
    get, setdefault = index.get, index.setdefault
    ids: list[int] = []
    lengths: list[int] = []
    for text in texts:
        tokens = tokenize(text)
        lengths.append(len(tokens))
        found = list(map(get, tokens))  # C loop; new tokens (rare once warm) come back None
        if None in found:
            ids += [setdefault(t, len(index)) for t in tokens]
        else:
            ids += cast("list[int]", found)  # no None in it
    return list(index), np.asarray(ids, dtype=np.int32), np.asarray(lengths, dtype=np.int32)


def _tokenize_encoded(
    texts: list[str], config: TextConfig, workers: int, progress: bool
) -> Encoded:
    workers = workers or usable_cpus()
    size = max(1000, min(_CHUNK_MAX, -(-len(texts) // (workers * 4))))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    workers = min(workers, len(chunks)) if len(texts) >= PARALLEL_MIN_TEXTS else 1
    merged = _Merger()
    # The pool is started before the progress bar's thread exists (fork after threads is unsafe);
    # forked workers share the texts and receive only index ranges.
    with worker_pool(workers, shared=texts) as pool:
        bar = tqdm(
            total=len(texts), unit="tweet", desc="tokenize", disable=not progress, leave=False
        )
        try:
            if pool is not None and FORK:
                ranges = [(i, i + size, config) for i in range(0, len(texts), size)]
                results = pool.map(_encode_range, ranges)
            elif pool is not None:
                results = pool.map(_encode_chunk, chunks, repeat(config))
            else:
                results = map(_encode_chunk, chunks, repeat(config))
            for chunk, result in zip(chunks, results, strict=True):
                merged.add(*result)
                bar.update(len(chunk))
        finally:
            bar.close()
    return merged.result()


def _encode_range(args: tuple[int, int, TextConfig]) -> Encoded:
    """Forked worker: the texts come from the parent by inheritance (`parallel.shared`)."""
    start, end, config = args
    return _encode_chunk(shared()[start:end], config)


class _Merger:
    """Joins encoded chunks: one global token table, chunk ids remapped into it."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.ids: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []

    def add(self, table: list[str], ids: np.ndarray, lengths: np.ndarray) -> None:
        setdefault, index = self.index.setdefault, self.index
        remap = np.fromiter(
            (setdefault(t, len(index)) for t in table), dtype=np.int32, count=len(table)
        )
        self.ids.append(remap[ids] if len(ids) else ids)
        self.lengths.append(lengths)

    def result(self) -> Encoded:
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, np.int32)
        return list(self.index), ids.astype(np.int32, copy=False), np.concatenate(self.lengths)


def _decode(table: list[str], ids: np.ndarray, offsets: np.ndarray) -> list[list[str]]:
    """One list of tokens per text; equal tokens are one shared str object."""
    objects = np.empty(len(table), dtype=object)
    objects[:] = table
    with gc_paused():
        flat = objects[ids].tolist()
        bounds = offsets.tolist()
        return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# -- the on-disk cache ------------------------------------------------------------------------


def _save(path: Path, table: list[str], ids: np.ndarray, offsets: np.ndarray) -> None:
    blob = "".join(table).encode("utf-8", "surrogatepass")
    ends = np.cumsum(np.fromiter(map(len, table), dtype=np.int64, count=len(table)))
    meta = json.dumps({"format": CACHE_FORMAT, "normalizer": NORMALIZER_VERSION}).encode()
    try:
        with atomic_path(path) as tmp:
            np.savez(
                tmp,
                meta=np.frombuffer(meta, np.uint8),
                blob=np.frombuffer(blob, np.uint8),
                ends=ends,
                ids=ids,
                offsets=offsets,
            )
    except OSError as exc:
        warnings.warn(f"{path}: could not write the token cache ({exc})", stacklevel=3)


def _load(path: Path, n_texts: int) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """The cached (table, ids, offsets), or None if absent, unreadable or inconsistent."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes())
            text = npz["blob"].tobytes().decode("utf-8", "surrogatepass")
            ends, ids, offsets = npz["ends"], npz["ids"], npz["offsets"]
        _check(meta, text, ends, ids, offsets, n_texts)
    except (OSError, ValueError, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        warnings.warn(f"{path}: ignoring a bad token cache file ({exc})", stacklevel=3)
        return None
    bounds = [0, *ends.tolist()]
    table = [text[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return table, ids, offsets


def _check(
    meta: dict, text: str, ends: np.ndarray, ids: np.ndarray, offsets: np.ndarray, n_texts: int
) -> None:
    if meta.get("format") != CACHE_FORMAT or meta.get("normalizer") != NORMALIZER_VERSION:
        raise ValueError(f"written by another version ({meta})")
    if offsets.shape != (n_texts + 1,) or offsets[0] != 0 or offsets[-1] != len(ids):
        raise ValueError("offsets do not match the texts")
    if len(offsets) > 1 and np.any(np.diff(offsets) < 0):
        raise ValueError("offsets are not increasing")
    if len(ends) and (ends[-1] != len(text) or np.any(np.diff(ends) <= 0) or ends[0] <= 0):
        raise ValueError("token table is inconsistent")
    if len(ids) and (ids.min() < 0 or ids.max() >= len(ends)):
        raise ValueError("token ids out of range")
