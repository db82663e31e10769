"""Readers on tiny fixtures written here, one per format, plus path expansion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tweetsent.data import read_examples, read_texts
from tweetsent.errors import DataError


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def test_semeval_rows_labels_and_sources(tmp_path):
    f = write(tmp_path / "a.tsv", "1\tpositive\tgood day\n2\tnegative\tbad day\n3\tneutral\tmeh\n")
    ex, report = read_examples([f])
    assert ex.texts == ["good day", "bad day", "meh"]
    assert ex.labels == ["positive", "negative", "neutral"]
    assert ex.sources == [(str(f), 1), (str(f), 2), (str(f), 3)]
    assert report.files == {str(f): "semeval"}
    assert (report.rows_read, report.rows_skipped) == (3, 0)


def test_semeval_crlf_trailing_field_and_no_final_newline(tmp_path):
    f = write(tmp_path / "t.tsv", "1\tpositive\tgood\t\r\n2\tnegative\tbad\t\r\n3\tneutral\tok\t")
    ex, report = read_examples([f])
    assert ex.texts == ["good", "bad", "ok"]
    assert ex.labels == ["positive", "negative", "neutral"]
    assert report.rows_skipped == 0


def test_semeval_quotes_tabs_and_escapes(tmp_path):
    f = write(
        tmp_path / "q.tsv",
        (
            '1\tpositive\t"He said ""hi"" to me"\n'  # wrapped: unwrap, unescape ""
            '2\tnegative\t"only an opening quote\n'  # unbalanced: kept as is
            "3\tneutral\tpart one\tpart two\n"  # extra tab inside the text: joined
            "4\tneutral\tPlus\\u002c it\\u2019s fine\n"  # literal escapes of the 2013 files
        ),
    )
    ex, _ = read_examples([f])
    assert ex.texts == [
        'He said "hi" to me',
        '"only an opening quote',
        "part one part two",
        "Plus, it\u2019s fine",
    ]


def test_semeval_not_available_is_skipped(tmp_path):
    f = write(tmp_path / "na.tsv", "1\tpositive\tNot Available\n2\tnegative\tbad\n")
    ex, report = read_examples([f])
    assert ex.texts == ["bad"]
    assert report.skips == [(str(f), 1, "tweet text not available (deleted tweet)")]


def _tweeteval(folder: Path, split: str, texts: list[str], labels: list[str]) -> Path:
    write(folder / "mapping.txt", "0\tnegative\n1\tneutral\n2\tpositive\n")
    write(folder / f"{split}_labels.txt", "".join(f"{x}\n" for x in labels))
    return write(folder / f"{split}_text.txt", "".join(f"{t}\n" for t in texts))


def test_tweeteval_file_and_folder(tmp_path):
    folder = tmp_path / "sentiment"
    train = _tweeteval(folder, "train", ["so good", "awful", "a bus"], ["2", "0", "1"])
    _tweeteval(folder, "val", ["nice"], ["2"])
    ex, report = read_examples([train])
    assert ex.labels == ["positive", "negative", "neutral"]
    assert report.files == {str(train): "tweeteval"}
    ex, report = read_examples([folder])  # every split in the folder, sorted
    assert ex.texts == ["so good", "awful", "a bus", "nice"]
    assert len(report.files) == 2


def test_tweeteval_line_count_mismatch_is_an_error(tmp_path):
    train = _tweeteval(tmp_path, "train", ["a", "b", "c"], ["0", "1"])
    with pytest.raises(DataError, match="3 lines here but 2 in train_labels.txt"):
        read_examples([train])


def test_tweeteval_unknown_index_is_skipped(tmp_path):
    train = _tweeteval(tmp_path, "train", ["a", "b"], ["0", "7"])
    ex, report = read_examples([train])
    assert ex.texts == ["a"]
    assert report.skips == [(str(train), 2, "label '7' not in mapping.txt")]


def test_sentiment140_latin1_and_polarity(tmp_path):
    rows = [
        b'"0","1467810369","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","user1","caf\xe9 is closed"\n',
        b'"4","1467810672","Mon Apr 06 22:19:49 PDT 2009","NO_QUERY","user2","love it, really"\n',
        b'"2","1467810917","Mon Apr 06 22:19:53 PDT 2009","kindle2","user3","a ""quoted"" word"\n',
    ]
    f = write(tmp_path / "training.csv", b"".join(rows))
    ex, report = read_examples([f])
    assert report.files == {str(f): "sentiment140"}
    assert ex.texts == ["caf\u00e9 is closed", "love it, really", 'a "quoted" word']
    assert ex.labels == ["negative", "positive", "neutral"]
    rows_in = read_texts(f)
    assert rows_in.columns == ["polarity", "id", "date", "query", "user", "text"]
    assert rows_in.rows[1]["user"] == "user2"


def test_csv_with_header_custom_columns_and_multiline_field(tmp_path):
    f = write(
        tmp_path / "d.csv",
        'id,tweet,sentiment\n1,"first line\nsecond line",pos\n2,"plain, with comma",neg\n',
    )
    ex, report = read_examples([f], text_col="tweet", label_col="sentiment")
    assert ex.texts == ["first line\nsecond line", "plain, with comma"]
    assert ex.labels == ["pos", "neg"]
    assert ex.lines.tolist() == [2, 4]  # a row is reported at the line where it starts
    assert report.files == {str(f): "csv"}


def test_csv_trailing_separators_and_short_rows(tmp_path):
    f = write(tmp_path / "t.csv", "text,label,user,\nhello,positive\nbye,negative,ann,,\n")
    ex, report = read_examples([f])
    assert (ex.texts, ex.labels) == (["hello", "bye"], ["positive", "negative"])
    assert read_texts(f).rows[0] == {"text": "hello", "label": "positive", "user": ""}


def test_csv_with_utf8_bom(tmp_path):
    f = write(tmp_path / "bom.csv", "\ufefftext,label\nhello,positive\n")
    ex, _ = read_examples([f])
    assert ex.texts == ["hello"]


def test_tsv_with_header(tmp_path):
    f = write(tmp_path / "d.tsv", "text\tlabel\tuser\nhello world\tpositive\tbob\n")
    ex, report = read_examples([f])
    assert report.files == {str(f): "tsv"}
    assert (ex.texts, ex.labels) == (["hello world"], ["positive"])


def test_jsonl_with_numeric_labels(tmp_path):
    lines = [{"text": "great", "label": 1, "extra": [1]}, {"text": "awful", "label": -1}]
    f = write(tmp_path / "d.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    ex, report = read_examples([f])
    assert (ex.texts, ex.labels) == (["great", "awful"], ["1", "-1"])
    assert read_texts(f).rows[0]["extra"] == [1]


def test_txt_needs_no_labels_but_cannot_train(tmp_path):
    f = write(tmp_path / "input.txt", "first tweet\n\n  second tweet  \n")
    rows = read_texts(f)
    assert rows.texts == ["first tweet", "second tweet"]
    assert rows.columns == ["text"]
    assert rows.report.blank_lines == 1
    with pytest.raises(DataError, match="no labels"):
        read_examples([f])


def test_read_texts_on_labelled_csv_keeps_every_column(tmp_path):
    f = write(tmp_path / "in.csv", "id,text,label\n7,hi there,\n8,bye,negative\n")
    rows = read_texts(f)
    assert rows.columns == ["id", "text", "label"]
    assert rows.rows == [
        {"id": "7", "text": "hi there", "label": ""},
        {"id": "8", "text": "bye", "label": "negative"},
    ]
    assert rows.examples.labels == [None, "negative"]


def test_explicit_format_overrides_detection(tmp_path):
    f = write(tmp_path / "x.txt", "1\tpositive\tgood\n")
    ex, _ = read_examples([f], format="semeval")
    assert ex.labels == ["positive"]
    rows = read_texts(f, format="txt")
    assert rows.texts == ["1\tpositive\tgood"]


def test_folder_and_glob_inputs(tmp_path):
    write(tmp_path / "b.tsv", "2\tnegative\tbad\n")
    write(tmp_path / "a.tsv", "1\tpositive\tgood\n")
    write(tmp_path / "README.txt", "not data\n")
    write(tmp_path / "notes.md", "not data either\n")
    ex, report = read_examples([tmp_path])
    assert ex.texts == ["good", "bad"]  # sorted by name, README and .md ignored
    ex, _ = read_examples([str(tmp_path / "b*.tsv"), str(tmp_path / "a.tsv")])
    assert ex.texts == ["bad", "good"]  # in the order given
    ex, _ = read_examples([str(tmp_path / "*.tsv"), str(tmp_path / "a.tsv")])
    assert ex.texts == ["good", "bad"]  # a file named twice is read once


def test_nothing_matched_or_missing_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no files match"):
        read_examples([str(tmp_path / "*.tsv")])
    with pytest.raises(DataError, match="no such file"):
        read_examples([tmp_path / "missing.tsv"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no supported data files"):
        read_examples([tmp_path / "empty"])


def test_unknown_format_is_an_error(tmp_path):
    f = write(tmp_path / "a.tsv", "1\tpositive\tgood\n")
    with pytest.raises(DataError, match="unknown format 'xml'"):
        read_examples([f], format="xml")


def test_subset_and_extend_keep_sources(tmp_path):
    a = write(tmp_path / "a.tsv", "1\tpositive\tgood\n2\tnegative\tbad\n")
    b = write(tmp_path / "b.tsv", "3\tneutral\tmeh\n")
    ex_a, _ = read_examples([a])
    ex_b, _ = read_examples([b])
    ex_a.extend(ex_b)
    assert ex_a.source(2) == (str(b), 1)
    sub = ex_a.subset([2, 0])
    assert sub.texts == ["meh", "good"]
    assert sub.sources == [(str(b), 1), (str(a), 1)]
