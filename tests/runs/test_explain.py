"""Attention out to users: explain (PNG, HTML), predict --attention, the logged penalty."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from tweetsent.cli import main
from tweetsent.config import RunConfig
from tweetsent.errors import TweetsentError
from tweetsent.runs.explain import Explanation, explain, render_html, render_png, write_explanation
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

PNG = b"\x89PNG\r\n\x1a\n"


CUES = {
    "positive": ["love", "great", "happy", ":)"],
    "negative": ["hate", "awful", "sad", ":("],
    "neutral": ["meeting", "bus", "report", "tuesday"],
}
FILLER = ["the", "today", "this", "my", "phone", "game", "it"]


@pytest.fixture(scope="module")
def attention_run(tmp_path_factory) -> Path:
    """A tiny self-attention model (r = 3 hops), trained once for the whole module."""
    folder = tmp_path_factory.mktemp("attention")
    rng = random.Random(0)
    lines = []
    for i in range(180):
        label = list(CUES)[i % 3]
        words = rng.sample(FILLER, 3) + [rng.choice(CUES[label])]
        rng.shuffle(words)
        lines.append(f"{i}\t{label}\t{' '.join(words)}\n")
    (folder / "train.tsv").write_text("".join(lines), encoding="utf-8")
    config = RunConfig().with_overrides(
        {
            "data.train": [str(folder / "train.tsv")],
            "data.min_freq": 1,
            "data.workers": 1,
            "data.cache_dir": str(folder / "cache"),
            "embed.kind": "random",
            "embed.dim": 8,
            "model.hidden_size": 8,
            "model.pooling": "attention",
            "model.attention_hops": 3,
            "train.epochs": 2,
            "train.batch_size": 16,
            "train.progress": False,
            "train.threads": 1,
            "out": str(folder / "run"),
        }
    )
    train(config, log=lambda _: None)
    return folder / "run"


def test_penalty_is_logged_per_epoch(attention_run: Path) -> None:
    with open(attention_run / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert all(float(row["train_penalty"]) > 0 for row in rows)
    assert all(float(row["train_loss"]) > float(row["train_penalty"]) for row in rows)


def test_explain_returns_tokens_and_weights(attention_run: Path) -> None:
    e = explain(Predictor.from_run(attention_run), "I love this great phone :)")
    assert e.tokens == ["i", "love", "this", "great", "phone", ":)"]
    assert len(e.hops) == 3 and all(len(row) == len(e.tokens) for row in e.hops)
    assert all(sum(row) == pytest.approx(1.0, abs=1e-5) for row in e.hops)
    assert sum(e.weights) == pytest.approx(1.0, abs=1e-5)
    assert e.top(1)[0][1] == max(e.weights)
    assert e.label in e.probs
    empty = explain(Predictor.from_run(attention_run), "")
    assert empty.tokens == ["(empty)"] and empty.weights == [1.0]


def test_render_png_and_html(attention_run: Path, tmp_path: Path) -> None:
    predictor = Predictor.from_run(attention_run)
    e = explain(predictor, "worst <day> ever & so sad :( " + "long " * 30)
    png = render_png(e, tmp_path / "why.png")
    assert png.read_bytes()[:8] == PNG
    snippet = render_html(e)
    assert snippet.startswith('<div class="tweetsent-explanation"')
    assert snippet.count("<span ") == len(e.tokens)
    assert "<script" not in snippet and "http" not in snippet  # no external assets
    page = write_explanation(e, tmp_path / "why.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("hop ") == 3
    with pytest.raises(TweetsentError, match=r"\.png or \.html"):
        write_explanation(e, tmp_path / "why.jpg")


def test_html_escapes_and_shades_by_weight() -> None:
    e = Explanation("x", "positive", {"positive": 0.9}, ["<b>", "ok"], [0.8, 0.2], [[0.8, 0.2]])
    snippet = render_html(e)
    assert "&lt;b&gt;" in snippet and "<b>" not in snippet
    assert "0.000, 1.000)" not in snippet and "1.000); color: #fff" in snippet  # darkest = max
    assert "0.250); color: #000" in snippet


def test_cli_explain_and_predict_attention(attention_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli.png"
    assert main(["explain", str(attention_run), "so happy today :)", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG and "written" in capsys.readouterr().out
    assert main(["predict", str(attention_run), "love it", "--attention", "--hops"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["tokens"] == ["love", "it"] and len(row["attention"]) == 2
    assert len(row["attention_hops"]) == 3
    src = tmp_path / "in.txt"
    src.write_text("great game today\nawful bus :(\n", encoding="utf-8")
    jsonl = tmp_path / "out.jsonl"
    args = ["predict", str(attention_run), "--input", str(src), "--output", str(jsonl)]
    assert main([*args, "--attention", "--no-progress"]) == 0
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["tokens"] for r in rows] == [["great", "game", "today"], ["awful", "bus", ":("]]
    assert all(sum(r["attention"]) == pytest.approx(1.0, abs=1e-5) for r in rows)
    assert all("attention_hops" not in r for r in rows)


def test_explain_needs_an_attention_model(tiny_tsv, tmp_path, make_config, capsys) -> None:
    run = tmp_path / "maxpool"
    train(make_config(tiny_tsv, run, **{"train.epochs": 1}), log=lambda _: None)
    assert main(["explain", str(run), "hello", "--out", str(tmp_path / "x.png")]) == 2
    assert "explain needs a self-attention model" in capsys.readouterr().err
