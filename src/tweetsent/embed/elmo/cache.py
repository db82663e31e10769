"""Compute a corpus's ELMo features once: the work behind `tweetsent elmo cache`.

    store = FeatureStore.open(store_root(config), source, bilm.num_output_layers, bilm.output_dim)
    summary = build_cache(bilm, store, token_lists, shard=(0, 1))   # resumable; prints a plan

Only tweets not yet in the store are computed (so a killed run resumes where its last
committed chunk ended, and a second corpus reuses the tweets it shares with the first). They
are sorted by length (longest first, to meet memory limits at once), cut into chunks of about
`chunk_bytes` of float16, and each chunk into batches of `batch_size` tweets of similar length.
`shard=(i, n)` keeps the tweets whose key falls in shard i of n (0-based), so n processes,
GPUs or machines can split a corpus: shards are disjoint and their union is the corpus.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from tweetsent.config import RunConfig
from tweetsent.embed.elmo.bilm import ElmoBiLm
from tweetsent.embed.elmo.embedder import ElmoEmbedder, bilm_features
from tweetsent.embed.elmo.store import FeatureStore, text_keys
from tweetsent.errors import ConfigError
from tweetsent.paths import cache_root

CHUNK_BYTES = 64 << 20


def store_root(config: RunConfig) -> Path:
    """embed.elmo_cache_dir, else data.cache_dir, else the cache root."""
    return Path(config.embed.elmo_cache_dir or config.data.cache_dir or cache_root())


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' (0 <= i < n) -> (i, n)."""
    index, _, count = text.partition("/")
    try:
        shard = (int(index), int(count))
    except ValueError:
        shard = (-1, 0)
    if not 0 <= shard[0] < shard[1]:
        raise ConfigError(f"--shard {text!r}: expected i/n with 0 <= i < n, e.g. 0/4")
    return shard


def shard_mask(keys: np.ndarray, shard: tuple[int, int]) -> np.ndarray:
    """(n,) bool: which keys belong to shard i of n (by their first 8 bytes)."""
    index, count = shard
    if len(keys) == 0:
        return np.zeros(0, dtype=bool)
    head = np.frombuffer(keys.astype("S16").tobytes(), dtype=">u8").reshape(-1, 2)[:, 0]
    return head % np.uint64(count) == np.uint64(index)


@dataclass
class CachePlan:
    folder: Path
    shard: tuple[int, int]
    tweets: int  # distinct cleaned tweets in this shard
    cached: int  # of which already in the store
    todo_tokens: int
    bytes_per_token: int

    @property
    def todo(self) -> int:
        return self.tweets - self.cached

    @property
    def todo_bytes(self) -> int:
        return self.todo_tokens * self.bytes_per_token

    @property
    def name(self) -> str:
        """ "transformer cache" for a transformer's folder (`tf-` key), else "elmo cache"."""
        return "transformer cache" if self.folder.name.startswith("tf-") else "elmo cache"

    def describe(self) -> str:
        part = f" (shard {self.shard[0]}/{self.shard[1]})" if self.shard[1] > 1 else ""
        return (
            f"{self.name}{part}: {self.tweets:,} distinct tweets, {self.cached:,} already "
            f"cached, {self.todo:,} to compute ({self.todo_tokens:,} tokens): about "
            f"{_size(self.todo_bytes)} of float16 in {self.folder}"
        )


@dataclass
class CacheSummary:
    plan: CachePlan
    computed: int
    chunks: int
    seconds: float


def plan_cache(
    store: FeatureStore, token_lists: Sequence[Sequence[str]], shard: tuple[int, int] = (0, 1)
) -> tuple[CachePlan, np.ndarray]:
    """What building would do, and the corpus rows still to compute (one per distinct key)."""
    keys = text_keys(token_lists)
    _, first = np.unique(keys, return_index=True)
    first = first[shard_mask(keys[first], shard)]
    todo = first[~store.contains(keys[first])]
    lengths = np.fromiter((len(token_lists[i]) for i in todo), dtype=np.int64, count=len(todo))
    plan = CachePlan(
        store.folder,
        shard,
        len(first),
        len(first) - len(todo),
        int(lengths.sum()),
        store.bytes_per_token,
    )
    return plan, todo[np.argsort(-lengths, kind="stable")]


def build_cache(
    bilm: ElmoBiLm,
    store: FeatureStore,
    token_lists: Sequence[Sequence[str]],
    *,
    shard: tuple[int, int] = (0, 1),
    batch_size: int = 64,
    chunk_bytes: int = CHUNK_BYTES,
    progress: bool = True,
    log: Callable[[str], Any] = print,
) -> CacheSummary:
    """Compute and store the features of every tweet of `token_lists` not yet cached."""
    if batch_size < 1:
        raise ConfigError(f"batch_size: {batch_size} must be >= 1")
    started = time.perf_counter()
    prefix = f"s{shard[0]}of{shard[1]}-"
    store.remove_uncommitted(prefix)
    plan, todo = plan_cache(store, token_lists, shard)
    log(plan.describe())
    chunks = _chunks(todo, token_lists, max(chunk_bytes // store.bytes_per_token, 1))
    bar = tqdm(total=len(todo), unit="tweet", desc=plan.name, disable=not progress)
    with bar:
        for rows in chunks:
            words = [token_lists[i] for i in rows]
            data = _compute(bilm, words, batch_size, bar)  # (tokens, L, D) float16
            keys = text_keys(words)
            name = prefix + hashlib.sha256(keys.tobytes()).hexdigest()[:16]
            lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
            store.write_chunk(name, keys, lengths, data)
    return CacheSummary(plan, len(todo), len(chunks), time.perf_counter() - started)


def cache_features(
    embedder: ElmoEmbedder,
    root: str | Path,
    token_lists: Sequence[Sequence[str]],
    progress: bool = True,
    log: Callable[[str], Any] = print,
) -> tuple[FeatureStore, CacheSummary]:
    """The feature store of the embedder's biLM under `root`, with every tweet of
    `token_lists` cached (computed where the embedder is: call after moving it)."""
    bilm = embedder.bilm
    if embedder.source is None:
        raise ValueError("caching features needs the embedder's source: its files key the cache")
    store = FeatureStore.open(root, embedder.source, bilm.num_output_layers, bilm.output_dim)
    return store, build_cache(bilm, store, token_lists, progress=progress, log=log)


def _chunks(
    rows: np.ndarray, token_lists: Sequence[Sequence[str]], max_tokens: int
) -> list[np.ndarray]:
    """Consecutive runs of `rows` holding at most `max_tokens` tokens (at least one tweet)."""
    out, start, tokens = [], 0, 0
    for end, i in enumerate(rows):
        size = len(token_lists[i])
        if end > start and tokens + size > max_tokens:
            out.append(rows[start:end])
            start, tokens = end, 0
        tokens += size
    if start < len(rows):
        out.append(rows[start:])
    return out


def encoder_features(encoder: Any, words: list) -> Any:
    """A batch's features from a biLM (`bilm_features`) or from any encoder with its own
    `features(words)` (a transformer's `PieceEncoder`): the cache stores either alike."""
    if hasattr(encoder, "features"):
        return encoder.features(words)
    return bilm_features(encoder, words)


def _compute(bilm: ElmoBiLm, words: list, batch_size: int, bar: tqdm) -> np.ndarray:
    """Every token's layers, tweet after tweet: (total tokens, L, D) float16."""
    parts = []
    with torch.inference_mode():
        for start in range(0, len(words), batch_size):
            batch = encoder_features(bilm, words[start : start + batch_size])
            rows = batch.layers.permute(1, 2, 0, 3)[batch.mask]  # (tokens, L, D), row order
            parts.append(rows.cpu().numpy())
            bar.update(min(batch_size, len(words) - start))
    if not parts:
        return np.zeros((0, bilm.num_output_layers, bilm.output_dim), dtype=np.float16)
    return np.concatenate(parts)


def cache_corpus(
    config: RunConfig,
    *,
    shard: tuple[int, int] = (0, 1),
    batch_size: int = 64,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], Any] = print,
) -> CacheSummary:
    """Cache the features of every tweet training with `config` would read (train + valid,
    cleaned with config.text): what `tweetsent elmo cache` runs."""
    from tweetsent.embed.elmo.source import resolve_source

    if config.embed.kind != "elmo":
        raise ConfigError("embed.kind: 'elmo' is needed to cache ELMo features")
    source = resolve_source(config.embed)
    return cache_prepared(
        config, source, source.load, shard, batch_size, device, progress=progress, log=log
    )


def cache_prepared(
    config: RunConfig,
    source: Any,
    load: Callable[[], Any],
    shard: tuple[int, int],
    batch_size: int,
    device: str,
    progress: bool = True,
    log: Callable[[str], Any] = print,
) -> CacheSummary:
    """The features of the train + valid tweets of `config` (`data.prepare`) into the store of
    `source` (an `ElmoSource` or a transformer's), computed by the encoder `load()` returns
    (a biLM, or anything with `features(words)`) on `device`: shared by `elmo cache` and
    `transformer cache`."""
    from tweetsent.data.prepare import prepare

    prepared = prepare(config, progress=progress)
    encoder = load().to(device)
    layers, dim = encoder.num_output_layers, encoder.output_dim
    store = FeatureStore.open(store_root(config), source, layers, dim)
    words = list(prepared.train.words or []) + list(prepared.valid.words or [])
    return build_cache(
        encoder, store, words, shard=shard, batch_size=batch_size, progress=progress, log=log
    )


def _size(num_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1000 or unit == "GB":
            break
        num_bytes /= 1000
    return f"{num_bytes:,.1f} {unit}"
