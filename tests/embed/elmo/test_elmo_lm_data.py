"""The pretraining corpus stream: block index, seeded block order, held-out lines never trained."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from tweetsent.embed.elmo import lm_data
from tweetsent.embed.elmo.lm_data import (
    CorpusSpec,
    corpus_blocks,
    heldout_sentences,
    is_heldout,
    iter_batches,
    iter_sentences,
    read_block,
    training_sentences,
)
from tweetsent.embed.elmo.pretrain import PretrainConfig
from tweetsent.errors import ConfigError, DataError

BLOCK = 8  # sentences per block


def write_files(folder: Path, files: int = 3, blocks: int = 3, seed: int = 0) -> CorpusSpec:
    """`files` files of `blocks` * BLOCK tweets; every tweet's first token names file and line,
    lengths are random (independent of the file), and blank lines are sprinkled in."""
    rng = random.Random(seed)
    paths = []
    for f in range(files):
        lines = []
        for i in range(blocks * BLOCK):
            words = " ".join(rng.choice("abcdefg") for _ in range(rng.randint(1, 6)))
            lines.append(f"{i}\tneutral\tf{f}:{i} {words}")
            if rng.random() < 0.15:
                lines.append("")  # gets no number
        path = folder / f"part{f}.tsv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(str(path))
    return CorpusSpec(tuple(paths), column=2, heldout_every=7, heldout_max=5)


def file_of(sentence: list[str]) -> int:
    return int(sentence[0][1 : sentence[0].index(":")])


def epoch_batches(spec: CorpusSpec, epoch: int, seed: int = 0, mix: int = 3) -> list:
    return list(iter_batches(spec, 4, BLOCK, seed=seed, epoch=epoch, mix_blocks=mix))


def test_blocks_read_back_the_sequential_stream(tmp_path):
    spec = write_files(tmp_path)
    blocks = corpus_blocks(spec, BLOCK)
    assert [b.count for b in blocks] == [BLOCK] * 9
    assert [b.file for b in blocks] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    read = [pair for b in reversed(blocks) for pair in read_block(spec, b)]  # any order, by seek
    assert sorted(read) == list(iter_sentences(spec))


def test_block_seek_keeps_text_mode_lines(tmp_path):
    """CRLF, a lone CR, bad UTF-8, blank lines and no final newline split as the text stream."""
    path = tmp_path / "odd.txt"
    path.write_bytes("a b\r\nc\rd é\n\n  \ne \xff\n".encode() + b"\xfe bad\nf\r\ng\rh")
    spec = CorpusSpec((str(path),), heldout_every=0)
    for size in (1, 2, 3):
        blocks = corpus_blocks(spec, size)
        assert [pair for b in blocks for pair in read_block(spec, b)] == list(iter_sentences(spec))
    assert len(list(iter_sentences(spec))) == 8


def test_every_training_line_once_per_epoch_and_heldout_never(tmp_path):
    spec = write_files(tmp_path)
    training = Counter(map(tuple, training_sentences(spec)))
    heldout = {tuple(s) for s in heldout_sentences(spec)}
    assert len(heldout) == 5 and not heldout & set(training)
    for epoch in range(3):
        for mix in (1, 3, 4, 20):
            seen = Counter(tuple(s) for b in epoch_batches(spec, epoch, mix=mix) for s in b)
            assert seen == training


def test_order_is_a_pure_function_of_seed_and_epoch(tmp_path):
    spec = write_files(tmp_path)
    assert epoch_batches(spec, 0) == epoch_batches(spec, 0)
    given = list(iter_batches(spec, 4, BLOCK, 0, 0, 3, blocks=corpus_blocks(spec, BLOCK)))
    assert given == epoch_batches(spec, 0)
    assert epoch_batches(spec, 0) != epoch_batches(spec, 1)
    assert epoch_batches(spec, 0, seed=0) != epoch_batches(spec, 0, seed=1)


def test_epochs_do_not_end_on_the_last_file(tmp_path):
    """The bug: files read in order made every epoch end on blocks of the last file."""
    spec = write_files(tmp_path)
    last_k_only_last_file, first_files, last_files = [], [], set()
    for epoch in range(6):
        batches = epoch_batches(spec, epoch)
        tail = {file_of(s) for b in batches[-3:] for s in b}
        last_k_only_last_file.append(tail == {2})
        first_files.append({file_of(s) for b in batches[:3] for s in b})
        last_files.add(file_of(batches[-1][0]))
    assert not any(last_k_only_last_file)
    assert all(len(files) > 1 for files in first_files)  # a window mixes several regions
    assert len(last_files) > 1  # where an epoch ends changes with the epoch


def test_memory_is_one_window_of_blocks(tmp_path, monkeypatch):
    spec = write_files(tmp_path)
    reads = []
    real = lm_data.read_block
    monkeypatch.setattr(
        lm_data, "read_block", lambda s, b, t=None: reads.append(b) or real(s, b, t)
    )
    stream = iter_batches(spec, 4, BLOCK, seed=0, epoch=0, mix_blocks=3)
    next(stream)
    assert len(reads) == 3  # the first batch needs one window, not the corpus
    list(stream)
    assert len(reads) == 9 and len(set(reads)) == 9


def test_heldout_numbering_matches_the_sequential_stream(tmp_path):
    spec = write_files(tmp_path)
    numbers = [n for n, _ in iter_sentences(spec) if is_heldout(n, spec)]
    assert numbers == [0, 7, 14, 21, 28]
    blocks = corpus_blocks(spec, BLOCK)
    in_blocks = [n for b in blocks for n, _ in read_block(spec, b) if is_heldout(n, spec)]
    assert in_blocks == numbers


def test_changed_file_and_bad_settings_are_clear_errors(tmp_path):
    spec = write_files(tmp_path)
    blocks = corpus_blocks(spec, BLOCK)
    Path(spec.files[2]).write_text("0\tneutral\tshort\n", encoding="utf-8")
    with pytest.raises(DataError, match="part2.tsv"):
        read_block(spec, blocks[-1])
    with pytest.raises(DataError, match="no such corpus file"):
        corpus_blocks(CorpusSpec((str(tmp_path / "missing.txt"),)), BLOCK)
    with pytest.raises(ValueError, match="mix_blocks"):
        next(iter_batches(spec, 4, BLOCK, 0, 0, mix_blocks=0))
    with pytest.raises(ConfigError, match="pretrain.mix_blocks"):
        PretrainConfig(corpus=("x.txt",), out="o", mix_blocks=0)
