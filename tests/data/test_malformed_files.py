"""Bad input: each malformed row is skipped and reported at its line (strict: DataError there);
a file that is unusable as a whole fails with one clear DataError."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tweetsent.data import read_examples, read_texts
from tweetsent.data.examples import MAX_REASONS
from tweetsent.errors import DataError

GOOD_SEMEVAL = b"1\tpositive\tgood day\n"

# name, file name, content, (line, reason fragment) of each skipped row, rows kept
ROW_CASES = [
    (
        "semeval field count",
        "a.tsv",
        GOOD_SEMEVAL + b"2\tnegative\n3\tneutral\tok\n",
        [(2, "found 2 field(s)")],
        2,
    ),
    (
        "semeval empty text",
        "a.tsv",
        GOOD_SEMEVAL + b'2\tnegative\t   \n3\tneutral\t""\n',
        [(2, "empty text"), (3, "empty text")],
        1,
    ),
    ("semeval empty label", "a.tsv", GOOD_SEMEVAL + b"2\t \tsome text\n", [(2, "empty label")], 1),
    (
        "semeval undecodable",
        "a.tsv",
        GOOD_SEMEVAL + b"2\tnegative\tcaf\xe9 bad\n",
        [(2, "undecodable bytes (not utf-8) at byte 15")],
        1,
    ),
    (
        "semeval crlf",
        "a.tsv",
        b"1\tpositive\tgood\r\n2\tnegative\r\n3\tneutral\tok\t\r\n",
        [(2, "found 2 field(s)")],
        2,
    ),
    (
        "jsonl bad line",
        "a.jsonl",
        b'{"text": "ok", "label": "pos"}\n{"text": "broken", \n[1, 2]\n'
        b'{"text": "", "label": "neg"}\n'
        b'{"text": "fine", "label": "neg"}\n{"text": "no label"}\n',
        [
            (2, "bad JSON"),
            (3, "expected a JSON object, found list"),
            (4, "empty text"),
            (6, "no label"),
        ],
        2,
    ),
    (
        "csv field count",
        "a.csv",
        b"text,label\nhello,pos\ntoo,many,fields\nfine,neg\n",
        [(3, "expected 2 fields, found 3")],
        2,
    ),
    (
        "csv undecodable",
        "a.csv",
        b"text,label\nhello,pos\ncaf\xe9,neg\nfine,neg\n",
        [(3, "undecodable bytes")],
        2,
    ),
    (
        "csv unbalanced quote",
        "a.csv",
        b'text,label\nhello,pos\n"never closed,neg\n' + b"x,neg\n" * 30,
        [(3, "unbalanced quote")],
        1,
    ),
    (
        "tsv field count",
        "a.tsv",
        b"text\tlabel\nhello\tpos\nno label column here\nfine\tneg\n",
        [(3, "expected 2 fields, found 1")],
        2,
    ),
    (
        "sentiment140 field count",
        "s.csv",
        b'"0","1","d","q","u","sad"\n"4","2","d","q","u"\n"4","3","d","q","u","happy"\n',
        [(2, "expected 6 fields")],
        2,
    ),
]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name,fname,content,skips,kept", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_bad_rows_are_counted_with_their_line(tmp_path, name, fname, content, skips, kept):
    f = write(tmp_path / fname, content)
    ex, report = read_examples([f])
    assert len(ex) == kept
    assert report.rows_skipped == len(skips)
    assert [(p, line) for p, line, _ in report.skips] == [(str(f), line) for line, _ in skips]
    for (_, _, reason), (_, fragment) in zip(report.skips, skips, strict=True):
        assert fragment in reason


@pytest.mark.parametrize("name,fname,content,skips,kept", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_strict_mode_stops_at_the_first_bad_row(tmp_path, name, fname, content, skips, kept):
    f = write(tmp_path / fname, content)
    line, fragment = skips[0]
    with pytest.raises(DataError, match=re.escape(fragment)) as info:
        read_examples([f], strict=True)
    assert (info.value.path, info.value.line) == (str(f), line)
    assert str(info.value).startswith(f"{f}:{line}: ")


def test_skip_reasons_are_capped_but_all_counted(tmp_path):
    bad = b"".join(b"%d\tnegative\n" % i for i in range(30))
    f = write(tmp_path / "a.tsv", GOOD_SEMEVAL + bad)
    ex, report = read_examples([f])
    assert len(ex) == 1
    assert report.rows_skipped == 30
    assert len(report.skips) == MAX_REASONS
    assert "and 10 more" in report.summary()


def test_blank_lines_are_not_rows(tmp_path):
    f = write(tmp_path / "a.tsv", b"\n" + GOOD_SEMEVAL + b"  \n\r\n2\tnegative\tbad\n\n")
    ex, report = read_examples([f])
    assert ex.lines.tolist() == [2, 5]
    assert (report.rows_skipped, report.blank_lines) == (0, 4)


@pytest.mark.parametrize(
    "fname,content,message",
    [
        (
            "a.csv",
            b"tweet,label\nhi,pos\n",
            "no text column 'text' (set data.text_col); columns: 'tweet', 'label'",
        ),
        ("a.csv", b"text,polarity\nhi,pos\n", "no label column 'label'"),
        ("a.tsv", b"body\tlabel\nhi\tpos\n", "columns: 'body', 'label'"),
        ("a.jsonl", b'{"body": "hi", "label": "pos"}\n', "columns: 'body', 'label'"),
    ],
)
def test_missing_column_lists_the_columns(tmp_path, fname, content, message):
    f = write(tmp_path / fname, content)
    with pytest.raises(DataError) as info:
        read_examples([f])
    assert message in str(info.value)
    assert str(f) in str(info.value)


def test_missing_label_column_is_fine_for_prediction(tmp_path):
    f = write(tmp_path / "a.csv", b"text,polarity\nhi,pos\n")
    assert read_texts(f).texts == ["hi"]


@pytest.mark.parametrize(
    "content,message",
    [
        ("text\tlabel\nhello\tpositive\n".encode("utf-16"), "UTF-16"),
        ("text\tlabel\nhello\tpositive\n".encode("utf-16-le"), "NUL bytes"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
        (b"PK\x03\x04" + b"\x14" * 20, "zip archive"),
    ],
)
def test_a_file_that_is_not_text_is_one_error(tmp_path, content, message):
    f = write(tmp_path / "a.tsv", content)
    with pytest.raises(DataError, match=message) as info:
        read_examples([f])
    assert info.value.path == f


def test_a_file_in_another_encoding_is_one_error(tmp_path):
    f = write(
        tmp_path / "a.tsv", "1\tpositive\tcaf\u00e9\n2\tnegative\tna\u00efve\n".encode("latin-1")
    )
    with pytest.raises(DataError, match="not utf-8 text: none of its lines could be decoded"):
        read_examples([f])


def test_empty_file(tmp_path):
    empty = write(tmp_path / "empty.tsv", b"")
    good = write(tmp_path / "good.tsv", GOOD_SEMEVAL)
    ex, report = read_examples([empty, good])
    assert len(ex) == 1 and report.empty_files == [str(empty)]
    assert "empty file" in report.summary()
    with pytest.raises(DataError, match="no usable rows"):
        read_examples([empty])
    with pytest.raises(DataError, match="empty file"):
        read_examples([empty, good], strict=True)


def test_only_bad_rows_is_an_error_naming_the_first_problem(tmp_path):
    f = write(tmp_path / "a.tsv", b"1\tpositive\t\n2\tnegative\n")
    expected = r"no usable rows read \(first problem: empty text at line 1"
    with pytest.raises(DataError, match=expected):
        read_examples([f])


def test_tweeteval_label_file_given_by_mistake(tmp_path):
    write(tmp_path / "train_text.txt", b"hi\n")
    labels = write(tmp_path / "train_labels.txt", b"0\n")
    with pytest.raises(DataError, match="TweetEval label file"):
        read_examples([labels])


def test_tweeteval_without_mapping(tmp_path):
    write(tmp_path / "train_labels.txt", b"0\n")
    text = write(tmp_path / "train_text.txt", b"hi\n")
    with pytest.raises(DataError, match="without mapping.txt"):
        read_examples([text])


def test_a_folder_given_as_a_file_format(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_examples([tmp_path / "nope" / "a.tsv"], format="semeval")


def test_a_pipe_is_refused_in_one_line_not_read_without_its_start(tmp_path):
    """A FIFO cannot be read twice: sniffing its format would eat the first 8 KB the reader
    then never sees. Nothing opens it (no writer is needed for this test)."""
    fifo = tmp_path / "tweets.jsonl"
    os.mkfifo(fifo)
    for read in (read_examples, read_texts):
        with pytest.raises(DataError, match="is a pipe or device, not a regular file"):
            read([fifo] if read is read_examples else fifo)


def test_bare_cr_line_endings_are_line_ends(tmp_path):
    """Old Mac files end lines with a bare CR: 489 tweets are 489 rows, in every line format."""
    texts = [f"tweet number {i} :)" for i in range(489)]
    txt = tmp_path / "mac.txt"
    txt.write_bytes("\r".join(texts).encode() + b"\r")
    assert read_texts(txt).texts == texts
    semeval = tmp_path / "mac.tsv"
    labels = ["positive", "negative", "neutral"]
    rows = [f"{i}\t{labels[i % 3]}\t{t}" for i, t in enumerate(texts)]
    semeval.write_bytes("\r".join(rows).encode())
    examples, _ = read_examples(semeval, format="semeval")
    assert len(examples) == 489 and examples.texts[-1] == texts[-1]
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(b"one\rtwo\r\nthree\nfour")
    assert read_texts(mixed).texts == ["one", "two", "three", "four"]


def test_an_overlong_line_is_a_counted_skip_never_read_whole(tmp_path):
    from tweetsent.data.parsers import MAX_LINE_BYTES

    path = tmp_path / "long.txt"
    path.write_bytes(b"first\n" + b"x" * (10 * MAX_LINE_BYTES) + b"\nlast\n")
    rows = read_texts(path)
    assert rows.texts == ["first", "last"]
    assert rows.report.skipped == 1
    assert rows.report.skips[0][1:] == (
        2,
        f"line longer than {MAX_LINE_BYTES:,} bytes (not a tweet)",
    )
    labelled = tmp_path / "long.tsv"
    labelled.write_bytes(b"1\tpositive\tok\n2\tnegative\t" + b"y" * (2 * MAX_LINE_BYTES) + b"\n")
    with pytest.raises(DataError, match=r"long.tsv:2: line longer than"):
        read_examples(labelled, format="semeval", strict=True)


_PEAK_MEMORY = """
import sys
from tweetsent.data.readers import read_chunks

def peak_kb():  # this process's high-water RSS (ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

base = peak_kb()
report = read_chunks(sys.argv[1], lambda chunk: None, size=10)
print(report.rows_read, report.rows_skipped, (peak_kb() - base) // 1024)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status")
@pytest.mark.parametrize(
    ("name", "line", "rows"),
    [
        ("long.csv", b'"%s",positive\n', b"text,label\n%sgood day,positive\n"),
        ("long.tsv", b"%s\tpositive\n", b"text\tlabel\n%sgood day\tpositive\n"),
        ("long.jsonl", b'{"text": "%s", "label": "positive"}\n', b'%s{"text": "good day"}\n'),
    ],
    ids=["csv", "tsv", "jsonl"],
)
def test_a_long_line_is_never_held_whole_in_any_table_format(tmp_path, name, line, rows):
    """A 48 MB line in a CSV, TSV or JSONL file is a counted skip read in 64 KB pieces: the
    reader's peak memory grows by far less than the line (the csv module held it whole)."""
    import subprocess
    import sys

    path = tmp_path / name
    start, end = rows.split(b"%s")
    before, after = line.split(b"%s")
    with open(path, "wb") as handle:  # written in pieces: this process stays small too
        handle.write(start + before)
        for _ in range(48):
            handle.write(b"a" * (1 << 20))
        handle.write(after + end)
    child = subprocess.run(
        [sys.executable, "-c", _PEAK_MEMORY, str(path)], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr
    read, skipped, grown_mb = map(int, child.stdout.split())
    assert (read, skipped) == (1, 1)
    assert grown_mb < 16, f"peak RSS grew by {grown_mb} MB reading a 48 MB line"


def test_a_long_csv_line_is_skipped_at_its_line_and_the_rows_after_it_are_read(tmp_path):
    from tweetsent.data.parsers import MAX_LINE_BYTES

    path = tmp_path / "long.csv"
    big = b"x" * (2 * MAX_LINE_BYTES)
    path.write_bytes(
        b"\xef\xbb\xbftext,label\r\nok,positive\r\n" + big + b",negative\r\n"
        b'"two\nlines",neutral\rlast,negative'
    )
    examples, report = read_examples(path)
    assert examples.texts == ["ok", "two\nlines", "last"]
    assert [examples.source(i)[1] for i in range(3)] == [2, 4, 6]
    assert report.skips[0][1:] == (3, f"line longer than {MAX_LINE_BYTES:,} bytes (not a tweet)")
    with pytest.raises(DataError, match=r"long.csv:3: line longer than"):
        read_examples(path, strict=True)


def test_a_lone_surrogate_escape_in_json_is_a_counted_skip(tmp_path):
    """`\\ud800` without its pair decodes to a string no UTF-8 output can hold: skip the row at
    its line (a paired escape, an emoji, is kept)."""
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"text": "ok \\ud800 bad", "label": "positive"}\n'
        '{"text": "pair \\ud83d\\ude00", "label": "positive"}\n'
        '{"text": "id \\ud800", "label": "negative", "id": "\\udfff"}\n'
        '{"text": "upper \\uDBFF case", "label": "neutral"}\n',
        encoding="utf-8",
    )
    examples, report = read_examples([path])
    assert examples.texts == ["pair \U0001f600"]
    assert [line for _, line, _ in report.skips] == [1, 3, 4]
    assert "unpaired surrogate" in report.skips[0][2]
