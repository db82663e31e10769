"""Pretraining checkpoints without pickle: safetensors for tensors, JSON for everything else.

    DIR/checkpoint/model.safetensors      biLM + softmax parameters (state_dict names)
    DIR/checkpoint/optimizer.safetensors  optimizer tensors as "<param index>.<name>", and the
                                          torch RNG state as "rng.torch" (and the CUDA
                                          generator's as "rng.cuda" when trained on a GPU)
    DIR/checkpoint/state.json             step, epoch, batch in epoch, history, the optimizer's
                                          non-tensor state and param groups, the run settings

The JSON file is written last, so a checkpoint whose JSON names a step is complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from tweetsent.errors import DataError
from tweetsent.io import atomic_path, read_json, write_json

STATE, MODEL, OPTIM = "state.json", "model.safetensors", "optimizer.safetensors"


def save_checkpoint(
    folder: str | os.PathLike,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
) -> None:
    """Write model, optimizer, RNG and `state` (JSON-able) into `folder`, each atomically."""
    folder = Path(folder)
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / MODEL) as tmp:
        save_file(weights, str(tmp))
    tensors, plain = _flatten_optimizer(optimizer)
    tensors["rng.torch"] = torch.get_rng_state()
    device = next(model.parameters()).device
    if device.type == "cuda":  # dropout on the GPU draws from the device's generator
        tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
    with atomic_path(folder / OPTIM) as tmp:
        save_file(tensors, str(tmp))
    write_json(folder / STATE, {**state, "optimizer": plain})


def load_checkpoint(
    folder: str | os.PathLike, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore model, optimizer and the torch RNG; return the JSON state."""
    folder = Path(folder)
    if not (folder / STATE).is_file():
        raise DataError("no checkpoint to resume from (state.json missing)", folder)
    state = read_json(folder / STATE)
    try:
        weights = load_file(str(folder / MODEL))
        tensors = load_file(str(folder / OPTIM))
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable checkpoint ({exc})", folder) from None
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise DataError(
            f"checkpoint does not fit this model: {exc}".split("\n")[0], folder
        ) from None
    torch.set_rng_state(tensors.pop("rng.torch"))
    cuda_rng = tensors.pop("rng.cuda", None)
    device = next(model.parameters()).device
    if cuda_rng is not None and device.type == "cuda":
        torch.cuda.set_rng_state(cuda_rng, device)
    optimizer.load_state_dict(_unflatten_optimizer(tensors, state.pop("optimizer")))
    return state


def _flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    raw = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    other: dict[str, dict[str, Any]] = {}
    for index, entry in raw["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value.detach().contiguous()
            else:
                other.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": raw["param_groups"], "state": other}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for index, entry in plain["state"].items():
        state.setdefault(int(index), {}).update(entry)
    return {"state": state, "param_groups": plain["param_groups"]}
