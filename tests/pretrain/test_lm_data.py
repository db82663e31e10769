"""The pretraining corpus stream: block index, seeded block order, held-out lines never trained."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from tweetsent.errors import ConfigError, DataError
from tweetsent.pretrain import data as lm_data
from tweetsent.pretrain.data import (
    CorpusSpec,
    build_vocab,
    corpus_blocks,
    heldout_sentences,
    is_heldout,
    iter_batches,
    iter_sentences,
    rank_vocab,
    read_block,
    scan_corpus,
    training_sentences,
)
from tweetsent.pretrain.loop import PretrainConfig

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


def write_uneven(folder: Path) -> tuple[str, ...]:
    """Files of 14, 2, 1 and 31 sentences (tweet-like text, CRLF, blank lines, a row whose text
    field is blank, a last row in bad UTF-8): blocks of 5 or 8 split them unevenly."""
    rng = random.Random(1)
    words = ["Sooo", "happy", "@user", "#Monday", ":)", "http://t.co/x", "isn't", "gr8", "!!!"]
    paths = []
    for f, n in enumerate((13, 1, 0, 30)):
        rows = [
            f"{i}\tpositive\tf{f}:{i} {' '.join(rng.choices(words, k=rng.randint(1, 7)))}"
            for i in range(n)
        ]
        rows[1:1] = ["", "   "] if n else ["", "\t\t"]  # no sentence (a blank third field)
        path = folder / f"u{f}.tsv"
        path.write_bytes("\r\n".join(rows).encode() + b"\n9\tneutral\t\xff caf\xc3\xa9\n")
        paths.append(str(path))
    return tuple(paths)


@pytest.mark.parametrize("block", [1, 5, 8, 64])
@pytest.mark.parametrize(
    "clean, every, cap", [(False, 7, 5), (True, 4, 100), (True, 0, 5), (False, 3, 0)]
)
def test_one_pass_scan_equals_the_reference_passes(tmp_path, block, clean, every, cap):
    spec = CorpusSpec(write_uneven(tmp_path), 2, clean, 4, heldout_every=every, heldout_max=cap)
    scan = scan_corpus(spec, block)
    # the blocks read back (by seek, in any order) give the sequential stream, block by block
    stream = list(iter_sentences(spec))
    read = [[pair for pair in read_block(spec, b)] for b in scan.blocks]
    assert [pair for pairs in read for pair in pairs] == stream
    assert [len(pairs) for pairs in read] == [b.count for b in scan.blocks]
    assert [pairs[0][0] for pairs in read] == [b.first for b in scan.blocks]
    assert block == 1 or {b.count for b in scan.blocks[:-1]} != {block}  # a file ends mid-block
    assert scan.heldout == heldout_sentences(spec)
    assert bool(every and cap) == bool(scan.heldout)
    vocab, stats = build_vocab(spec, max_size=12)
    assert rank_vocab(scan.counts, scan.sentences, 12, 1, spec) == (vocab, stats)
    for epoch in (0, 1):  # the training stream, with the index given or computed by iter_batches
        given = iter_batches(spec, 3, block, seed=5, epoch=epoch, mix_blocks=2, blocks=scan.blocks)
        assert list(given) == list(iter_batches(spec, 3, block, 5, epoch, mix_blocks=2))


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
