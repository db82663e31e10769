"""RNNEncoder: equal to torch's stacked (bi)directional RNN on unpadded input, exact under
padding, layer dropout between layers only."""

from __future__ import annotations

import pytest
import torch

from tweetsent.models import LastPooling, RNNEncoder


def copy_from_torch_rnn(encoder: RNNEncoder, rnn: torch.nn.RNNBase) -> None:
    """Give the encoder the weights of a stacked (bidirectional) `nn.LSTM`/`nn.GRU`."""
    with torch.no_grad():
        for k in range(rnn.num_layers):
            directions = [(encoder.forward_layers[k], "")]
            if rnn.bidirectional:
                directions.append((encoder.backward_layers[k], "_reverse"))
            for layer, suffix in directions:
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(layer, f"{name}_l0").copy_(getattr(rnn, f"{name}_l{k}{suffix}"))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_encoder_matches_torch_and_last_is_the_final_hidden_state(
    cell: str, bidirectional: bool
) -> None:
    torch.manual_seed(0)
    kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    rnn = kind(5, 6, num_layers=2, bidirectional=bidirectional, batch_first=True).eval()
    encoder = RNNEncoder(5, 6, cell=cell, num_layers=2, bidirectional=bidirectional).eval()
    copy_from_torch_rnn(encoder, rnn)
    x = torch.randn(1, 4, 5)
    expected_states, h_n = rnn(x)  # unpadded: h_n is the final state of each layer, direction
    h_n = h_n[0] if cell == "lstm" else h_n
    final = torch.cat([h_n[-2], h_n[-1]], -1) if bidirectional else h_n[-1]  # last layer
    padded = torch.cat([x, torch.randn(1, 3, 5)], dim=1)  # (1, 7, 5): 3 steps of padding
    states = encoder(padded, torch.tensor([4]))
    torch.testing.assert_close(states[:, :4], expected_states, rtol=0, atol=1e-6)
    assert torch.equal(states[:, 4:], torch.zeros(1, 3, encoder.output_dim))
    mask = torch.tensor([[True] * 4 + [False] * 3])
    pooled, _, _ = LastPooling(encoder.output_dim, bidirectional)(states, mask)
    torch.testing.assert_close(pooled, final, rtol=0, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_batch_without_padding_matches_torch_and_the_padded_route(cell: str) -> None:
    torch.manual_seed(1)
    kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    rnn = kind(5, 6, num_layers=2, bidirectional=True, batch_first=True).eval()
    encoder = RNNEncoder(5, 6, cell=cell, num_layers=2).eval()
    copy_from_torch_rnn(encoder, rnn)
    x = torch.randn(3, 4, 5)  # (B, T, D): every row 4 long
    full = encoder(x, torch.tensor([4, 4, 4]))
    torch.testing.assert_close(full, rnn(x)[0], rtol=0, atol=1e-6)
    padded = torch.cat([x, torch.randn(3, 2, 5)], dim=1)  # (3, 6, 5): the reversal route
    torch.testing.assert_close(encoder(padded, torch.tensor([4, 4, 4]))[:, :4], full)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_layer_dropout_acts_between_layers_in_training_only(cell: str) -> None:
    x, lengths = torch.randn(3, 5, 4), torch.tensor([5, 3, 1])
    two = RNNEncoder(4, 8, cell=cell, num_layers=2, dropout=0.5)
    assert not torch.equal(two(x, lengths), two(x, lengths))
    two.eval()
    assert torch.equal(two(x, lengths), two(x, lengths))
    one = RNNEncoder(4, 8, cell=cell, num_layers=1, dropout=0.5)  # nothing to drop between
    assert torch.equal(one(x, lengths), one(x, lengths))


def test_bad_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown RNN cell 'rnn'"):
        RNNEncoder(4, 8, cell="rnn")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("training", [False, True])
def test_private_fused_kernel_still_matches_torchs_bidirectional_rnn(
    cell: str, training: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`RNNEncoder._both_directions` calls the private `torch._VF.lstm/gru` (see its comment):
    if torch changes their signature or weight layout, this says so by name."""
    name = "lstm" if cell == "lstm" else "gru"
    assert hasattr(torch._VF, name), f"torch._VF.{name} is gone: use two nn.{cell.upper()} calls"
    calls = []
    real = getattr(torch._VF, name)
    monkeypatch.setattr(torch._VF, name, lambda *a: calls.append(1) or real(*a), raising=False)
    torch.manual_seed(2)
    kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    rnn = kind(5, 6, num_layers=1, bidirectional=True).train(training)
    encoder = RNNEncoder(5, 6, cell=cell, num_layers=1).train(training)
    copy_from_torch_rnn(encoder, rnn)
    x = torch.randn(4, 3, 5)  # (T, B, D), time-major like the encoder's layers
    try:
        got = encoder._both_directions(0, x)
    except (RuntimeError, TypeError) as exc:
        pytest.fail(f"torch._VF.{name} changed its signature: {exc}")
    assert calls, f"the fused path no longer calls torch._VF.{name}"
    torch.testing.assert_close(got, rnn(x)[0], rtol=0, atol=1e-6, msg=f"torch._VF.{name} changed")
