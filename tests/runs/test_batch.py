"""Batch scoring of files in chunks: the chunk size changes nothing in the output, the order is
kept, Parquet keeps the input's columns, shard folders, streaming evaluation, and a failed or
interrupted run leaves no output under the final name."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tweetsent.runs.torch_scorer as torch_scorer
from synthetic import synthetic_tweets, write_tsv
from tweetsent.errors import DataError, TweetsentError
from tweetsent.runs.batch import estimate_rows, predict_file, predict_shards
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor

EXTRA = ["", "   ", "love love :) :)", "meeting tuesday", "UNSEEN wordz", "meeting tuesday"]


@pytest.fixture
def predictor(batch_run) -> Predictor:
    return Predictor.from_run(batch_run, batch_size=8, workers=1)


def texts(n: int = 45) -> list[str]:
    """Tweets with repeats, blanks (skipped rows) and unknown words."""
    out = [text for _, text in synthetic_tweets(n, seed=7)]
    for i, extra in enumerate(EXTRA):
        out.insert(i * 7, extra)
    return out


def write_jsonl(path: Path, rows: list[str]) -> Path:
    lines = [json.dumps({"id": i, "text": t, "lang": "en"}) for i, t in enumerate(rows)]
    lines.insert(10, "{not json")  # a malformed row, skipped and counted
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[str | None], row_group: int = 16) -> Path:
    n = len(rows)
    table = pa.table(
        {
            "id": pa.array(range(1000, 1000 + n), pa.int64()),
            "created": pa.array(
                [dt.datetime(2026, 1, 1) + dt.timedelta(minutes=i) for i in range(n)],
                pa.timestamp("ms"),
            ),
            "text": pa.array(rows, pa.string()),
            "score": pa.array([i / 4 for i in range(n)], pa.float32()),
        }
    )
    pq.write_table(table, path, row_group_size=row_group)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".parquet"])
def test_chunk_size_changes_nothing_and_order_is_kept(predictor, tmp_path, suffix, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", texts())
    outputs = {}
    for chunk in (1, 7, 100_000):
        out = tmp_path / f"out-{chunk}{suffix}"
        count = predict_file(predictor, source, out, chunk=chunk, progress=False)
        assert count == len(texts()) - 2  # two blank texts skipped
        outputs[chunk] = out
    assert "skipped 3" in capsys.readouterr().err  # the blanks and the bad JSON line
    if suffix == ".parquet":
        tables = [pq.read_table(p) for p in outputs.values()]
        assert all(t.equals(tables[0]) for t in tables)
        got = tables[0].column("text").to_pylist()
        labels = tables[0].column("label").to_pylist()
        assert tables[0].schema.field("id").type == pa.int64()
    else:
        data = [p.read_bytes() for p in outputs.values()]
        assert data[0] == data[1] == data[2]
        if suffix == ".jsonl":
            rows = [json.loads(line) for line in data[0].decode().splitlines()]
            got, labels = [r["text"] for r in rows], [r["label"] for r in rows]
        else:
            sep = "\t" if suffix == ".tsv" else ","
            import csv
            import io

            rows = list(csv.DictReader(io.StringIO(data[0].decode()), delimiter=sep))
            got, labels = [r["text"] for r in rows], [r["label"] for r in rows]
            assert list(rows[0])[:3] == ["id", "text", "lang"]
    expected = [t.strip() for t in texts() if t.strip()]
    assert got == expected  # input order, skipped rows left out
    assert labels == predictor.predict_labels(expected)


def test_forked_workers_per_chunk_give_the_same_output(predictor, tmp_path, monkeypatch):
    source = write_jsonl(tmp_path / "in.jsonl", texts(120))
    whole = tmp_path / "whole.jsonl"
    predict_file(predictor, source, whole, progress=False)
    monkeypatch.setattr(torch_scorer, "PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(predictor.scorer, "workers", 2)
    forked = tmp_path / "forked.jsonl"
    predict_file(predictor, source, forked, chunk=40, progress=False)
    assert forked.read_bytes() == whole.read_bytes()


def test_parquet_keeps_the_other_columns_and_their_types(predictor, tmp_path, capsys):
    rows: list[str | None] = texts(30)
    rows[3] = None  # a null text: skipped and counted, like a blank one
    source = write_parquet(tmp_path / "in.parquet", rows)
    out = tmp_path / "out.parquet"
    assert predict_file(predictor, source, out, chunk=5, progress=False) == 30 + 6 - 3
    assert f"{source}:4: empty text" in capsys.readouterr().err
    table = pq.read_table(out)
    inputs = pq.read_table(source)
    names = ["id", "created", "text", "score", "label"]
    names += [f"prob_{label}" for label in predictor.labels] + ["empty"]
    assert table.column_names == names
    for name in ("id", "created", "text", "score"):
        assert table.schema.field(name).type == inputs.schema.field(name).type
    kept = [i for i, t in enumerate(rows) if t and t.strip()]
    assert table.column("id").to_pylist() == [1000 + i for i in kept]
    assert table.column("created").to_pylist() == inputs.column("created").take(kept).to_pylist()
    preds = predictor.predict([rows[i].strip() for i in kept])
    assert table.column("label").to_pylist() == [p.label for p in preds]
    label = predictor.labels[0]
    assert table.column(f"prob_{label}").to_pylist() == [p.probs[label] for p in preds]


def test_parquet_input_mistakes_are_one_line(predictor, tmp_path):
    source = write_parquet(tmp_path / "in.parquet", texts(5))
    with pytest.raises(DataError, match="no text column 'body'.*'id', 'created', 'text'"):
        predict_file(predictor, source, tmp_path / "o.jsonl", text_col="body", progress=False)
    with pytest.raises(DataError, match="text column 'id' holds int64"):
        predict_file(predictor, source, tmp_path / "o.jsonl", text_col="id", progress=False)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\x00" * 50)
    with pytest.raises(DataError, match="not a readable Parquet file"):
        predict_file(predictor, broken, tmp_path / "o.jsonl", progress=False)
    assert not (tmp_path / "o.jsonl").exists()


def test_a_shard_folder_gives_one_output_shard_per_input_shard(predictor, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    write_parquet(shards / "part-0.parquet", texts(20))
    write_jsonl(shards / "part-1.jsonl", texts(10))
    (shards / "part-2.csv").write_text("id,text\n1,love it :)\n2,worst day\n", encoding="utf-8")
    counts = predict_shards(predictor, shards, tmp_path / "out", chunk=7, progress=False)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["part-0.parquet", "part-1.jsonl", "part-2.csv"]
    assert counts == {
        str(out / "part-0.parquet"): 24,
        str(out / "part-1.jsonl"): 14,
        str(out / "part-2.csv"): 2,
    }
    single = tmp_path / "single.parquet"
    predict_file(predictor, shards / "part-0.parquet", single, progress=False)
    assert pq.read_table(out / "part-0.parquet").equals(pq.read_table(single))
    assert (out / "part-2.csv").read_text().splitlines()[0].startswith("id,text,label,prob_")
    predict_shards(predictor, shards, tmp_path / "pq", output_format="parquet", progress=False)
    assert len(pq.read_table(tmp_path / "pq" / "part-1.parquet")) == 14


def test_empty_shards_give_empty_outputs_with_their_columns_and_the_run_goes_on(
    predictor, tmp_path, capsys
):
    """Empty shards are normal in partitioned data: a 0-row Parquet file, a CSV header alone
    and an empty JSONL file each get an output shard with the right columns and no row, the
    shards after them are written, with a warning; an empty single file gives an empty output
    with a warning. A shard whose rows are all malformed is still an error."""
    shards = tmp_path / "shards"
    shards.mkdir()
    write_parquet(shards / "a.parquet", texts(4))
    write_parquet(shards / "b.parquet", [])
    (shards / "c.csv").write_text("id,text\n", encoding="utf-8")
    (shards / "d.jsonl").write_bytes(b"")
    (shards / "e.csv").write_text("id,text\n1,love it :)\n", encoding="utf-8")
    out = tmp_path / "out"
    counts = predict_shards(predictor, shards, out, progress=False)
    assert list(counts.values()) == [8, 0, 0, 0, 1]
    labels = list(predictor.labels)
    ours = ["label", *(f"prob_{label}" for label in labels), "empty"]
    empty = pq.read_table(out / "b.parquet")
    assert empty.num_rows == 0
    assert empty.schema.names == ["id", "created", "text", "score", *ours]
    assert empty.schema.equals(pq.read_table(out / "a.parquet").schema)
    assert (out / "c.csv").read_text().splitlines() == [",".join(["id", "text", *ours])]
    assert (out / "d.jsonl").read_bytes() == b""
    assert len((out / "e.csv").read_text().splitlines()) == 2
    err = capsys.readouterr().err
    assert err.count("warning:") == 3 and f"{shards / 'b.parquet'}: no rows to label" in err
    for name, output in (("c.csv", "one.parquet"), ("d.jsonl", "one.csv")):
        assert predict_file(predictor, shards / name, tmp_path / output, progress=False) == 0
        assert "no rows to label" in capsys.readouterr().err
    assert pq.read_table(tmp_path / "one.parquet").schema.names == ["id", "text", *ours]
    assert (tmp_path / "one.csv").read_text().splitlines() == [",".join(["text", *ours])]
    (shards / "f.csv").write_text("id,text\n1,\n", encoding="utf-8")
    with pytest.raises(DataError, match="no usable rows"):
        predict_shards(predictor, shards, tmp_path / "again", progress=False)


def test_parquet_output_of_odd_inputs(predictor, tmp_path):
    """A categorical (dictionary) text column is labelled and kept as it is; a column whose
    type changes between chunks is one line naming the output, never its temporary file."""
    source = tmp_path / "cat.parquet"
    column = pa.array(["love it :)", "worst day", "love it :)"]).dictionary_encode()
    pq.write_table(pa.table({"text": column}), source)
    out = tmp_path / "cat-out.parquet"
    assert predict_file(predictor, source, out, progress=False) == 3
    table = pq.read_table(out)
    assert table.schema.field("text").type == column.type
    assert table.column("label").to_pylist() == predictor.predict_labels(column.to_pylist())
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"id": 1, "text": "good"}\n{"id": "x", "text": "bad"}\n', encoding="utf-8")
    out = tmp_path / "mixed.parquet"
    with pytest.raises(TweetsentError, match=r"^\S*mixed\.parquet: cannot keep the columns") as exc:
        predict_file(predictor, mixed, out, chunk=1, progress=False)
    assert str(exc.value).startswith(f"{out}: ") and ".tmp" not in str(exc.value)
    assert not out.exists() and list(tmp_path.glob(".mixed*")) == []


def test_csv_input_columns_named_like_the_outputs_are_replaced(predictor, tmp_path):
    """A CSV that already has a `label` column gets one `label` column (the prediction), as
    Parquet does, not a duplicated header."""
    source = tmp_path / "in.csv"
    source.write_text("id,label,text\n1,positive,love it :)\n2,gold,worst day\n", "utf-8")
    predict_file(predictor, source, tmp_path / "o.csv", progress=False)
    lines = (tmp_path / "o.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["id", "text", "label"] and header.count("label") == 1
    assert len(lines) == 3 and all(len(line.split(",")) == len(header) for line in lines)


def test_evaluate_in_chunks_equals_the_whole_file(predictor, tmp_path):
    rows = synthetic_tweets(50, seed=11)
    data = write_tsv(tmp_path / "test.tsv", rows)
    with open(data, "a", encoding="utf-8") as handle:
        handle.write("9999\tpositive\n")  # malformed: counted
    whole = evaluate(predictor, [str(data)], chunk=100_000)
    for chunk in (1, 7):
        part = evaluate(predictor, [str(data)], chunk=chunk)
        assert part.to_dict() == whole.to_dict()
    assert whole.examples == 50 and whole.skipped == 1
    preds = predictor.predict_labels([text for _, text in rows])
    accuracy = sum(p == label for p, (label, _) in zip(preds, rows, strict=True)) / 50
    assert whole.metrics["accuracy"] == pytest.approx(accuracy)


def test_evaluate_reports_an_unknown_label_at_its_line(predictor, tmp_path):
    data = write_tsv(tmp_path / "test.tsv", synthetic_tweets(20, seed=2))
    with open(data, "a", encoding="utf-8") as handle:
        handle.write("77\tmeh\tso so\n")
    with pytest.raises(DataError, match=rf"{data}:21: unknown label\(s\) 'meh'"):
        evaluate(predictor, [str(data)], chunk=7)


def test_a_model_whose_labels_are_not_the_label_set_is_refused(batch_run, tmp_path):
    """evaluate and predict_labelled (tweetsent study) refuse a run whose meta.json labels are not
    its label set's, in order: the predicted ids would name the wrong classes."""
    import shutil

    from tweetsent.runs.evaluate import predict_labelled

    run = tmp_path / "run"
    shutil.copytree(batch_run, run)
    meta = json.loads((run / "meta.json").read_text())
    meta["labels"] = meta["labels"][::-1]
    (run / "meta.json").write_text(json.dumps(meta))
    predictor = Predictor.from_run(run)
    data = str(write_tsv(tmp_path / "test.tsv", synthetic_tweets(20, seed=2)))
    for call in (lambda: evaluate(predictor, [data]), lambda: predict_labelled(predictor, [data])):
        with pytest.raises(DataError, match="does not match the model's"):
            call()


def test_a_failed_run_leaves_the_old_output_or_none(predictor, tmp_path, monkeypatch):
    source = write_jsonl(tmp_path / "in.jsonl", texts())
    for suffix in (".jsonl", ".parquet"):
        out = tmp_path / f"out{suffix}"
        calls = []
        real = predictor.predict_arrays

        def failing(batch, calls=calls, real=real):
            calls.append(len(batch))
            if len(calls) == 3:
                raise RuntimeError("disk on fire")
            return real(batch)

        monkeypatch.setattr(predictor, "predict_arrays", failing)
        with pytest.raises(RuntimeError):
            predict_file(predictor, source, out, chunk=5, progress=False)
        assert not out.exists() and list(tmp_path.glob(".out*")) == []
        out.write_bytes(b"old")
        calls.clear()
        with pytest.raises(RuntimeError):
            predict_file(predictor, source, out, chunk=5, progress=False)
        assert out.read_bytes() == b"old"
        monkeypatch.undo()


@pytest.mark.slow
def test_an_interrupted_command_leaves_no_output(batch_run, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("".join(f"tweet number {i} :)\n" for i in range(200_000)), "utf-8")
    out = tmp_path / "out.jsonl"
    argv = [sys.executable, "-m", "tweetsent.cli", "predict", str(batch_run), "--input"]
    argv += [str(source), "--output", str(out), "--chunk-size", "50", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.jsonl.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, child.stderr.read()
    time.sleep(0.5)  # some chunks written to the temporary file
    child.send_signal(signal.SIGTERM)
    assert child.wait(60) == 130
    assert "interrupted" in child.stderr.read()
    assert not out.exists() and list(tmp_path.glob(".out*")) == []


def test_progress_shows_rate_and_eta(predictor, tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", texts())
    assert estimate_rows(source) == len(texts()) + 1  # lines, the bad one included
    predict_file(predictor, source, tmp_path / "o.jsonl", chunk=7, progress=True)
    err = capsys.readouterr().err
    assert "tweets/s" in err and "100%" in err
    predict_file(predictor, source, tmp_path / "o.jsonl", chunk=7, progress=False)
    assert "tweets/s" not in capsys.readouterr().err


def test_cli_parquet_shards_and_bad_flags(batch_run, tmp_path):
    from tweetsent.cli import main

    shards = tmp_path / "shards"
    shards.mkdir()
    write_parquet(shards / "a.parquet", texts(8))
    write_parquet(shards / "b.parquet", texts(4))
    args = ["predict", str(batch_run), "--input", str(shards), "--no-progress"]
    assert main([*args, "--output", str(tmp_path / "out") + "/", "--chunk-size", "3"]) == 0
    assert len(pq.read_table(tmp_path / "out" / "b.parquet")) == 4 + 6 - 2
    assert main([*args, "--output", str(tmp_path / "all.csv")]) == 0  # a folder into one file
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 1 + 12 + 12 - 4
    with pytest.raises(TweetsentError, match="--chunk-size must be at least 1"):
        from tweetsent.cli import COMMANDS, build_parser

        COMMANDS["predict"](build_parser().parse_args([*args, "--chunk-size", "0"]))


def test_output_dash_is_standard_output_and_a_trailing_slash_a_folder(
    batch_run, tmp_path, monkeypatch, capsys
):
    """`--output -` writes to standard output (JSONL, or CSV with --output-format), never a
    file named `-`; `--output newdir/` with a file input or tweets as arguments is one line
    (a folder gets shards only from --input FOLDER), never a file named `newdir`."""
    from tweetsent.cli import main

    monkeypatch.chdir(tmp_path)
    source = write_jsonl(tmp_path / "in.jsonl", texts(8))
    args = ["predict", str(batch_run), "--no-progress", "--output"]
    assert main([*args, "-", "--input", str(source)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(texts(8)) - 2 and all("probs" in json.loads(x) for x in lines)
    assert main([*args, "-", "--input", str(source), "--output-format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("id,text,lang,label,prob_")
    assert main([*args, "-", "good day", "--output-format", "tsv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("good day\t")
    assert main([*args, "-", "--input", str(source), "--output-format", "parquet"]) == 2
    assert "Parquet output needs --output FILE" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()
    for given in (["--input", str(source)], ["good day"]):
        assert main([*args, "newdir/", *given]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: newdir/: ends in '/', a folder") and err.count("\n") == 1
    assert not (tmp_path / "newdir").exists()
    assert main([*args, "o.csv", "good day", "bad day"]) == 0  # tweets as arguments, to a file
    assert len((tmp_path / "o.csv").read_text().splitlines()) == 3


def test_jsonl_lines_are_json_dumps_of_the_predictions(predictor):
    import io

    from tweetsent.runs.writers import JsonlWriter, Scored

    tricky = ['say "hi" \\ there', "tab\there", "ctrl \x01\x1f", "café 😂 \u2028 ü", "", "ok"]
    handle = io.StringIO()
    writer = JsonlWriter(handle, predictor.labels)
    writer.write(None, Scored.of(tricky, predictor.predict_arrays(tricky)))
    expected = [json.dumps(p.to_dict(), ensure_ascii=False) for p in predictor.predict(tricky)]
    assert handle.getvalue().split("\n") == [*expected, ""]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_queued_chunks_keep_the_order_and_the_output(batch_run, tmp_path, suffix, monkeypatch):
    """With a scorer that works beside the caller (here ONNX Runtime on 2 threads), chunks are
    queued and written as their scores arrive: tiny chunks and a tiny in-flight bound give the
    same file as one chunk, in input order."""
    import tweetsent.runs.batch as batch_module

    pytest.importorskip("onnxruntime", reason="the onnx backend needs onnxruntime")
    source = write_jsonl(tmp_path / "in.jsonl", texts(150))
    with Predictor.from_run(batch_run, batch_size=4, workers=2, backend="onnx") as onnx:
        assert onnx.background
        whole = tmp_path / f"whole{suffix}"
        predict_file(onnx, source, whole, progress=False)
        monkeypatch.setattr(batch_module, "QUEUED_CHUNK", 5)
        monkeypatch.setattr(batch_module, "QUEUED_ROWS", 12)
        queued = tmp_path / f"queued{suffix}"
        count = predict_file(onnx, source, queued, progress=False)
        expected = [t.strip() for t in texts(150) if t.strip()]
        assert count == len(expected)
        if suffix == ".parquet":
            table = pq.read_table(queued)
            assert table.equals(pq.read_table(whole))
            assert table.column("text").to_pylist() == expected
            labels = table.column("label").to_pylist()
        else:
            assert queued.read_bytes() == whole.read_bytes()
            if suffix == ".jsonl":
                labels = [json.loads(line)["label"] for line in queued.read_text().splitlines()]
            else:
                import csv

                labels = [r["label"] for r in csv.DictReader(queued.open(encoding="utf-8"))]
        assert labels == onnx.predict_labels(expected)
        torch_labels = Predictor.from_run(batch_run).predict_labels(expected)
        assert sum(a == b for a, b in zip(labels, torch_labels, strict=True)) == len(expected)


def test_an_output_that_is_the_input_is_refused(predictor, tmp_path):
    """Issue 26 item 1: `--output` naming the input (itself, a symlink or a hard link to it;
    a shard folder equal to or inside the input folder) is one line, and the input is kept."""
    source = write_jsonl(tmp_path / "same.jsonl", texts(8))
    before = source.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(source)
    os.link(source, tmp_path / "hard.jsonl")
    for output in (source, tmp_path / "link.jsonl", tmp_path / "hard.jsonl"):
        with pytest.raises(TweetsentError, match="would destroy the input"):
            predict_file(predictor, source, output, progress=False)
    with pytest.raises(TweetsentError, match="would destroy the input"):
        predict_file(predictor, tmp_path / "*.jsonl", source, progress=False)
    shards = tmp_path / "shards"
    shards.mkdir()
    write_jsonl(shards / "a.jsonl", texts(4))
    for output in (shards, shards / "inner", tmp_path / "shards" / ".." / "shards"):
        with pytest.raises(TweetsentError, match="inside the input folder"):
            predict_shards(predictor, shards, output, progress=False)
    assert source.read_bytes() == before
    assert sorted(p.name for p in shards.iterdir()) == ["a.jsonl"]
