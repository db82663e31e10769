"""The recurrent classifier: embedder -> (Bi)LSTM/GRU encoder -> pooling -> head.

Variable-length tweets are packed (`pack_padded_sequence`), so the RNN never reads padding: a
tweet gets the same output alone or in a batch with longer tweets, in both directions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tweetsent.models.inputs import checked_inputs, embed, lengths_mask
from tweetsent.models.outputs import ClassifierOutput, classifier_output

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class RNNEncoder(nn.Module):
    """LSTM (Hochreiter & Schmidhuber 1997) or GRU (Cho et al. 2014) over packed sequences.

    Uni- or bidirectional, 1..N layers with dropout between layers. The states are (B, T, H)
    with H = hidden_size * directions; for a bidirectional encoder the first half of H is the
    forward direction and the second half the backward one; padding positions are zero.
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
        self.rnn = CELLS[cell](
            input_dim,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # torch warns about dropout on 1 layer
            batch_first=True,
        )
        self.bidirectional = bidirectional
        self.output_dim = hidden_size * (2 if bidirectional else 1)

    def forward(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """embedded (B, T, D), lengths (B,) on the CPU, each in 1..T -> states (B, T, H)."""
        total = embedded.shape[1]
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        output, _ = self.rnn(packed)
        states, _ = pad_packed_sequence(output, batch_first=True, total_length=total)
        return states  # (B, T, H)


class RNNClassifier(nn.Module):
    """Composed of an embedder (`output_dim`, `forward(tokens)`), an `RNNEncoder`, a pooling
    module (`forward(states, mask) -> (pooled, attention, penalty)`) and a head mapping the
    pooled vector to logits (dropout + linear, built by `build_model`).

    Class weights for the loss are a non-persistent buffer: they are not saved with the weights.
    """

    def __init__(
        self,
        embedder: nn.Module,
        encoder: RNNEncoder,
        pooling: nn.Module,
        head: nn.Module,
        class_weights: Sequence[float] | torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.embedder = embedder
        self.encoder = encoder
        self.pooling = pooling
        self.head = head
        weights = None if class_weights is None else torch.as_tensor(class_weights).float()
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        words: Sequence[Sequence[str]] | None = None,
    ) -> ClassifierOutput:
        """tokens (B, T) with 0 = padding, lengths (B,), labels (B,) -> ClassifierOutput.

        A length of 0 (an empty tweet) is read as one padding token. `words`, the token
        strings, is passed on to embedders that need them (ELMo).
        """
        tokens, lengths = checked_inputs(tokens, lengths)  # lengths (B,) on the CPU
        mask = lengths_mask(lengths, tokens.shape[1], tokens.device)  # (B, T)
        embedded = embed(self.embedder, tokens, words)  # (B, T, D)
        states = self.encoder(embedded, lengths)  # (B, T, H)
        pooled, attention, penalty = self.pooling(states, mask)  # (B, P)
        logits = self.head(pooled)  # (B, C)
        return classifier_output(logits, labels, self.class_weights, attention, penalty)
