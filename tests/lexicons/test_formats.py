"""Lexicon files: every format from tiny files written here (plain and gzip), format detection,
`#` terms of PMI lexicons, EmoLex polarity, errors with their line numbers, builtins."""

from __future__ import annotations

import dataclasses
import gzip
import importlib
from pathlib import Path

import pytest

from tweetsent.errors import DataError
from tweetsent.lexicons import Lexicon, detect_format, load_lexicon, load_lexicons
from tweetsent.lexicons import formats as formats_module


def _write(path: Path, text: str | bytes) -> Path:
    data = text.encode("utf-8") if isinstance(text, str) else text
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _emolex_rows(word: str, positive: int, negative: int, **flags: int) -> str:
    emotions = "anger anticipation disgust fear joy negative positive sadness surprise trust"
    values = {**flags, "positive": positive, "negative": negative}
    return "".join(f"{word}\t{e}\t{values.get(e, 0)}\n" for e in emotions.split())


def test_score_file_is_scaled_and_the_first_entry_wins(tmp_path):
    path = _write(
        tmp_path / "lex.tsv", "# word\tscore\n\ngood\t2.0\textra\nawful\t-4\nmeh\t0\ngood\t-1\n"
    )
    lexicon = load_lexicon(str(path))
    assert lexicon.scores == {"good": 0.5, "awful": -1.0, "meh": 0.0}
    assert (lexicon.name, lexicon.format, lexicon.source) == ("lex", "score", str(path))
    assert len(lexicon) == 3 and "entries=3" in repr(lexicon)


def test_vader_like_file_with_crlf_and_rating_columns(tmp_path):
    text = ":)\t2.0\t1.1\t[2, 2, 3]\r\nsad\t-4.0\t0.5\t[-4, -4, -4]\r\n"
    lexicon = load_lexicon(str(_write(tmp_path / "vader_like.txt", text)))
    assert lexicon.format == "score"
    assert lexicon.scores == {":)": 0.5, "sad": -1.0}


def test_afinn_integers_from_gzip(tmp_path):
    path = _write(tmp_path / "AFINN-en-165.txt.gz", "abandon\t-2\nbreathtaking\t5\ncool stuff\t3\n")
    lexicon = load_lexicon(str(path))
    assert lexicon.name == "AFINN-en-165"
    assert lexicon.scores == {"abandon": -0.4, "breathtaking": 1.0, "cool stuff": 0.6}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("mpqa.txt.gz", "abandon\tnegative\nable\tpositive\nabsolute\tneutral\nbrag\tboth\n"),
        ("BingLiu.csv.gz", "abandon,negative\nable,positive\nabsolute,Neutral\nbrag,both\n"),
    ],
)
def test_polarity_labels_tab_or_comma(tmp_path, name, text):
    lexicon = load_lexicon(str(_write(tmp_path / name, text)))
    assert lexicon.format == "polarity"
    assert lexicon.name == name.split(".")[0]
    # neutral and both stay entries with score 0: they are "in the lexicon"
    assert lexicon.scores == {"abandon": -1.0, "able": 1.0, "absolute": 0.0, "brag": 0.0}


def test_pmi_terms_starting_with_hash_are_terms_not_comments(tmp_path):
    text = "#fabulous\t7.5\t2301\t2\n#\t0.75\t304\t256\n@user_1\t-1.5\t0\t5\n:(\t-3\t1\t90\n"
    path = _write(tmp_path / "Sentiment140-Lexicon-v0.1-unigrams-pmilexicon.txt.gz", text)
    lexicon = load_lexicon(str(path))
    assert lexicon.format == "pmi"
    assert lexicon.name == "Sentiment140-Lexicon-v0.1-unigrams-pmilexicon"
    assert lexicon.scores == {"#fabulous": 1.0, "#": 0.1, "@user_1": -0.2, ":(": -0.4}


def test_pmi_forced_has_no_comment_lines(tmp_path):
    path = _write(tmp_path / "lex.txt", "# a comment\ngood\t1.0\t3\t1\n")
    with pytest.raises(DataError, match=r"lex\.txt:1: expected 'term TAB score TAB n_pos"):
        load_lexicon(f"pmi:{path}")


def test_emolex_polarity_is_positive_minus_negative(tmp_path):
    text = (
        _emolex_rows("happy", positive=1, negative=0, joy=1)
        + _emolex_rows("smut", positive=0, negative=1, disgust=1)
        + _emolex_rows("bittersweet", positive=1, negative=1)
        + _emolex_rows("nape", positive=0, negative=0)
    )
    lexicon = load_lexicon(str(_write(tmp_path / "NRC-emotion-lexicon.txt.gz", text)))
    assert lexicon.format == "emolex"
    assert lexicon.scores == {"happy": 1.0, "smut": -1.0, "bittersweet": 0.0, "nape": 0.0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("good\t1.5\nbad\t-2\n", "score"),
        ("good\t3\t0.5\t[3, 3]\nbad\t-2\t0.1\t[-2, -2]\n", "score"),  # VADER's columns
        ("good\t3\t4\t1\nbad\t-2\t1\t7\n", "pmi"),  # also fits score: pmi is more specific
        ("#great\t3\t4\t1\nbad\t-2\t1\t7\n", "pmi"),  # a #term first
        ("good\tpositive\nbad\tnegative\n", "polarity"),
        ("good,positive\nbad,negative\n", "polarity"),
        (_emolex_rows("good", 1, 0), "emolex"),
        ("# header\n#written by hand\n\ngood\t2\n", "score"),  # header lines skipped
    ],
)
def test_format_detection(tmp_path, text, expected):
    assert detect_format(text.splitlines()) == expected
    assert load_lexicon(str(_write(tmp_path / "lex.txt", text))).format == expected


def test_forced_format_overrides_detection(tmp_path):
    path = _write(tmp_path / "lex.txt", "good\t3\t4\t1\nbad\t-2\t1\t7\n")
    lexicon = load_lexicon(f"score:{path}")
    assert lexicon.format == "score"
    assert lexicon.source == f"score:{path}"
    assert lexicon.path == str(path)  # the file read, without the format prefix
    assert lexicon.name == "lex"


def test_score_file_comments_and_hash_terms(tmp_path):
    text = "#!lexicon v1\n# comment\ngood\t2\n# another comment\n#win\t1\n"
    lexicon = load_lexicon(str(_write(tmp_path / "lex.txt", text)))
    # a header of non-entry `#` lines and `# ` lines are comments; `#win TAB 1` is an entry
    assert lexicon.scores == {"good": 1.0, "#win": 0.5}


@pytest.mark.parametrize(
    ("spec_format", "text", "line", "message", "detected"),
    [
        ("score", "good\t1\nbad -1\n", 2, "expected 'term TAB score'", True),
        ("score", "good\t1\n\nbad\tvery\n", 3, "(score 'very' is not a number)", True),
        ("polarity", "good\tpositive\nbad\tnegativ\n", 2, "expected 'term TAB label'", True),
        ("emolex", "good\tjoy\t1\ngood\tpositive\t2\n", 2, "expected 'word TAB emotion", True),
        # these files fit `score` (extra columns ignored), so only a forced `pmi` rejects them
        ("pmi", "good\t1\t2\t3\nbad\t-1\t2\n", 2, "expected 'term TAB score TAB n_pos", False),
        ("pmi", "good\t1\t2\t3\nbad\t-1\t2\tx\n", 2, "is not a whole number", False),
    ],
)
def test_malformed_line_names_its_line_number(tmp_path, spec_format, text, line, message, detected):
    path = _write(tmp_path / "bad.txt", text)
    specs = [f"{spec_format}:{path}"] + ([str(path)] if detected else [])
    for spec in specs:
        with pytest.raises(DataError) as info:
            load_lexicon(spec)
        assert f"bad.txt:{line}: " in str(info.value)
        assert message in str(info.value)
        assert info.value.line == line


def test_malformed_line_beyond_the_detection_sample(tmp_path):
    text = "".join(f"w{i}\t{i}\n" for i in range(20)) + "broken\n"
    with pytest.raises(DataError, match=r"lex\.txt:21: expected 'term TAB score'"):
        load_lexicon(str(_write(tmp_path / "lex.txt", text)))


def test_a_line_of_another_format_is_reported_when_detecting(tmp_path):
    path = _write(tmp_path / "mixed.txt", "good\t1\nbad\tnegative\n")
    with pytest.raises(DataError, match=r"mixed\.txt:2: expected 'term TAB score'"):
        load_lexicon(str(path))
    path = _write(tmp_path / "unknown.txt", "\ngood  1\n")
    with pytest.raises(DataError, match=r"unknown\.txt:2: unknown lexicon format: expected"):
        load_lexicon(str(path))


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_non_finite_score(tmp_path, value):
    path = _write(tmp_path / "lex.txt", f"good\t1\nbad\t{value}\n")
    with pytest.raises(DataError, match=r"lex\.txt:2: score .* is not finite"):
        load_lexicon(str(path))


def test_non_utf8_names_the_line(tmp_path):
    path = _write(tmp_path / "lex.txt.gz", b"good\t1\nb\xe4d\t-1\n")
    with pytest.raises(DataError, match=r"lex\.txt\.gz:2: not UTF-8"):
        load_lexicon(str(path))


def test_missing_broken_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="lexicon file not found"):
        load_lexicon(str(tmp_path / "nope.txt"))
    with pytest.raises(DataError, match="not a readable gzip file"):
        load_lexicon(str(_write(tmp_path / "broken.txt", b"\x1f\x8bnot gzip")))
    for text in ("", "\n\n", "# only a comment\n"):
        with pytest.raises(DataError, match="the lexicon has no entries"):
            load_lexicon(str(_write(tmp_path / "empty.txt", text)))
    with pytest.raises(DataError, match="the lexicon has no entries"):
        load_lexicon(f"score:{_write(tmp_path / 'empty.txt', '# x')}")
    with pytest.raises(DataError, match="unknown lexicon format 'xml'"):
        load_lexicon("xml:lex.xml")
    with pytest.raises(DataError, match="no file after 'pmi:'"):
        load_lexicon("pmi:")


def test_all_zero_lexicon_keeps_zero_scores(tmp_path):
    lexicon = load_lexicon(str(_write(tmp_path / "lex.txt", "meh\tneutral\nso-so\tboth\n")))
    assert lexicon.scores == {"meh": 0.0, "so-so": 0.0}


def test_source_stays_relative_and_lexicon_is_frozen(tmp_path, monkeypatch):
    _write(tmp_path / "data" / "lex.txt", "good\t1\n")
    monkeypatch.chdir(tmp_path)
    lexicon = load_lexicon("data/lex.txt")
    assert lexicon.source == "data/lex.txt"
    with pytest.raises(dataclasses.FrozenInstanceError):
        lexicon.name = "other"  # type: ignore[misc]


def test_load_lexicons_makes_names_unique(tmp_path):
    a = _write(tmp_path / "a.txt", "good\t1\n")
    b = _write(tmp_path / "sub" / "a.txt.gz", "good\tpositive\n")
    c = _write(tmp_path / "a-2.csv", "bad,negative\n")
    lexicons = load_lexicons([str(a), str(b), str(c), str(a)])
    assert [lex.name for lex in lexicons] == ["a", "a-2", "a-2-2", "a-3"]
    assert [lex.format for lex in lexicons] == ["score", "polarity", "polarity", "score"]
    assert all(isinstance(lex, Lexicon) for lex in lexicons)


def test_vader_builtin():
    pytest.importorskip("vaderSentiment")
    lexicon = load_lexicon("vader")
    assert (lexicon.name, lexicon.source, lexicon.format) == ("vader", "vader", "score")
    assert len(lexicon) > 7000
    assert lexicon.scores["good"] > 0 > lexicon.scores["bad"]
    assert max(abs(s) for s in lexicon.scores.values()) == 1.0


def test_afinn_builtins_read_the_package_data(tmp_path, monkeypatch):
    """A stand-in `afinn` package with the real package's layout (afinn/data/*.txt)."""
    _write(tmp_path / "site" / "afinn" / "__init__.py", "")
    _write(tmp_path / "site" / "afinn" / "data" / "AFINN-en-165.txt", "good\t3\nbad\t-3\n")
    _write(tmp_path / "site" / "afinn" / "data" / "AFINN-emoticon-8.txt", ":)\t2\n:(\t-2\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(__import__("sys").modules, "afinn", raising=False)
    importlib.invalidate_caches()
    assert load_lexicon("afinn").scores == {"good": 1.0, "bad": -1.0}
    emoticons = load_lexicon("afinn-emoticon")
    assert (emoticons.name, emoticons.scores) == ("afinn-emoticon", {":)": 1.0, ":(": -1.0})


def test_builtin_without_its_package(monkeypatch):
    monkeypatch.setattr(formats_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"needs the afinn package \(pip install afinn\)"):
        load_lexicon("afinn")
    with pytest.raises(DataError, match="needs the vaderSentiment package"):
        load_lexicon("vader")
