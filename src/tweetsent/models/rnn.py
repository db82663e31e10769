"""The recurrent encoder of `models.sequence.SequenceClassifier`: (Bi)LSTM/GRU over tweets.

Variable-length tweets are handled exactly without packing: the forward direction reads each
padded row left to right (its real tokens come first, so padding cannot reach them), and the
backward direction reads each row reversed *within its length*. A tweet therefore gets the same
states alone or in a batch with longer tweets, as with `pack_padded_sequence`, but faster on
CPU: with two threads, a BiLSTM(64) trained ~1.8x faster than over packed sequences
(bench/bench_rnn.py, batch 256, length-bucketed batches of 10-28 tokens: ~9,700 against
~5,500 tweets/s forward + backward).
"""

from __future__ import annotations

import torch
from torch import nn

from tweetsent.models.inputs import lengths_mask, unpadded

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class RNNEncoder(nn.Module):
    """LSTM (Hochreiter & Schmidhuber 1997) or GRU (Cho et al. 2014), uni- or bidirectional,
    1..N layers with dropout between layers (as in `nn.LSTM(dropout=...)`).

    Layer k's input is the concatenation of layer k-1's forward and backward states, as in a
    stacked bidirectional `nn.LSTM`; each layer and direction is a one-layer `nn.LSTM`/`nn.GRU`
    (`forward_layers[k]`, `backward_layers[k]`). The states are (B, T, H) with
    H = hidden_size * directions: forward direction first, backward second; zero at padding.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_size: int,
        cell: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown RNN cell {cell!r}, expected one of {', '.join(CELLS)}")
        if num_layers < 1 or hidden_size < 1:
            raise ValueError(
                f"need num_layers >= 1 and hidden_size >= 1, got {num_layers}, {hidden_size}"
            )
        self.hidden_size = hidden_size
        self.output_dim = hidden_size * (2 if bidirectional else 1)
        inputs = [input_dim] + [self.output_dim] * (num_layers - 1)
        self.forward_layers = nn.ModuleList(CELLS[cell](size, hidden_size) for size in inputs)
        self.backward_layers = (
            nn.ModuleList(CELLS[cell](size, hidden_size) for size in inputs)
            if bidirectional
            else None
        )
        self.dropout = nn.Dropout(dropout)
        self.bidirectional = bidirectional

    def forward(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """embedded (B, T, D), lengths (B,) each in 1..T, best on the CPU -> states (B, T, H).

        The layers run time-major (T, B, .), oneDNN's own layout, which saves a copy per call.
        """
        width = embedded.shape[1]
        # A batch without padding (every row `width` long, as in the length-grouped batches of
        # prediction) needs no final masking; on CPU its two directions run as one call.
        # Decided on the lengths before they move to the device: no device value is read.
        full = unpadded(lengths, width)
        lengths = lengths.to(embedded.device, non_blocking=True)
        fused = full and self.bidirectional and embedded.device.type == "cpu"
        reverse = _reversal_index(lengths, width) if self.bidirectional and not fused else None
        x = embedded.transpose(0, 1).contiguous()  # (T, B, D)
        for k, forward_rnn in enumerate(self.forward_layers):
            if k:
                x = self.dropout(x)  # between layers, not after the last
            if fused:
                x = self._both_directions(k, x)  # (T, B, H)
            elif reverse is None:
                x = forward_rnn(x)[0]  # (T, B, H); after each row's length: ignored
            else:
                assert self.backward_layers is not None  # `reverse` is set only when bidirectional
                states = forward_rnn(x)[0]  # (T, B, H1)
                flipped = _take_steps(x, reverse)  # (T, B, D): row b read from length_b - 1 down
                backward = _take_steps(self.backward_layers[k](flipped)[0], reverse)
                x = torch.cat([states, backward], dim=-1)  # (T, B, H)
        x = x.transpose(0, 1)  # (B, T, H)
        if full:
            return x
        mask = lengths_mask(lengths, width, embedded.device)  # (B, T)
        return x.masked_fill(~mask.unsqueeze(-1), 0.0)  # (B, T, H)

    def _both_directions(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """Layer k over a batch without padding, both directions in one call of torch's
        bidirectional kernel (no flips, no concatenation: ~10% faster on CPU), the same states
        as the two one-direction calls. x (T, B, D) -> (T, B, H)."""
        assert self.backward_layers is not None  # fused only when bidirectional
        fwd, bwd = self.forward_layers[k], self.backward_layers[k]
        weights = [
            getattr(layer, f"{name}_l0")
            for layer in (fwd, bwd)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]
        h0 = x.new_zeros(2, x.shape[1], self.hidden_size)  # (directions, B, H1)
        train = self.training
        # torch._VF is private: it is what nn.LSTM/nn.GRU call, with the flat weight list of
        # both directions. Kept because the fused bidirectional kernel is ~10% faster on CPU than
        # two public one-direction calls and a concatenation (bench/bench_rnn.py); its arguments
        # are (input, hx, weights, has_biases, num_layers, dropout, train, bidirectional,
        # batch_first). tests/models/test_rnn_encoder.py compares this path with nn.LSTM/nn.GRU
        # and fails, naming torch._VF, if a torch release changes the signature or the layout.
        if isinstance(fwd, nn.LSTM):
            return torch._VF.lstm(x, (h0, h0), weights, True, 1, 0.0, train, True, False)[0]
        return torch._VF.gru(x, h0, weights, True, 1, 0.0, train, True, False)[0]


def _reversal_index(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """Flat time-major index that reverses each row's first `length` steps and keeps its
    padding: step t of row b comes from step length_b - 1 - t (t < length_b), else t."""
    steps = torch.arange(width, device=lengths.device)[:, None]  # (T, 1)
    last = lengths[None, :] - 1  # (1, B)
    source = torch.where(steps <= last, last - steps, steps)  # (T, B)
    batch = lengths.shape[0]
    return (source * batch + torch.arange(batch, device=lengths.device)).reshape(-1)  # (T*B,)


def _take_steps(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x (T, B, D) re-ordered along time by a flat (T*B,) index; reversing twice is identity."""
    width, batch, dim = x.shape
    return x.reshape(width * batch, dim).index_select(0, index).reshape(width, batch, dim)
