"""Command-line flags of the ELMo commands: `elmo embed --threads/--stateful`, `elmo cache
--elmo-input`, `train --elmo-cache-dir/--elmo-input`; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from tweetsent.cli import main
from tweetsent.embed.elmo import embed_sentences, load_bilm

LINES = ["what a day :)", "", "ok then", "café 🙂 x", "#tbt @you so gooood lol", "a b c"]


def test_embed_threads_and_stateful(tiny_files, tmp_path: Path, capsys) -> None:
    source = tmp_path / "s.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    options, weights = map(str, tiny_files)
    base = ["elmo", "embed", "--options", options, "--weights", weights, "--input", str(source)]
    sentences = [line.split(" ") if line else [] for line in LINES]

    assert main([*base, "--output", str(tmp_path / "fresh.npz"), "--threads", "2"]) == 0
    assert torch.get_num_threads() == 2  # (the autouse fixture restores it)
    out = tmp_path / "stateful.npz"
    assert main([*base, "--output", str(out), "--stateful", "--batch-size", "2"]) == 0
    assert "6 sentences" in capsys.readouterr().out
    with np.load(tmp_path / "fresh.npz") as f, np.load(out) as s:
        fresh, stateful, mask = f["layers"], s["layers"], s["mask"]
    # the same as the API with a stateful biLM, sentences in file order, batches of 2
    expected, _ = embed_sentences(load_bilm(*tiny_files, stateful=True), sentences, 2)
    np.testing.assert_allclose(stateful, expected, atol=1e-6, rtol=0)
    # first batch from zeros: as without --stateful; later batches carry state: they differ
    np.testing.assert_allclose(stateful[:, :2], fresh[:, :2], atol=1e-6, rtol=0)
    assert np.abs(stateful[1:, 2:][:, mask[2:]] - fresh[1:, 2:][:, mask[2:]]).max() > 1e-3
    assert (stateful[:, ~mask] == 0).all()

    assert main([*base, "--output", str(tmp_path / "x.npz"), "--threads", "-1"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --threads -1: must be >= 0 (0: every core)"
    ]


def test_train_elmo_cache_dir_and_input(tiny_files, tiny_tsv, tmp_path: Path, capsys) -> None:
    options, weights = map(str, tiny_files)
    cache = tmp_path / "elmo-cache"
    common = ["--data", str(tiny_tsv), "--options", options, "--weights", weights]
    cached = ["elmo", "cache", *common, "--cache-dir", str(cache), "--no-progress"]
    assert main([*cached, "--threads", "1", "--elmo-input", "lower"]) == 0
    assert "tweets, 0 already cached, 240 to compute" in capsys.readouterr().out

    flags = ["--min-freq", "1", "--workers", "1", "--hidden", "8", "--epochs", "1"]
    flags += ["--batch-size", "32", "--threads", "1", "--no-progress", "--embed", "elmo"]
    flags += ["--elmo-options", options, "--elmo-weights", weights]
    flags += ["--elmo-cache-dir", str(cache)]
    run = tmp_path / "run"
    argv = ["train", "--data", str(tiny_tsv), "--out", str(run), *flags]
    assert main([*argv, "--elmo-input", "lower"]) == 0
    assert "already cached, 0 to compute" in capsys.readouterr().out  # the folder given
    config = json.loads((run / "config.json").read_text())["embed"]
    assert config["elmo_input"] == "lower" and config["elmo_cache_dir"] == str(cache)
    meta = json.loads((run / "meta.json").read_text())["elmo"]
    assert Path(meta["cache"]).parent.parent == cache

    # another input is another key: computed again, in the same folder
    assert main([*argv, "--overwrite", "--elmo-input", "raw"]) == 0
    out = capsys.readouterr().out
    assert "tweets, 0 already cached, 240 to compute" in out

    assert main([*argv, "--overwrite", "--elmo-input", "cased"]) == 2
    assert "embed.elmo_input: 'cased' is not one of raw, lower, cleaned" in capsys.readouterr().err
