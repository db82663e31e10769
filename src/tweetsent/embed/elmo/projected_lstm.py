"""One layer of ELMo's LSTM with projection (LSTMP), both directions computed together.

The cell of the released models (TensorFlow's `LSTMCell(num_proj=..., cell_clip=...,
proj_clip=...)`, Hochreiter & Schmidhuber 1997; projection from Sak et al. 2014), with gates in
TensorFlow's order i, j, f, o:

    [i, j, f, o] = W_x x_t + W_h h_{t-1} + b        (b already holds TF's forget bias +1)
    c_t = clip(sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(j), cell_clip)
    h_t = clip(W_p (sigmoid(o) * tanh(c_t)), proj_clip)

Weights are stacked over the direction axis (0 = forward, 1 = backward) and stored as
`x @ W` matrices, the layout of the official HDF5 files. The input projection W_x x_t is
computed for all time steps in one matrix product; only the recurrence loops over time.
"""

from __future__ import annotations

import torch
from torch import nn

FORGET_BIAS = 1.0  # TensorFlow's LSTMCell adds this to the forget gate; the files omit it


class ProjectedLstmLayer(nn.Module):
    """Inputs (2, B, T, input_dim) -> outputs (2, B, T, output_dim), zeros at padding.

    Rows must be sorted by length, longest first, and left-aligned in time (the backward
    direction is passed reversed within each sentence); `active[t]` is the number of rows still
    running at step t.
    """

    def __init__(
        self,
        input_dim: int,
        cell_dim: int,
        output_dim: int,
        cell_clip: float | None = None,
        proj_clip: float | None = None,
    ) -> None:
        super().__init__()
        self.cell_dim = cell_dim
        self.cell_clip = cell_clip
        self.proj_clip = proj_clip
        self.w_input = nn.Parameter(torch.empty(2, input_dim, 4 * cell_dim))
        self.w_hidden = nn.Parameter(torch.empty(2, output_dim, 4 * cell_dim))
        self.bias = nn.Parameter(torch.empty(2, 4 * cell_dim))  # includes FORGET_BIAS
        self.w_proj = nn.Parameter(torch.empty(2, cell_dim, output_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            nn.init.normal_(self.w_input, 0.0, self.w_input.size(1) ** -0.5)
            nn.init.normal_(self.w_hidden, 0.0, self.w_hidden.size(1) ** -0.5)
            nn.init.uniform_(self.bias, -0.1, 0.1)
            self.bias[:, 2 * self.cell_dim : 3 * self.cell_dim] += FORGET_BIAS
            nn.init.normal_(self.w_proj, 0.0, self.cell_dim**-0.5)

    def forward(
        self,
        inputs: torch.Tensor,
        active: list[int],
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Returns outputs (2, B, T, P) and each row's final (h (2, B, P), c (2, B, C))."""
        dirs, batch, width, _ = inputs.shape
        time_major = inputs.transpose(1, 2).reshape(dirs, width * batch, -1)  # (2, T*B, in)
        gates_x = torch.baddbmm(self.bias[:, None, :], time_major, self.w_input)
        gates_x = gates_x.view(dirs, width, batch, -1)  # (2, T, B, 4C)
        if state is None:
            hidden = inputs.new_zeros(dirs, batch, self.w_proj.size(-1))  # (2, B, P)
            memory = inputs.new_zeros(dirs, batch, self.cell_dim)  # (2, B, C)
        else:
            hidden, memory = state
        outputs = inputs.new_zeros(dirs, width, batch, self.w_proj.size(-1))  # (2, T, B, P)
        finished: list[tuple[torch.Tensor, torch.Tensor]] = []  # rows that ended, last first
        for step in range(width):
            rows = active[step]
            if rows < hidden.size(1):
                finished.append((hidden[:, rows:], memory[:, rows:]))
                hidden, memory = hidden[:, :rows], memory[:, :rows]
            hidden, memory = self._step(gates_x[:, step, :rows], hidden, memory)
            outputs[:, step, :rows] = hidden
        finished.append((hidden, memory))
        final_h = torch.cat([h for h, _ in reversed(finished)], dim=1)  # (2, B, P)
        final_c = torch.cat([c for _, c in reversed(finished)], dim=1)  # (2, B, C)
        return outputs.transpose(1, 2), (final_h, final_c)

    def _step(
        self, gates_x: torch.Tensor, hidden: torch.Tensor, memory: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gates = torch.baddbmm(gates_x, hidden, self.w_hidden)  # (2, rows, 4C)
        i, j, f, o = gates.chunk(4, dim=-1)
        memory = torch.sigmoid(f) * memory + torch.sigmoid(i) * torch.tanh(j)  # (2, rows, C)
        if self.cell_clip:
            memory = memory.clamp(-self.cell_clip, self.cell_clip)
        hidden = torch.bmm(torch.sigmoid(o) * torch.tanh(memory), self.w_proj)  # (2, rows, P)
        if self.proj_clip:
            hidden = hidden.clamp(-self.proj_clip, self.proj_clip)
        return hidden, memory
