"""Stratified split: deterministic from the seed, proportions kept, every class on both sides."""

from __future__ import annotations

from collections import Counter

import pytest

from tweetsent.data import stratified_split

LABELS = ["neutral"] * 500 + ["positive"] * 300 + ["negative"] * 150 + ["rare"] * 2 + ["one"]


def test_same_seed_same_split_other_seed_other_split():
    assert stratified_split(LABELS, 0.1, seed=13) == stratified_split(list(LABELS), 0.1, seed=13)
    assert stratified_split(LABELS, 0.1, seed=13) != stratified_split(LABELS, 0.1, seed=14)


def test_partition_and_proportions():
    kept, held = stratified_split(LABELS, 0.2, seed=1)
    assert sorted(kept + held) == list(range(len(LABELS)))
    assert kept == sorted(kept) and held == sorted(held)
    counts = Counter(LABELS[i] for i in held)
    assert counts["neutral"] == 100 and counts["positive"] == 60 and counts["negative"] == 30


def test_every_class_with_two_rows_is_on_both_sides():
    kept, held = stratified_split(LABELS, 0.01, seed=3)
    kept_classes = {LABELS[i] for i in kept}
    held_classes = {LABELS[i] for i in held}
    assert {"neutral", "positive", "negative", "rare"} <= kept_classes & held_classes
    assert "one" in kept_classes and "one" not in held_classes


def test_zero_fraction_keeps_everything():
    assert stratified_split(LABELS, 0.0, seed=0) == (list(range(len(LABELS))), [])


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        stratified_split(LABELS, fraction, seed=0)


def test_order_of_input_rows_does_not_matter_for_class_sizes():
    shuffled = LABELS[::-1]
    _, held = stratified_split(shuffled, 0.2, seed=1)
    assert Counter(shuffled[i] for i in held) == Counter(
        LABELS[i] for i in stratified_split(LABELS, 0.2, 1)[1]
    )
