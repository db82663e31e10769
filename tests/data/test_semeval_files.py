"""The real SemEval-2017 Task 4A files in ../shared/data (skipped where absent)."""

from __future__ import annotations

from tweetsent.data import apply_labels, label_counts, read_examples

# Rows per file as in ../shared/data/README.md, except twitter-2016test-A.tsv: its last row has
# no final newline, so `wc -l` (and the README) say 20,631 while the file holds 20,632 rows
# (20,632 ids, labels and texts; every row is well formed). Total 50,334, not the README's 50,333.
ROWS = {
    "twitter-2013train-A.tsv": 9684,
    "twitter-2013dev-A.tsv": 1654,
    "twitter-2013test-A.tsv": 3547,
    "twitter-2014test-A.tsv": 1853,
    "twitter-2014sarcasm-A.tsv": 86,
    "twitter-2015train-A.tsv": 489,
    "twitter-2015test-A.tsv": 2390,
    "twitter-2016train-A.tsv": 6000,
    "twitter-2016dev-A.tsv": 1999,
    "twitter-2016devtest-A.tsv": 2000,
    "twitter-2016test-A.tsv": 20632,
}


def test_every_row_of_every_file_is_read(shared_data):
    ex, report = read_examples([shared_data])
    per_file = {path.rsplit("/", 1)[-1]: n for path, n in report.rows_per_file.items()}
    assert per_file == ROWS
    assert len(ex) == sum(ROWS.values()) == 50_334
    assert report.rows_skipped == 0
    assert set(report.files.values()) == {"semeval"}
    assert label_counts(ex.labels) == {"neutral": 22_591, "positive": 19_903, "negative": 7_840}
    assert all(t and t == t.strip() for t in ex.texts)
    assert not any("\\u002c" in t for t in ex.texts)  # escapes of the 2013 files decoded


def test_last_row_without_newline_and_trailing_field(shared_data):
    path = shared_data / "twitter-2016test-A.tsv"
    ex, _ = read_examples([path])
    assert ex.source(len(ex) - 1) == (str(path), 20_632)
    assert ex.texts[-1].startswith("I guess even Pandora knows Justin Bieber")
    assert ex.texts[0].startswith("Picturehouse's, Pink Floyd's")  # wrapping quotes removed


def test_binary_mode_on_the_real_files(shared_data):
    ex, _ = read_examples([shared_data])
    binary, dropped = apply_labels(ex, "binary")
    assert dropped == 22_591
    assert len(binary) == 19_903 + 7_840
