"""Pooling over RNN states with a padding mask: last, mean, max; the unpadded fast path."""

from __future__ import annotations

import pytest
import torch

from tweetsent.models import LastPooling, MaxPooling, MeanPooling, build_pooling
from tweetsent.models.inputs import unpadded

MASK = torch.tensor([[True, True, True], [True, False, False]])


def states() -> torch.Tensor:
    # (B=2, T=3, H=4); padding positions hold large values that must never leak into the result
    out = -torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) - 1
    out[1, 1:] = 100.0
    return out


def test_mean_ignores_padding() -> None:
    pooled, attention, penalty = MeanPooling(4)(states(), MASK)
    torch.testing.assert_close(pooled[0], states()[0].mean(0))
    torch.testing.assert_close(pooled[1], states()[1, 0])
    assert attention is None and penalty is None


def test_max_padding_never_wins() -> None:
    pooled, _, _ = MaxPooling(4)(states(), MASK)
    torch.testing.assert_close(pooled[1], states()[1, 0])  # all negative, padding is 100
    torch.testing.assert_close(pooled[0], states()[0].max(0).values)


def test_max_without_padding_is_the_plain_max() -> None:
    full = torch.ones(2, 3, dtype=torch.bool)
    fast, _, _ = MaxPooling(4)(states(), full, torch.tensor([3, 3]))  # the unpadded path
    masked, _, _ = MaxPooling(4)(states(), full)  # no lengths: the masked path
    assert torch.equal(fast, states().max(dim=1).values)
    assert torch.equal(masked, fast)


def test_unpadded_reads_lengths_against_the_width() -> None:
    assert unpadded(torch.tensor([3, 3]), 3)
    assert not unpadded(torch.tensor([3, 1]), 3)
    assert not unpadded(torch.tensor([3, 3]), 4)
    assert unpadded(torch.zeros(0, dtype=torch.int64), 3)  # no rows, no padding


def test_max_decides_its_fast_path_from_lengths_never_from_the_mask() -> None:
    # a meta tensor has no values: `bool(mask.all())` on it raises, as a read of a CUDA mask
    # would wait for the device
    unreadable = torch.ones(2, 3, dtype=torch.bool, device="meta")
    pooled, _, _ = MaxPooling(4)(states(), unreadable, torch.tensor([3, 3]))
    assert torch.equal(pooled, states().max(dim=1).values)
    padded, _, _ = MaxPooling(4)(states(), MASK, torch.tensor([3, 1]))  # the masked path
    assert torch.equal(padded, MaxPooling(4)(states(), MASK)[0])
    torch.testing.assert_close(padded[1], states()[1, 0])  # padding (100) never wins


@pytest.mark.parametrize(
    "pool", [LastPooling(4), LastPooling(4, bidirectional=True), MeanPooling(4), MaxPooling(4)]
)
def test_lengths_never_change_a_pooling(pool) -> None:
    for mask, lengths in ((MASK, [3, 1]), (torch.ones(2, 3, dtype=torch.bool), [3, 3])):
        given, _, _ = pool(states(), mask, torch.tensor(lengths))
        assert torch.equal(given, pool(states(), mask)[0])


def test_max_of_an_empty_row_is_zero() -> None:
    pooled, _, _ = MaxPooling(4)(states(), torch.tensor([[True, True, True], [False] * 3]))
    assert torch.equal(pooled[1], torch.zeros(4))


def test_last_unidirectional_takes_the_last_real_token() -> None:
    pooled, _, _ = LastPooling(4)(states(), MASK)
    torch.testing.assert_close(pooled, torch.stack([states()[0, 2], states()[1, 0]]))


def test_last_bidirectional_is_forward_end_and_backward_start() -> None:
    pooled, _, _ = LastPooling(4, bidirectional=True)(states(), MASK)
    expected0 = torch.cat([states()[0, 2, :2], states()[0, 0, 2:]])
    expected1 = torch.cat([states()[1, 0, :2], states()[1, 0, 2:]])
    torch.testing.assert_close(pooled, torch.stack([expected0, expected1]))


def test_factory() -> None:
    assert isinstance(build_pooling("max", 8), MaxPooling)
    assert build_pooling("last", 8, bidirectional=True).bidirectional
    assert build_pooling("mean", 8).output_dim == 8
    with pytest.raises(ValueError, match="unknown pooling 'attn'"):
        build_pooling("attn", 8)
