"""The helpers of the parallel prediction path: distinct texts and the slice plan."""

from __future__ import annotations

import pytest

from tweetsent.inference import _slices, distinct


def test_distinct_keeps_first_seen_order_and_maps_back() -> None:
    texts = ["b", "a", "b", "", "a", "c"]
    unique, inverse = distinct(texts)
    assert unique == ["b", "a", "", "c"]
    assert [unique[i] for i in inverse] == texts


@pytest.mark.parametrize("n", [0, 1, 1999, 20_000, 96_375, 1_000_000])
def test_slices_cover_every_row_once_in_order(n: int) -> None:
    bounds = _slices(n, workers=2)
    starts, ends = [a for a, _ in bounds], [b for _, b in bounds]
    assert starts == [0, *ends[:-1]][: len(starts)]
    assert (ends[-1] if ends else 0) == n
    assert all(b > a for a, b in bounds)
    if n >= 96_375:  # a ramp: small slices first and last, so workers start and end together
        sizes = [b - a for a, b in bounds]
        assert sizes[0] < max(sizes) and sizes[-1] < max(sizes)
