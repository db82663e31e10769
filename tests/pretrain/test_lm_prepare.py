"""A run's corpus preparation: one pass at the start, none on resume, stale indexes refused."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from tweetsent.errors import ConfigError, DataError
from tweetsent.io import sha256_file
from tweetsent.pretrain import data as lm_data
from tweetsent.pretrain.data import (
    CorpusSpec,
    build_vocab,
    corpus_blocks,
    heldout_sentences,
)
from tweetsent.pretrain.prepare import INDEX, prepare_corpus

BLOCK = 6  # files of 17 and 11 sentences: blocks end mid-file


def write_corpus(folder: Path) -> CorpusSpec:
    rng = random.Random(0)
    words = ["so", "happy", "@user", "#rain", ":(", "lol", "the", "game"]
    paths = []
    for f, n in enumerate((17, 11)):
        rows = [f"{i}\tx\t{' '.join(rng.choices(words, k=rng.randint(1, 5)))}" for i in range(n)]
        rows.insert(3, "")
        path = folder / f"p{f}.tsv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        paths.append(str(path))
    return CorpusSpec(tuple(paths), column=2, clean=True, heldout_every=5, heldout_max=4)


def prepare(spec: CorpusSpec, out: Path, resume: bool = False, block: int = BLOCK):
    return prepare_corpus(spec, block, max_vocab=9, min_count=1, out=out, resume=resume)


@pytest.fixture
def tokenized(monkeypatch) -> list[int]:
    """Counts the corpus lines tokenized (every pass over the corpus goes through them)."""
    calls: list[int] = []
    real = lm_data._line_tokens
    monkeypatch.setattr(lm_data, "_line_tokens", lambda *a: calls.append(1) or real(*a))
    return calls


def test_a_new_run_reads_the_corpus_once_and_saves_the_index(tmp_path, tokenized):
    spec = write_corpus(tmp_path)
    prepared = prepare(spec, tmp_path / "run")
    assert len(tokenized) == 17 + 11 + 2  # every raw line once (blank lines included)
    vocab, stats = build_vocab(spec, 9)
    assert prepared.vocab == vocab and prepared.sentences == stats.sentences == 28 - 4
    assert prepared.heldout == heldout_sentences(spec)
    assert prepared.blocks == corpus_blocks(spec, BLOCK)
    index = json.loads((tmp_path / "run" / INDEX).read_text(encoding="utf-8"))
    assert index["blocks"] == [list(dataclasses.astuple(b)) for b in prepared.blocks]
    assert index["heldout"] == prepared.heldout
    assert [f["sha256"] for f in index["files"]] == [sha256_file(p) for p in spec.files]
    assert index["settings"] == {
        "column": 2,
        "clean": True,
        "max_tokens": 64,
        "heldout_every": 5,
        "heldout_max": 4,
        "chunk_lines": BLOCK,
    }


def test_resume_reads_the_saved_index_not_the_corpus(tmp_path, tokenized):
    spec = write_corpus(tmp_path)
    fresh = prepare(spec, tmp_path / "run")
    tokenized.clear()
    assert prepare(spec, tmp_path / "run", resume=True) == fresh
    assert tokenized == []


def test_a_run_without_index_gets_one_on_resume(tmp_path):
    spec = write_corpus(tmp_path)
    fresh = prepare(spec, tmp_path / "run")
    (tmp_path / "run" / INDEX).unlink()  # a run started before corpus_index.json existed
    assert prepare(spec, tmp_path / "run", resume=True) == fresh
    assert (tmp_path / "run" / INDEX).is_file()
    (tmp_path / "run" / INDEX).unlink()
    with open(spec.files[1], "a", encoding="utf-8") as handle:
        handle.write("99\tx\tone more tweet\n")
    with pytest.raises(DataError, match="corpus.json: the corpus now has 25 training sentences"):
        prepare(spec, tmp_path / "run", resume=True)


def _append(spec: CorpusSpec) -> CorpusSpec:
    with open(spec.files[0], "a", encoding="utf-8") as handle:
        handle.write("99\tx\tone more tweet\n")
    return spec


def _same_size_edit(spec: CorpusSpec) -> CorpusSpec:
    path = Path(spec.files[1])
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\tx\t", "\ty\t", 1), encoding="utf-8")
    return spec


@pytest.mark.parametrize(
    "change, error, message",
    [
        (_append, DataError, r"p0.tsv: changed since .* \(size differs\)"),
        (_same_size_edit, DataError, r"p1.tsv: changed since .* \(SHA-256 differs\)"),
        (lambda s: dataclasses.replace(s, files=s.files[:1]), DataError, "1 corpus file"),
        (lambda s: dataclasses.replace(s, clean=False), ConfigError, "pretrain.clean: False"),
        (lambda s: dataclasses.replace(s, heldout_max=9), ConfigError, "pretrain.heldout_max"),
    ],
)
def test_a_changed_corpus_or_setting_is_a_one_line_error(tmp_path, change, error, message):
    spec = write_corpus(tmp_path)
    prepare(spec, tmp_path / "run")
    with pytest.raises(error, match=message) as caught:
        prepare(change(spec), tmp_path / "run", resume=True)
    assert "\n" not in str(caught.value)


def test_another_block_size_or_a_broken_index_is_an_error(tmp_path):
    spec = write_corpus(tmp_path)
    prepare(spec, tmp_path / "run")
    with pytest.raises(ConfigError, match="pretrain.chunk_lines: 4 but the run's corpus index"):
        prepare(spec, tmp_path / "run", resume=True, block=4)
    (tmp_path / "run" / INDEX).write_text('{"format": 1, "blocks": [[1, 2]]}', encoding="utf-8")
    with pytest.raises(DataError, match="corpus_index.json: unreadable corpus index"):
        prepare(spec, tmp_path / "run", resume=True)
    assert prepare(spec, tmp_path / "run").blocks == corpus_blocks(spec, BLOCK)  # a new run
