"""bench/synth.py: reads SemEval-style TSVs and makes a deterministic perturbed corpus."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_synth():
    spec = importlib.util.spec_from_file_location("bench_synth", BENCH / "synth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def source(tmp_path: Path) -> Path:
    rows = [
        '1\tpositive\t"I love it, ""really"" :)"\r\n',
        "2\tnegative\tworst day ever\\u002c so sad\t\r\n",
        "3\tneutral\tmeeting at 10 http://t.co/x\n",
        "4\tneutral\t\n",  # no text: skipped
    ]
    (tmp_path / "a.tsv").write_text("".join(rows), encoding="utf-8", newline="")
    return tmp_path


def test_read_pool_unquotes_and_unescapes(source: Path) -> None:
    texts, labels = load_synth().read_pool(source)
    assert texts == [
        'I love it, "really" :)',
        "worst day ever, so sad",
        "meeting at 10 http://t.co/x",
    ]
    assert labels == ["positive", "negative", "neutral"]


def test_make_corpus_is_deterministic(source: Path) -> None:
    synth = load_synth()
    texts, labels = synth.make_corpus(500, seed=3, source_dir=source)
    assert len(texts) == len(labels) == 500
    assert synth.make_corpus(500, seed=3, source_dir=source) == (texts, labels)
    assert synth.make_corpus(500, seed=4, source_dir=source)[0] != texts
    assert set(labels) == {"positive", "negative", "neutral"}
    assert len(set(texts)) > 100  # perturbed, not just copies of three tweets


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no \\*.tsv files"):
        load_synth().make_corpus(10, source_dir=tmp_path)
