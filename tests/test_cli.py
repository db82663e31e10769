"""The command line: a thin layer whose user mistakes end in one line and exit status 2."""

import json
import subprocess
import sys

import pytest

from synthetic import TINY_TRAIN_FLAGS
from tweetsent.cli import main

TINY = [*TINY_TRAIN_FLAGS, "--epochs", "2", "--batch-size", "16"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tweetsent.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def trained(tiny_tsv, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data", str(tiny_tsv), "--out", str(out), *TINY]) == 0
    return out


def test_train_predict_evaluate(trained, tiny_tsv, tmp_path, capsys):
    capsys.readouterr()
    assert main(["predict", str(trained), "love it :)", "", "hate mondays"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"] for row in lines] == ["love it :)", "", "hate mondays"]
    for row in lines:
        assert set(row["probs"]) == {"negative", "neutral", "positive"}
        assert sum(row["probs"].values()) == pytest.approx(1.0, abs=1e-4)
    assert lines[1]["empty"] is True and lines[0]["empty"] is False
    assert (
        main(["evaluate", str(trained), "--data", str(tiny_tsv), "--out", str(tmp_path / "m.json")])
        == 0
    )
    assert "avgrec" in capsys.readouterr().out
    assert json.loads((tmp_path / "m.json").read_text())["examples"] == 240


def test_predict_file_keeps_order_and_columns(trained, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        'id,text,extra\n1,"love this, great",a\n2,worst day,b\n3,"",c\n4,meeting at 3,d\n'
    )
    out = tmp_path / "out.csv"
    assert (
        main(["predict", str(trained), "--input", str(src), "--output", str(out), "--no-progress"])
        == 0
    )
    lines = out.read_text().splitlines()
    assert lines[0].startswith("id,text,extra,label,prob_negative")
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "4"]  # empty row skipped
    jsonl = tmp_path / "out.jsonl"
    txt = tmp_path / "in.txt"
    txt.write_text("first tweet\nsecond :(\n")
    assert (
        main(
            ["predict", str(trained), "--input", str(txt), "--output", str(jsonl), "--no-progress"]
        )
        == 0
    )
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["text"] for r in rows] == ["first tweet", "second :("]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "no/such/file.tsv", "--out", "{tmp}/r"], "no/such/file.tsv"),
        (["train", "--data", "{tsv}", "--out", "{tmp}/r", "--cell", "rnn"], "model.cell"),
        (["train", "--data", "{tsv}", "--out", "{tmp}/r", "--device", "tpu"], "train.device"),
        (["train", "--data", "{tsv}", "--out", "{tmp}/r", "--lexicon", "{tmp}/no.tsv"], "no.tsv"),
        (["predict", "{tmp}", "hello"], "not a tweetsent run directory"),
        (["predict", "{tmp}/nothing", "hello"], "no such run directory"),
        (["evaluate", "{tmp}", "--data", "{tsv}"], "not a tweetsent run directory"),
        (["train", "--config", "{tmp}/missing.toml", "--out", "{tmp}/r"], "no such config file"),
        (["data", "info", "no-such-dataset"], "no-such-dataset"),
    ],
)
def test_user_mistakes_are_one_line_errors(args, message, tiny_tsv, tmp_path):
    args = [a.format(tmp=tmp_path, tsv=tiny_tsv) for a in args]
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]


def test_unknown_labels_are_listed(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\tpositive\tgood\n2\tmeh\tso so\n3\tnegative\tbad\n")
    result = run_cli("train", "--data", str(bad), "--out", str(tmp_path / "r"), *TINY)
    assert result.returncode == 2
    assert "meh" in result.stderr and "Traceback" not in result.stderr


def test_wrong_encoding_is_one_line(tmp_path):
    bad = tmp_path / "utf16.tsv"
    bad.write_bytes("1\tpositive\tgood\n".encode("utf-16"))
    result = run_cli("train", "--data", str(bad), "--out", str(tmp_path / "r"), *TINY)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(bad) in result.stderr


def test_malformed_rows_are_counted_or_fatal_with_strict(tiny_tsv, tmp_path):
    data = tmp_path / "mixed.tsv"
    data.write_text(tiny_tsv.read_text() + "only-one-field\n9999\tpositive\n")
    ok = run_cli("train", "--data", str(data), "--out", str(tmp_path / "r"), *TINY)
    assert ok.returncode == 0, ok.stderr
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["data"]["train"]["skipped"] == 2
    strict = run_cli("train", "--data", str(data), "--out", str(tmp_path / "s"), "--strict", *TINY)
    assert strict.returncode == 2
    assert f"{data}:241" in strict.stderr and "Traceback" not in strict.stderr
