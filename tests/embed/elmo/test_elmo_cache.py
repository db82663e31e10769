"""The ELMo feature cache: keys, chunks, resuming after a kill, shards, merging, reading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tweetsent.embed.elmo import (
    ElmoSource,
    FeatureStore,
    batch_to_ids,
    bilm_features,
    build_cache,
    load_bilm,
    merge_stores,
    parse_shard,
    plan_cache,
    text_keys,
)
from tweetsent.embed.elmo.cache import shard_mask
from tweetsent.errors import ConfigError, DataError

WORDS = [
    ["what", "a", "day", ":)"],
    [],
    ["ok"],
    ["café", "🙂", "x"],
    ["#tbt", "@you", "so", "gooood", "lol", "<url>"],
    ["ok"],  # a duplicate: one entry
] + [[f"w{i}", "the", "end"] * (1 + i % 4) for i in range(30)]


def open_store(root: Path, files: tuple[Path, Path]) -> tuple[FeatureStore, torch.nn.Module]:
    source = ElmoSource.from_files(*files)
    bilm = load_bilm(*files)
    return FeatureStore.open(root, source, bilm.num_output_layers, bilm.output_dim), bilm


def quiet(*_args) -> None:
    pass


def all_rows(store: FeatureStore, words) -> list[np.ndarray]:
    rows = store.rows(text_keys(words))
    return [np.array(rows.rows(i)) for i in range(len(words))]


def assert_same_features(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    """Equal to float16 rounding: float32 results of the biLM vary in the last bits with the
    batch a tweet is computed in, which occasionally moves a value to the next float16."""
    flips = 0
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype == np.float16
        diff = np.abs(a.astype(np.float32) - b.astype(np.float32))
        assert np.all(diff <= np.spacing(np.abs(b))), "more than one float16 step apart"
        flips += int((diff > 0).sum())
    assert flips <= 0.01 * sum(b.size for b in want)


def test_text_keys_depend_on_the_exact_tokens() -> None:
    keys = text_keys([["a", "b"], ["a b"], ["ab"], [], [""], ["a", "b"]])
    assert keys.dtype == np.dtype("S16") and len(set(keys.tolist())) == 5
    assert keys[0] == keys[5]


def test_store_key_changes_with_the_model(tmp_path: Path, make_model) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = ElmoSource.from_files(*make_model(tmp_path / "a", seed=0))
    second = ElmoSource.from_files(*make_model(tmp_path / "b", seed=1))
    again = ElmoSource.from_files(*make_model(tmp_path / "a", seed=0))
    assert first.key != second.key
    assert first.key == again.key  # same bytes, same key
    store_a = FeatureStore.open(tmp_path / "c", first, 3, 16)
    store_b = FeatureStore.open(tmp_path / "c", second, 3, 16)
    assert store_a.folder != store_b.folder
    with pytest.raises(DataError, match="num_layers"):
        FeatureStore.open(tmp_path / "c", first, 4, 16)


def test_cached_features_equal_on_the_fly_features(tmp_path: Path, tiny_files) -> None:
    store, bilm = open_store(tmp_path / "cache", tiny_files)
    summary = build_cache(bilm, store, WORDS, batch_size=4, progress=False, log=quiet)
    assert summary.computed == len(WORDS) - 1  # the duplicate is computed once
    cached = all_rows(store, WORDS)
    # On the fly, in other batches (one, all, reversed): equal to float16 rounding.
    for batch in ([WORDS[3]], WORDS, WORDS[::-1]):
        fresh = bilm_features(bilm, batch)
        assert fresh.layers.dtype == torch.float16
        live = [
            fresh.layers[:, row, : len(words)].permute(1, 0, 2).numpy()  # (n, L, D)
            for row, words in enumerate(batch)
        ]
        assert_same_features(live, [cached[WORDS.index(words)] for words in batch])
    # and against the float32 biLM itself: only the float16 rounding is lost
    exact = bilm(batch_to_ids(WORDS[:1]))
    full = exact.layers[:, 0, :4].permute(1, 0, 2).numpy()
    assert np.abs(full - cached[0].astype(np.float32)).max() <= np.abs(full).max() * 2**-10


def test_second_build_computes_nothing_and_new_text_only(tmp_path: Path, tiny_files) -> None:
    store, bilm = open_store(tmp_path / "cache", tiny_files)
    build_cache(bilm, store, WORDS, progress=False, log=quiet)
    lines = []
    again = build_cache(bilm, store, WORDS + [["brand", "new"]], progress=False, log=lines.append)
    assert again.computed == 1
    assert "1 to compute (2 tokens): about 192.0 B of float16" in lines[0]


def test_resumes_after_a_kill_mid_corpus(tmp_path: Path, tiny_files, monkeypatch) -> None:
    store, bilm = open_store(tmp_path / "full", tiny_files)
    build_cache(bilm, store, WORDS, progress=False, log=quiet)
    expected = all_rows(store, WORDS)

    killed, _ = open_store(tmp_path / "killed", tiny_files)
    writes = []
    original = FeatureStore.write_chunk

    def dying_write(self, name, keys, lengths, data):
        if len(writes) == 2:  # killed while writing the third chunk: data file, no index
            np.save(self.folder / f"{name}.f16.npy", data[:3])
            raise KeyboardInterrupt
        writes.append(name)
        original(self, name, keys, lengths, data)

    monkeypatch.setattr(FeatureStore, "write_chunk", dying_write)
    chunk_bytes = 20 * killed.bytes_per_token  # about 20 tokens a chunk
    with pytest.raises(KeyboardInterrupt):
        build_cache(bilm, killed, WORDS, chunk_bytes=chunk_bytes, progress=False, log=quiet)
    monkeypatch.undo()
    assert len(killed.chunk_names()) == 2
    assert len(list(killed.folder.glob("*.f16.npy"))) == 3  # one uncommitted
    plan, _ = plan_cache(killed, WORDS)
    assert 0 < plan.cached < plan.tweets
    resumed = build_cache(bilm, killed, WORDS, chunk_bytes=chunk_bytes, progress=False, log=quiet)
    assert resumed.computed == plan.todo
    assert len(list(killed.folder.glob("*.f16.npy"))) == len(killed.chunk_names())
    assert_same_features(all_rows(killed, WORDS), expected)


_KILL_SCRIPT = """
import sys, time
import torch
from tweetsent.embed.elmo import ElmoSource, FeatureStore, build_cache, load_bilm
from tweetsent.embed.elmo import store as store_module
torch.set_num_threads(1)
words = [line.split() for line in open(sys.argv[3], encoding="utf-8").read().splitlines()]
source, bilm = ElmoSource.from_files(sys.argv[1], sys.argv[2]), load_bilm(sys.argv[1], sys.argv[2])
store = FeatureStore.open(sys.argv[4], source, bilm.num_output_layers, bilm.output_dim)
write = FeatureStore.write_chunk
def slow_write(self, *args):
    write(self, *args)
    time.sleep(0.5)
FeatureStore.write_chunk = slow_write
build_cache(bilm, store, words, chunk_bytes=20 * store.bytes_per_token, progress=False)
"""


def test_resumes_after_sigkill_of_a_real_process(tmp_path: Path, tiny_files) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(w) for w in WORDS if w), encoding="utf-8")
    words = [w for w in WORDS if w]
    root = tmp_path / "cache"
    args = [sys.executable, "-c", _KILL_SCRIPT, *map(str, tiny_files), str(corpus), str(root)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(root.glob("elmo-features/*/*.index.npz")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    store, bilm = open_store(root, tiny_files)
    plan, _ = plan_cache(store, words)
    assert 0 < plan.cached < plan.tweets  # killed part way
    build_cache(bilm, store, words, progress=False, log=quiet)
    reference, _ = open_store(tmp_path / "reference", tiny_files)
    build_cache(bilm, reference, words, progress=False, log=quiet)
    assert_same_features(all_rows(store, words), all_rows(reference, words))


def test_shards_are_disjoint_and_their_union_is_the_corpus(tmp_path: Path, tiny_files) -> None:
    keys = text_keys(WORDS)
    masks = [shard_mask(keys, (i, 3)) for i in range(3)]
    assert (np.sum(masks, axis=0) == 1).all() and all(m.any() for m in masks)
    full, bilm = open_store(tmp_path / "full", tiny_files)
    build_cache(bilm, full, WORDS, progress=False, log=quiet)
    roots = [tmp_path / f"machine{i}" for i in range(3)]
    counts = []
    for i, root in enumerate(roots):
        store, _ = open_store(root, tiny_files)
        counts.append(
            build_cache(bilm, store, WORDS, shard=(i, 3), progress=False, log=quiet).computed
        )
        with pytest.raises(DataError, match="not cached"):
            store.rows(keys)  # one shard alone is not the corpus
    assert sum(counts) == len(full)
    assert merge_stores(roots, tmp_path / "merged") == 3
    assert merge_stores(roots, tmp_path / "merged") == 0  # already there
    merged, _ = open_store(tmp_path / "merged", tiny_files)
    assert len(merged) == len(full)
    assert_same_features(all_rows(merged, WORDS), all_rows(full, WORDS))
    # Shards can also share one folder (processes or GPUs of one machine).
    shared, _ = open_store(tmp_path / "shared", tiny_files)
    for i in range(3):
        build_cache(bilm, shared, WORDS, shard=(i, 3), progress=False, log=quiet)
    assert plan_cache(shared, WORDS)[0].todo == 0


def test_feature_rows_pad_a_batch(tmp_path: Path, tiny_files) -> None:
    store, bilm = open_store(tmp_path / "cache", tiny_files)
    build_cache(bilm, store, WORDS, progress=False, log=quiet)
    rows = store.rows(text_keys(WORDS))
    assert isinstance(rows.arrays[0], np.memmap)
    batch = rows.batch(np.array([4, 1, 2]))
    assert batch.layers.shape == (3, 3, 6, 16) and batch.layers.dtype == torch.float16
    assert batch.mask.sum(dim=1).tolist() == [6, 0, 1]
    assert not batch.layers[:, 1].any() and not batch.layers[:, 2, 1:].any()
    want = torch.from_numpy(np.array(rows.rows(4))).permute(1, 0, 2)
    assert torch.equal(batch.layers[:, 0], want)
    assert rows.batch(np.array([1])).layers.shape == (3, 1, 1, 16)  # empty tweet: one column


def test_damaged_chunks_are_clear_errors(tmp_path: Path, tiny_files) -> None:
    store, bilm = open_store(tmp_path / "cache", tiny_files)
    build_cache(bilm, store, WORDS, progress=False, log=quiet)
    data = next(store.folder.glob("*.f16.npy"))
    np.save(data, np.zeros((3, 3, 16), dtype=np.float32))
    with pytest.raises(DataError, match="expected float16"):
        store.rows(text_keys(WORDS))
    index = next(store.folder.glob("*.index.npz"))
    index.write_bytes(b"not a zip")
    store = open_store(tmp_path / "cache", tiny_files)[0]
    with pytest.raises(DataError, match="unreadable feature cache index"):
        len(store)


def test_parse_shard() -> None:
    assert parse_shard("0/1") == (0, 1) and parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/2", "a/b", "1", "0/0"):
        with pytest.raises(ConfigError, match="--shard"):
            parse_shard(bad)
