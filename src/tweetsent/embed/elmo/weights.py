"""Read and write the official ELMo HDF5 weight layout (bilm-tf's `dump_weights`).

Datasets (TensorFlow `x @ W` layout, float32), with F = n_filters, P = projection_dim,
C = lstm dim, E = char embedding dim:

    char_embed                               (n_characters - 1, E)   no padding row
    CNN/W_cnn_{i}, CNN/b_cnn_{i}             (1, width_i, E, num_i), (num_i,)
    CNN_high_{k}/W_carry, b_carry            (F, F), (F,)            gate: sigmoid(x W + b)
    CNN_high_{k}/W_transform, b_transform    (F, F), (F,)
    CNN_proj/W_proj, b_proj                  (F, P), (P,)
    RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/W_0    (P + P, 4C)   rows: [input; hidden]
    RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/B      (4C,)         gates i, j, f, o
    RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/W_P_0  (C, P)

d = 0 forward, 1 backward. The file's forget-gate bias omits TensorFlow's +1, added on load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn

from tweetsent.embed.elmo.bilm import ElmoBiLm
from tweetsent.embed.elmo.options import ElmoOptions
from tweetsent.embed.elmo.projected_lstm import FORGET_BIAS
from tweetsent.errors import DataError
from tweetsent.io import atomic_path


def lstm_prefix(direction: int, layer: int) -> str:
    return f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"


def weight_layout(options: ElmoOptions) -> dict[str, tuple[int, ...]]:
    """Every dataset of the official file and the shape the options imply."""
    emb, filters, proj, cell = (
        options.char_embed_dim,
        options.n_filters,
        options.projection_dim,
        options.lstm_dim,
    )
    layout: dict[str, tuple[int, ...]] = {"char_embed": (options.char_table_rows - 1, emb)}
    for i, (width, num) in enumerate(options.filters):
        layout[f"CNN/W_cnn_{i}"] = (1, width, emb, num)
        layout[f"CNN/b_cnn_{i}"] = (num,)
    for k in range(options.n_highway):
        for part in ("carry", "transform"):
            layout[f"CNN_high_{k}/W_{part}"] = (filters, filters)
            layout[f"CNN_high_{k}/b_{part}"] = (filters,)
    layout["CNN_proj/W_proj"] = (filters, proj)
    layout["CNN_proj/b_proj"] = (proj,)
    for direction in range(2):
        for layer in range(options.n_layers):
            prefix = lstm_prefix(direction, layer)
            layout[f"{prefix}/W_0"] = (proj + proj, 4 * cell)
            layout[f"{prefix}/B"] = (4 * cell,)
            layout[f"{prefix}/W_P_0"] = (cell, proj)
    return layout


def _open(path: str | os.PathLike) -> h5py.File:
    if not Path(path).is_file():
        raise DataError("no such ELMo weight file", path)
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"not a readable HDF5 file, truncated or corrupt? ({exc})", path) from None


def _shape(handle: h5py.File, name: str, expected: tuple[int, ...], path: object) -> None:
    try:
        dataset = handle[name]
    except KeyError:
        raise DataError(f"missing dataset {name!r}", path) from None
    if not isinstance(dataset, h5py.Dataset):
        raise DataError(f"{name!r} is a group, expected a dataset", path)
    if tuple(dataset.shape) != expected:
        raise DataError(
            f"dataset {name!r} has shape {tuple(dataset.shape)}, the options imply {expected}",
            path,
        )


def check_weights(options: ElmoOptions, path: str | os.PathLike) -> None:
    """Check every dataset's presence and shape against `options`, without reading the data."""
    with _open(path) as handle:
        for name, expected in weight_layout(options).items():
            _shape(handle, name, expected, path)


def _read(handle: h5py.File, name: str, expected: tuple[int, ...], path: object) -> np.ndarray:
    _shape(handle, name, expected, path)
    try:
        data = np.asarray(handle[name][...], dtype=np.float32)
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(
            f"cannot read dataset {name!r}, truncated or corrupt? ({exc})", path
        ) from None
    if not np.isfinite(data).all():
        raise DataError(f"dataset {name!r} holds NaN or infinite values", path)
    return data


def load_weights(bilm: ElmoBiLm, path: str | os.PathLike) -> None:
    """Fill `bilm` from an official HDF5 file.

    Every dataset is shape-checked, then all are read and checked for NaN/inf, and only then
    copied: a bad file raises DataError and leaves `bilm` unchanged.
    """
    layout = weight_layout(bilm.options)
    with _open(path) as handle:
        for name, expected in layout.items():
            _shape(handle, name, expected, path)
        arrays = {
            name: torch.from_numpy(_read(handle, name, layout[name], path)) for name in layout
        }
    with torch.no_grad():
        _load_char_cnn(bilm, arrays.__getitem__)
        _load_highways(bilm, arrays.__getitem__)
        _load_lstms(bilm, arrays.__getitem__)
    bilm.reset_states()


def _load_char_cnn(bilm: ElmoBiLm, read: Callable[[str], torch.Tensor]) -> None:
    enc = bilm.char_encoder
    table = read("char_embed")  # (n_characters - 1, E): prepend the zero padding row
    enc.embedding.weight.copy_(torch.cat([table.new_zeros(1, table.size(1)), table]))
    for i, conv in enumerate(enc.conv_layers()):
        conv.weight.copy_(read(f"CNN/W_cnn_{i}")[0].permute(2, 1, 0))  # (num, E, width)
        assert conv.bias is not None  # the char CNN's convolutions have biases
        conv.bias.copy_(read(f"CNN/b_cnn_{i}"))
    enc.projection.weight.copy_(read("CNN_proj/W_proj").T)
    enc.projection.bias.copy_(read("CNN_proj/b_proj"))


def _load_highways(bilm: ElmoBiLm, read: Callable[[str], torch.Tensor]) -> None:
    for k, highway in enumerate(bilm.char_encoder.highway_layers()):
        for part in ("carry", "transform"):
            linear: nn.Linear = getattr(highway, part)
            linear.weight.copy_(read(f"CNN_high_{k}/W_{part}").T)
            linear.bias.copy_(read(f"CNN_high_{k}/b_{part}"))


def _load_lstms(bilm: ElmoBiLm, read: Callable[[str], torch.Tensor]) -> None:
    proj, cell = bilm.options.projection_dim, bilm.options.lstm_dim
    for index, layer in enumerate(bilm.projected_layers()):
        for d in range(2):
            prefix = lstm_prefix(d, index)
            weight = read(f"{prefix}/W_0")  # (P_in + P, 4C), rows [input; hidden]
            layer.w_input[d].copy_(weight[:proj])
            layer.w_hidden[d].copy_(weight[proj:])
            layer.bias[d].copy_(read(f"{prefix}/B"))
            layer.bias[d, 2 * cell : 3 * cell] += FORGET_BIAS  # TF adds it inside the cell
            layer.w_proj[d].copy_(read(f"{prefix}/W_P_0"))


def _file_arrays(bilm: ElmoBiLm) -> Iterator[tuple[str, torch.Tensor]]:
    """The inverse of the `_load_*` steps: (dataset name, tensor in the file's layout)."""
    enc, cell = bilm.char_encoder, bilm.options.lstm_dim
    yield "char_embed", enc.embedding.weight[1:]
    for i, conv in enumerate(enc.conv_layers()):
        yield f"CNN/W_cnn_{i}", conv.weight.permute(2, 1, 0)[None]  # (1, width, E, num)
        assert conv.bias is not None  # the char CNN's convolutions have biases
        yield f"CNN/b_cnn_{i}", conv.bias
    for k, highway in enumerate(enc.highway_layers()):
        for part in ("carry", "transform"):
            linear: nn.Linear = getattr(highway, part)
            yield f"CNN_high_{k}/W_{part}", linear.weight.T
            yield f"CNN_high_{k}/b_{part}", linear.bias
    yield "CNN_proj/W_proj", enc.projection.weight.T
    yield "CNN_proj/b_proj", enc.projection.bias
    for index, layer in enumerate(bilm.projected_layers()):
        for d in range(2):
            prefix = lstm_prefix(d, index)
            yield f"{prefix}/W_0", torch.cat([layer.w_input[d], layer.w_hidden[d]])
            bias = layer.bias[d].clone()
            bias[2 * cell : 3 * cell] -= FORGET_BIAS
            yield f"{prefix}/B", bias
            yield f"{prefix}/W_P_0", layer.w_proj[d]


def load_bilm(
    options_path: str | os.PathLike,
    weights_path: str | os.PathLike,
    *,
    stateful: bool = False,
    device: str | torch.device = "cpu",
    requires_grad: bool = False,
) -> ElmoBiLm:
    """Build the biLM from `options.json` and load the HDF5 weights; frozen and in eval mode."""
    bilm = ElmoBiLm(ElmoOptions.load(options_path), stateful=stateful)
    load_weights(bilm, weights_path)
    bilm.requires_grad_(requires_grad)
    return bilm.to(device).eval()


def save_hdf5(bilm: ElmoBiLm, path: str | os.PathLike) -> None:
    """Write `bilm`'s weights in the official layout (atomically): the inverse of `load_weights`."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle, torch.no_grad():
        for name, tensor in _file_arrays(bilm):
            data = tensor.detach().cpu().float().numpy()
            handle.create_dataset(name, data=np.ascontiguousarray(data, dtype=np.float32))
