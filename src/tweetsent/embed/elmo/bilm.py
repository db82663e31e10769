"""The ELMo bidirectional language model (biLM) in plain PyTorch.

Peters et al. 2018, "Deep contextualized word representations" (NAACL), with the architecture
of the released models (bilm-tf; Jozefowicz et al. 2016 for the char-CNN + LSTMP design):

    x_k     = Proj(Highway^n(concat_w act(max_t Conv_w(E[chars(t_k)]))))   context-free token
    h_k,1   = LSTMP_1(x_1..x_k)           forward;  backward runs over x_N..x_k the same way
    h_k,j   = LSTMP_j(h_1,j-1..h_k,j-1) + h_k,j-1     for j >= 2 (skip connections)
    layers  = [x_k ; x_k], [h_k,1 ; h'_k,1], ..., [h_k,L ; h'_k,L]     (forward ; backward)

`<S>` and `</S>` tokens are added around every sentence before the biLM and their positions
removed from the output. By default every batch starts from a zero LSTM state, so a sentence's
vectors do not depend on its batch, its position or its neighbours. `stateful=True` carries
each row's final state into the same row of the next batch, like the reference's default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

from tweetsent.embed.elmo.chars import sentence_marker_ids
from tweetsent.embed.elmo.options import ElmoOptions
from tweetsent.embed.elmo.projected_lstm import ProjectedLstmLayer

M = TypeVar("M", bound=nn.Module)


def typed_modules(modules: nn.ModuleList, kind: type[M]) -> list[M]:
    """The modules of a ModuleList as `kind` (a ModuleList yields plain `nn.Module`s to a type
    checker); a module of another class is a TypeError."""
    out: list[M] = []
    for module in modules:
        if not isinstance(module, kind):
            raise TypeError(f"{type(module).__name__} in a ModuleList of {kind.__name__}")
        out.append(module)
    return out


@dataclass
class BiLmOutput:
    """What the biLM returns for a batch of B sentences of up to T tokens."""

    layers: torch.Tensor  # (num_output_layers, B, T, 2 * projection_dim); zeros at padding
    mask: torch.Tensor  # (B, T) bool, True at real tokens


class _Highway(nn.Module):
    """Highway layer (Srivastava et al. 2015) with bilm-tf's gate convention:

    g = sigmoid(W_carry x + b_carry),   y = g * relu(W_transform x + b_transform) + (1 - g) * x
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.carry = nn.Linear(dim, dim)
        self.transform = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.carry(x))
        return gate * F.relu(self.transform(x)) + (1.0 - gate) * x


class _CharEncoder(nn.Module):
    """Context-free token vectors from character ids: (N, max_chars) -> (N, projection_dim).

    e = E[c_1..c_C]                                    (N, C, char_embed_dim)
    f = concat_w act(max_t (Conv_w(e)_t + b_w))        (N, n_filters), act = tanh | relu
    x = W_proj Highway^n(f) + b_proj                   (N, projection_dim)
    """

    def __init__(self, options: ElmoOptions) -> None:
        super().__init__()
        self.embedding = nn.Embedding(options.char_table_rows, options.char_embed_dim)
        self.convs = nn.ModuleList(
            nn.Conv1d(options.char_embed_dim, num, kernel_size=width)
            for width, num in options.filters
        )
        self.activation = torch.tanh if options.activation == "tanh" else F.relu
        self.highways = nn.ModuleList(_Highway(options.n_filters) for _ in range(options.n_highway))
        self.projection = nn.Linear(options.n_filters, options.projection_dim)

    def conv_layers(self) -> list[nn.Conv1d]:
        return typed_modules(self.convs, nn.Conv1d)

    def highway_layers(self) -> list[_Highway]:
        return typed_modules(self.highways, _Highway)

    def forward(self, char_ids: torch.Tensor) -> torch.Tensor:
        chars = self.embedding(char_ids).transpose(1, 2)  # (N, char_embed_dim, C)
        pooled = [self.activation(conv(chars).amax(dim=-1)) for conv in self.convs]
        x = torch.cat(pooled, dim=-1)  # (N, n_filters)
        for highway in self.highways:
            x = highway(x)
        return self.projection(x)  # (N, projection_dim)


class ElmoBiLm(nn.Module):
    """The biLM: character ids (B, T, max_chars) -> `BiLmOutput` (all layers and the mask).

    Build it from `ElmoOptions` (random weights) and fill it with `weights.load_weights`, or use
    `weights.load_bilm(options_path, weights_path)`.
    """

    # buffers (register_buffer below), declared for the type checker
    _bos: torch.Tensor
    _eos: torch.Tensor

    def __init__(self, options: ElmoOptions, stateful: bool = False) -> None:
        super().__init__()
        self.options = options
        self.stateful = stateful
        self.char_encoder = _CharEncoder(options)
        self.lstm_layers = nn.ModuleList(
            ProjectedLstmLayer(
                options.projection_dim,
                options.lstm_dim,
                options.projection_dim,
                options.cell_clip,
                options.proj_clip,
            )
            for _ in range(options.n_layers)
        )
        bos, eos = sentence_marker_ids(options.max_chars)
        self.register_buffer("_bos", torch.tensor(bos), persistent=False)
        self.register_buffer("_eos", torch.tensor(eos), persistent=False)
        self._state: tuple[torch.Tensor, torch.Tensor] | None = None
        self.reset_parameters()

    def projected_layers(self) -> list[ProjectedLstmLayer]:
        return typed_modules(self.lstm_layers, ProjectedLstmLayer)

    @property
    def num_output_layers(self) -> int:
        return self.options.num_output_layers

    @property
    def output_dim(self) -> int:
        return self.options.output_dim

    def reset_parameters(self) -> None:
        """Random weights at sensible scales (tests, benchmarks); real use loads a file."""
        with torch.no_grad():
            nn.init.uniform_(self.char_encoder.embedding.weight, -1.0, 1.0)
            self.char_encoder.embedding.weight[0].zero_()  # padding row
            for conv in self.char_encoder.conv_layers():
                nn.init.uniform_(conv.weight, -0.05, 0.05)
                assert conv.bias is not None  # built with biases
                nn.init.uniform_(conv.bias, -0.05, 0.05)
            for module in self.char_encoder.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0.0, module.in_features**-0.5)
                    nn.init.uniform_(module.bias, -0.1, 0.1)
            for layer in self.projected_layers():
                layer.reset_parameters()
        self._state = None

    def reset_states(self) -> None:
        """Forget the carried LSTM state (only meaningful with `stateful=True`)."""
        self._state = None

    def forward(self, char_ids: torch.Tensor) -> BiLmOutput:
        """char_ids: LongTensor (B, T, max_chars) from `batch_to_ids`; all-zero rows are padding."""
        if char_ids.dim() != 3 or char_ids.size(-1) != self.options.max_chars:
            raise ValueError(
                f"char_ids must be (batch, tokens, {self.options.max_chars}), "
                f"got {tuple(char_ids.shape)}"
            )
        char_ids = char_ids.to(self._bos.device)
        mask = (char_ids > 0).any(dim=-1)  # (B, T)
        if char_ids.size(0) == 0:
            shape = (self.num_output_layers, 0, char_ids.size(1), self.output_dim)
            dtype = self.char_encoder.projection.weight.dtype
            return BiLmOutput(self._bos.new_zeros(shape, dtype=dtype), mask)
        ids, full_mask = self.add_boundaries(char_ids, mask)  # (B, T+2, C), (B, T+2)
        tokens = self.token_vectors(ids, full_mask)  # (B, T+2, P)
        layers = [torch.cat([tokens, tokens], dim=-1)]  # layer 0: (B, T+2, 2P)
        layers += self.run_lstms(tokens, full_mask.sum(dim=1))
        width = char_ids.size(1)
        stacked = torch.stack([layer[:, 1 : width + 1] for layer in layers])  # (L, B, T, 2P)
        return BiLmOutput(stacked * mask[None, :, :, None], mask)

    def add_boundaries(
        self, char_ids: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Put <S> before and </S> right after every sentence's last token."""
        batch, width, chars = char_ids.shape
        lengths = mask.sum(dim=1)  # (B,)
        ids = char_ids.new_zeros(batch, width + 2, chars)
        ids[:, 1 : width + 1] = char_ids
        ids[:, 0] = self._bos
        rows = torch.arange(batch, device=ids.device)
        ids[rows, lengths + 1] = self._eos
        positions = torch.arange(width + 2, device=ids.device)
        return ids, positions[None, :] < (lengths + 2)[:, None]

    def token_vectors(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Char-CNN vectors for the real tokens, each distinct token computed once."""
        batch, width, chars = ids.shape
        flat_mask = mask.reshape(-1)
        real = ids.reshape(-1, chars)[flat_mask]  # (N, C)
        unique, inverse = torch.unique(real, dim=0, return_inverse=True)
        vectors = self.char_encoder(unique)[inverse]  # (N, P)
        out = vectors.new_zeros(batch * width, vectors.size(-1))
        out[flat_mask] = vectors
        return out.view(batch, width, -1)

    def run_lstms(self, tokens: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Both directions of every layer, batched: one (2, B, T, P) tensor per layer.

        Rows are sorted by length (longest first) so that at step t only a prefix of the batch is
        still running; the backward direction reads each sentence reversed within its length, so
        both directions share that prefix. Outputs are put back in the original order.
        """
        batch, width, _ = tokens.shape
        order = torch.argsort(lengths, descending=True, stable=True)
        sorted_lengths = lengths[order]
        steps = torch.arange(width, device=tokens.device)
        # reverse[b, t] = len_b - 1 - t inside the sentence, t at padding (an involution)
        reverse = torch.where(
            steps[None, :] < sorted_lengths[:, None], sorted_lengths[:, None] - 1 - steps, steps
        )
        forward_in = tokens[order]  # (B, T, P)
        inputs = torch.stack([forward_in, _gather_time(forward_in, reverse)])  # (2, B, T, P)
        active = (steps[:, None] < sorted_lengths[None, :]).sum(dim=1).tolist()  # rows per step
        state = self._initial_state(batch, order)
        finals, outputs = [], []
        for index, layer in enumerate(self.lstm_layers):
            layer_state = None if state is None else (state[0][index], state[1][index])
            out, final = layer(inputs, active, layer_state)  # (2, B, T, P)
            if self.options.use_skip_connections and index > 0:
                out = out + inputs
            finals.append(final)
            outputs.append(out)
            inputs = out
        restore = torch.argsort(order)
        self._save_state(finals, order, batch)
        return [
            torch.cat([out[0], _gather_time(out[1], reverse)], dim=-1)[restore]  # (B, T, 2P)
            for out in outputs
        ]

    def _initial_state(
        self, batch: int, order: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        if not self.stateful or self._state is None:
            return None
        hidden, memory = self._state  # (layers, 2, B_saved, P), (layers, 2, B_saved, C)
        missing = batch - hidden.size(2)
        if missing > 0:
            hidden = F.pad(hidden, (0, 0, 0, missing))
            memory = F.pad(memory, (0, 0, 0, missing))
        return hidden[:, :, :batch][:, :, order], memory[:, :, :batch][:, :, order]

    def _save_state(self, finals: list, order: torch.Tensor, batch: int) -> None:
        if not self.stateful:
            return
        hidden = torch.stack([h for h, _ in finals]).detach()  # (layers, 2, B, P), sorted rows
        memory = torch.stack([c for _, c in finals]).detach()
        new_hidden = hidden.new_zeros(hidden.shape)
        new_memory = memory.new_zeros(memory.shape)
        new_hidden[:, :, order], new_memory[:, :, order] = hidden, memory
        if self._state is not None and self._state[0].size(2) > batch:
            old_hidden, old_memory = (s.clone() for s in self._state)
            old_hidden[:, :, :batch], old_memory[:, :, :batch] = new_hidden, new_memory
            new_hidden, new_memory = old_hidden, old_memory
        self._state = (new_hidden, new_memory)


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x[b, index[b, t]] for x (B, T, D) and index (B, T)."""
    return torch.gather(x, 1, index[:, :, None].expand(-1, -1, x.size(-1)))
