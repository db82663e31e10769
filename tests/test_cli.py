"""The command line: a thin layer whose user mistakes end in one line and exit status 2."""

import json
import os
import shutil
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


def test_help_speaks_to_users(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]  # after the usage lines
    assert description.startswith("Sentiment analysis of tweets")
    assert "argparse" not in text and "Python API" not in text
    for example in ("tweetsent train --data", "tweetsent predict", "tweetsent serve"):
        assert example in text


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
    assert "train: skipped 2 malformed row(s)" in ok.stdout + ok.stderr
    assert f"{data}:241: " in ok.stdout + ok.stderr
    strict = run_cli("train", "--data", str(data), "--out", str(tmp_path / "s"), "--strict", *TINY)
    assert strict.returncode == 2
    assert f"{data}:241" in strict.stderr and "Traceback" not in strict.stderr


def test_train_flags_for_lexicons_clusters_and_the_ngram_model(tmp_path):
    from tweetsent.cli import build_parser, config_from_args

    args = ["train", "--data", "d.tsv", "--out", "r", "--lexicon", "vader", "pmi:B.txt"]
    args += ["--clusters", "C.txt", "--model", "ngram", "--tweet-features", "--no-lexicon-vocab"]
    config = config_from_args(build_parser().parse_args(args))
    assert config.embed.lexicon == ("vader", "pmi:B.txt") and config.embed.clusters == "C.txt"
    assert config.model.kind == "ngram" and config.model.tweet_features
    assert not config.embed.lexicon_vocab and config.data.train == ["d.tsv"]
    recipe = tmp_path / "r.toml"
    recipe.write_text('[embed]\nlexicon = ["a.txt", "b.txt"]\nclusters = "c.txt"\n')
    plain = ["train", "--config", str(recipe), "--data", "d.tsv", "--out", "r"]
    config = config_from_args(build_parser().parse_args(plain))  # no flag: the file's lists
    assert config.embed.lexicon == ("a.txt", "b.txt") and config.embed.clusters == "c.txt"
    assert config.embed.lexicon_vocab and not config.model.tweet_features
    config = config_from_args(build_parser().parse_args([*plain, "--lexicon", "z.txt"]))
    assert config.embed.lexicon == ("z.txt",)  # a flag replaces the list


def test_train_flags_for_the_cnn(tmp_path):
    from tweetsent.cli import build_parser, config_from_args

    args = ["train", "--data", "d.tsv", "--out", "r", "--model", "cnn", "--cnn-filters", "32"]
    config = config_from_args(build_parser().parse_args([*args, "--cnn-widths", "2", "3"]))
    assert config.model.kind == "cnn" and config.model.cnn_filters == 32
    assert config.model.cnn_widths == (2, 3)
    assert config_from_args(build_parser().parse_args(args)).model.cnn_widths == (1, 2, 3, 4)
    bad = run_cli("train", "--data", "d.tsv", "--out", str(tmp_path / "r"), "--cnn-widths", "x")
    assert bad.returncode == 2 and "--cnn-widths" in bad.stderr and "Traceback" not in bad.stderr


def test_train_ngram_with_lexicons_and_clusters(tiny_tsv, tmp_path, capsys):
    scores = tmp_path / "scores.tsv"
    scores.write_text("love\t3\nhate\t-3\n", encoding="utf-8")
    polarity = tmp_path / "bing.csv"
    polarity.write_text("great,positive\nawful,negative\n", encoding="utf-8")
    clusters = tmp_path / "clusters.txt"
    clusters.write_text("0101\tlove\t5\n0110\thate\t3\n", encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", "--data", str(tiny_tsv), "--out", str(out), *TINY, "--model", "ngram"]
    args += ["--lexicon", str(scores), str(polarity), "--clusters", str(clusters)]
    assert main(args) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["embed"]["lexicon"] == [str(scores), str(polarity)]
    assert saved["embed"]["clusters"] == str(clusters) and saved["model"]["kind"] == "ngram"
    capsys.readouterr()
    assert main(["predict", str(out), "love it", "hate it"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.parametrize(
    ("flag", "name", "text", "line"),
    [
        ("--clusters", "clusters.txt", "0101\tlove\t5\n0110 hate 3\n", 2),
        ("--clusters", "clusters.txt", "0101\tlove\t5\n01x0\thate\t3\n", 2),
        ("--lexicon", "lex.tsv", "love\t3\nhate\t-3\nbad\tvery\n", 3),
        ("--lexicon", "pmi:lex.tsv", "#love\t3\t10\t1\nhate\t-3\t1\n", 2),
    ],
)
def test_malformed_lexicon_or_cluster_file_is_one_line_with_its_line(
    flag, name, text, line, tiny_tsv, tmp_path
):
    path = tmp_path / name.partition(":")[2] if ":" in name else tmp_path / name
    path.write_text(text, encoding="utf-8")
    spec = f"{name.partition(':')[0]}:{path}" if ":" in name else str(path)
    result = run_cli("train", "--data", str(tiny_tsv), "--out", str(tmp_path / "r"), flag, spec)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:{line}: "), result.stderr
    assert not (tmp_path / "r").exists()  # failed before the run directory was made


def _one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_predict_output_never_replaces_a_link_fifo_or_directory(trained, tmp_path):
    import os
    import stat
    import threading

    src = tmp_path / "in.txt"
    src.write_text("love it\nhate it\n")
    flags = ["predict", str(trained), "--input", str(src), "--no-progress", "--output"]
    target = tmp_path / "real.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert run_cli(*flags, str(link)).returncode == 0
    assert link.is_symlink() and len(target.read_text().splitlines()) == 2
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert run_cli(*flags, str(fifo)).returncode == 0
    reader.join(timeout=30)
    assert got and len(got[0].splitlines()) == 2
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    _one_line_error(run_cli(*flags, str(tmp_path)), str(tmp_path), "is a directory")
    assert tmp_path.is_dir()


@pytest.mark.parametrize("rows", [1, 240])
def test_an_empty_validation_split_is_one_line(rows, tiny_tsv, tmp_path):
    data = tmp_path / "few.tsv"
    data.write_text("".join(tiny_tsv.read_text().splitlines(keepends=True)[:rows]))
    flags = ["--data", str(data), "--out", str(tmp_path / "r"), *TINY]
    if rows > 1:
        flags += ["--valid-fraction", "0"]
    _one_line_error(run_cli("train", *flags), "validation split is empty", "--valid")


def test_train_refuses_to_overwrite_a_run_without_overwrite(trained, tiny_tsv, tmp_path):
    before = (trained / "model.safetensors").read_bytes()
    flags = ["train", "--data", str(tiny_tsv), "--out", str(trained), *TINY]
    _one_line_error(run_cli(*flags, "--cell", "gru"), "finished run", "--overwrite")
    assert (trained / "model.safetensors").read_bytes() == before
    (trained / "metrics.json").unlink()  # as if killed before the end
    _one_line_error(run_cli(*flags), "unfinished run", "--resume")
    assert main([*flags, "--overwrite", "--epochs", "1"]) == 0
    assert json.loads((trained / "config.json").read_text())["train"]["epochs"] == 1


def test_command_exits_with_the_collector_frozen():
    """The `tweetsent` command (main() reading sys.argv) freezes the collector at exit, which
    spares torch's object graph the shutdown collections (~0.6 s a command, issue 15)."""
    code = (
        "import atexit, gc, sys\n"
        "from tweetsent.cli import main\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"  # runs last
        "sys.argv = ['tweetsent', {argv}]\n"
        "try:\n"
        "    main({call})\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    command = subprocess.run(
        [sys.executable, "-c", code.format(argv="'--version'", call="")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert command.returncode == 0, command.stderr
    assert command.stdout.splitlines()[-1] == "frozen True"
    library = subprocess.run(  # a Python caller passing argv keeps its collector
        [sys.executable, "-c", code.format(argv="'--version'", call="['--version']")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert library.stdout.splitlines()[-1] == "frozen False"


def test_train_overwrite_replaces_the_run_wholly_and_never_writes_outside(
    trained, tiny_tsv, tmp_path, capsys
):
    """Issue 26 item 10: `--overwrite` with RUN/checkpoint a link to another folder wrote into
    it and deleted its epoch files; the old run's extra files (members/, test_metrics.json)
    stayed; a non-empty folder that is not a run was written over."""
    flags = ["train", "--data", str(tiny_tsv), *TINY, "--epochs", "1"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "epoch-9.model.safetensors").write_bytes(b"keep me")
    shutil.rmtree(trained / "checkpoint", ignore_errors=True)
    (trained / "checkpoint").symlink_to(elsewhere)
    assert main([*flags, "--out", str(trained), "--overwrite"]) == 2
    assert "checkpoint: a link out of the run directory" in capsys.readouterr().err
    assert os.listdir(elsewhere) == ["epoch-9.model.safetensors"]
    (trained / "checkpoint").unlink()
    (trained / "members").mkdir()
    (trained / "test_metrics.json").write_text("{}")
    assert main([*flags, "--out", str(trained), "--overwrite"]) == 0
    assert not (trained / "members").exists() and not (trained / "test_metrics.json").exists()
    assert (trained / "model.safetensors").is_file()
    assert not [p for p in trained.parent.iterdir() if p.name.startswith(f".{trained.name}")]
    other = tmp_path / "notes"
    other.mkdir()
    (other / "history.csv").write_text("mine\n")
    for extra in ([], ["--overwrite"]):
        assert main([*flags, "--out", str(other), *extra]) == 2
        assert "not empty and not a run directory" in capsys.readouterr().err
    assert (other / "history.csv").read_text() == "mine\n"


def test_predict_takes_its_tweets_anywhere_among_the_options(capsys):
    """`predict RUN --backend onnx "good day"`: tweets after (or between) options are tweets,
    in order; an unknown option is still argparse's one-line error (exit 2), as is a stray
    word after a command that takes no such list."""
    from tweetsent.cli import build_parser, parse_args

    argv = ["predict", "RUN", "first", "--backend", "onnx", "good day", "--device", "cpu", "-"]
    args = parse_args(build_parser(), argv)
    assert (args.run, args.texts, args.backend) == ("RUN", ["first", "good day", "-"], "onnx")
    args = parse_args(build_parser(), ["predict", "RUN", "--device", "cpu", "--", "-5 lol", "ok"])
    assert args.texts == ["-5 lol", "ok"]
    unknown = ["predict", "RUN", "good day", "--bogus"]
    for bad in (unknown, ["export", "RUN", "--format", "onnx", "x"]):
        with pytest.raises(SystemExit) as exc:
            parse_args(build_parser(), bad)
        assert exc.value.code == 2
        assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "RUN", "good day", "--backend", "onnx", "--no-progress"],
        ["train", "--data", "a.tsv", "--hidden", "32", "--lexicon", "vader", "--no-bidirectional"],
        ["elmo", "cache", "--help"],
        ["data", "info"],
    ],
)
def test_a_parser_built_for_one_command_parses_and_reads_as_the_whole(argv, capsys) -> None:
    """`main` builds the subparser of the command it runs alone (start-up time); its usage,
    help and parse are those of the parser with every command."""
    from tweetsent.cli import build_parser, parse_args

    whole, one = build_parser(), build_parser(argv[0])
    assert one.format_usage() == whole.format_usage()
    results = []
    for parser in (whole, one):
        try:
            results.append(vars(parse_args(parser, argv)))
        except SystemExit as exc:  # --help
            results.append((exc.code, capsys.readouterr()))
    assert results[0] == results[1]
