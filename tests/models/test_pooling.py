"""Pooling over RNN states with a padding mask: last, mean, max."""

from __future__ import annotations

import pytest
import torch

from tweetsent.models import LastPooling, MaxPooling, MeanPooling, RNNEncoder, build_pooling

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


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_equals_the_rnn_final_hidden_state(cell: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    encoder = RNNEncoder(5, 6, cell=cell, num_layers=2, bidirectional=bidirectional).eval()
    x = torch.randn(1, 4, 5)
    _, h_n = encoder.rnn(x)  # unpadded: h_n is the final state of each layer and direction
    h_n = h_n[0] if cell == "lstm" else h_n
    final = torch.cat([h_n[-2], h_n[-1]], -1) if bidirectional else h_n[-1]  # last layer
    padded = torch.cat([x, torch.randn(1, 3, 5)], dim=1)  # (1, 7, 5) with 3 padding steps
    states = encoder(padded, torch.tensor([4]))
    mask = torch.tensor([[True] * 4 + [False] * 3])
    pooled, _, _ = LastPooling(encoder.output_dim, bidirectional)(states, mask)
    torch.testing.assert_close(pooled, final, rtol=0, atol=1e-6)


def test_factory() -> None:
    assert isinstance(build_pooling("max", 8), MaxPooling)
    assert build_pooling("last", 8, bidirectional=True).bidirectional
    assert build_pooling("mean", 8).output_dim == 8
    with pytest.raises(ValueError, match="unknown pooling 'attn'"):
        build_pooling("attn", 8)
