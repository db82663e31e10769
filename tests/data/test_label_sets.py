"""Label sets: raw labels from every dataset map to canonical names; binary drops neutral."""

from __future__ import annotations

from array import array

import pytest

from tweetsent.data import Examples, LabelSet, apply_labels, canonical_label, read_examples
from tweetsent.data.labels import numeric_scheme
from tweetsent.errors import DataError


def examples(labels: list[str | None], path: str = "f.tsv") -> Examples:
    n = len(labels)
    return Examples(
        texts=[f"t{i}" for i in range(n)],
        labels=list(labels),
        paths=[path],
        file_ids=array("i", [0] * n),
        lines=array("i", range(1, n + 1)),
    )


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("positive", "positive"),
        ("Positive ", "positive"),
        ("POS", "positive"),
        ("negative", "negative"),
        ("neg", "negative"),
        ("neutral", "neutral"),
        ("Neu", "neutral"),
        ("objective", "neutral"),
        ("objective-OR-neutral", "neutral"),
        ("-1", "negative"),
        ("0", "neutral"),
        ("1", "positive"),
        ("+1", "positive"),
        ("happy", None),
        ("", None),
    ],
)
def test_canonical_label(raw, expected):
    assert canonical_label(raw) == expected


def test_numeric_schemes_are_decided_per_file():
    assert numeric_scheme({"0", "4"})["0"] == "negative"  # Sentiment140
    assert numeric_scheme({"0", "2", "4"})["2"] == "neutral"
    assert numeric_scheme({"-1", "0", "1"})["0"] == "neutral"
    assert numeric_scheme({"positive", "negative"}) is None
    with pytest.raises(DataError, match="ambiguous"):
        numeric_scheme({"0", "1"})


def test_label_set_order_encode_decode():
    three = LabelSet("3class")
    assert three.names == ("negative", "neutral", "positive") and len(three) == 3
    assert LabelSet("binary").names == ("negative", "positive")
    assert three.encode(["positive", "negative"]) == [2, 0]
    assert three.decode([1, 2]) == ["neutral", "positive"]
    with pytest.raises(DataError, match="'pos' is not one of"):
        three.encode(["pos"])
    with pytest.raises(DataError, match="unknown label mode"):
        LabelSet("5class")


def test_apply_labels_3class_maps_everything():
    out, dropped = apply_labels(examples(["pos", "Negative", "neu", "positive"]), "3class")
    assert out.labels == ["positive", "negative", "neutral", "positive"]
    assert dropped == 0


def test_apply_labels_binary_drops_and_counts_neutral():
    ex = examples(["pos", "neutral", "neg", "objective", "positive"])
    out, dropped = apply_labels(ex, "binary")
    assert dropped == 2
    assert out.labels == ["positive", "negative", "positive"]
    assert out.texts == ["t0", "t2", "t4"]
    assert out.lines.tolist() == [1, 3, 5]  # sources follow the rows


def test_apply_labels_sentiment140_numbers():
    out, dropped = apply_labels(examples(["0", "4", "4", "2"]), "binary")
    assert out.labels == ["negative", "positive", "positive"]
    assert dropped == 1


def test_unknown_labels_list_what_was_seen_with_counts_and_file():
    ex = examples(["positive", "happy", "happy", "negative", "sad"], path="data/x.tsv")
    with pytest.raises(DataError) as info:
        apply_labels(ex, "3class")
    message = str(info.value)
    assert message.startswith("data/x.tsv:2: unknown label(s) 'happy', 'sad'")
    assert "'happy' x2" in message and "'sad' x1" in message and "'positive' x1" in message
    assert "expected negative/neutral/positive" in message


def test_unknown_label_from_a_real_read(tmp_path):
    f = tmp_path / "a.tsv"
    f.write_text("1\tpositive\tgood\n2\tmixed\tunsure\n", encoding="utf-8")
    ex, _ = read_examples([f])
    with pytest.raises(DataError, match=r"a\.tsv:2: unknown label\(s\) 'mixed'"):
        apply_labels(ex, "3class")


def test_missing_labels_are_an_error():
    with pytest.raises(DataError, match="f.tsv:2: row has no label"):
        apply_labels(examples(["positive", None]), "3class")


def test_ambiguous_numbers_name_the_file():
    with pytest.raises(DataError, match="f.tsv: numeric labels"):
        apply_labels(examples(["0", "1", "1"]), "binary")
