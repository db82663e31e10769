"""embed_file: sentences in (single spaces, exactly as given), layers + mask out (.npz)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tweetsent.embed.elmo import batch_to_ids, embed_file, embed_sentences, load_bilm
from tweetsent.embed.elmo.embed import read_sentences
from tweetsent.errors import ConfigError, DataError

LINES = ["what a day :)", "", "ok", "café 🙂  x", "#tbt @you so gooood lol"]


def test_read_sentences_splits_on_single_spaces(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"a b\r\n\nc  d\ne " + "é".encode())
    assert read_sentences(path) == [["a", "b"], [], ["c", "", "d"], ["e", "é"]]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff\xfe\n")
    with pytest.raises(DataError, match=r"bad.txt:2: not valid UTF-8"):
        read_sentences(bad)
    with pytest.raises(DataError, match="no such input file"):
        read_sentences(tmp_path / "absent.txt")


def test_embed_file_writes_layers_and_mask(tiny_files, tmp_path: Path) -> None:
    source = tmp_path / "sentences.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = tmp_path / "out" / "vectors.npz"
    summary = embed_file(*tiny_files, source, out, batch_size=2)
    assert summary.sentences == 5 and summary.longest == 5 and summary.tokens == 14
    with np.load(out) as data:
        assert sorted(data.files) == ["layers", "mask"]
        layers, mask = data["layers"], data["mask"]
    assert layers.dtype == np.float32 and layers.shape == (3, 5, 5, 16)
    assert mask.dtype == bool and mask.sum(axis=1).tolist() == [4, 0, 1, 4, 5]
    assert (layers[:, ~mask] == 0).all()
    assert sorted(p.name for p in out.parent.iterdir()) == ["vectors.npz"]  # no temp left
    bilm = load_bilm(*tiny_files)
    with torch.inference_mode():
        for row, line in enumerate(LINES):
            tokens = line.split(" ") if line else []
            alone = bilm(batch_to_ids([tokens])).layers[:, 0].numpy()
            np.testing.assert_allclose(layers[:, row, : len(tokens)], alone, atol=1e-6)


def test_embed_sentences_is_independent_of_batch_size(tiny_files) -> None:
    bilm = load_bilm(*tiny_files)
    sentences = [line.split(" ") if line else [] for line in LINES]
    big, mask = embed_sentences(bilm, sentences, batch_size=64)
    small, mask_small = embed_sentences(bilm, sentences, batch_size=1)
    assert np.array_equal(mask, mask_small)
    np.testing.assert_allclose(big, small, atol=1e-6, rtol=0)
    with pytest.raises(ConfigError, match="batch_size"):
        embed_sentences(bilm, sentences, batch_size=0)


def test_empty_input_and_bad_device(tiny_files, tmp_path: Path) -> None:
    source = tmp_path / "empty.txt"
    source.write_text("", encoding="utf-8")
    embed_file(*tiny_files, source, tmp_path / "empty.npz")
    with np.load(tmp_path / "empty.npz") as data:
        assert data["layers"].shape == (3, 0, 0, 16) and data["mask"].shape == (0, 0)
    with pytest.raises(ConfigError, match="device"):
        embed_file(*tiny_files, source, tmp_path / "x.npz", device="toaster")
