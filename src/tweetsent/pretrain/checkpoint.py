"""Pretraining checkpoints without pickle: safetensors for tensors, JSON for everything else.

    DIR/checkpoint/model.safetensors      biLM + softmax parameters (state_dict names)
    DIR/checkpoint/optimizer.safetensors  optimizer tensors as "<param index>.<name>", and the
                                          torch RNG state as "rng.torch" (and the CUDA
                                          generator's as "rng.cuda" when trained on a GPU);
                                          under torchrun also the ranks' shared generator of
                                          sampled-softmax ids as "rng.sample"
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

from tweetsent.checkpoint import optimizer_state, optimizer_tensors, restore_rng, rng_state
from tweetsent.errors import DataError
from tweetsent.io import atomic_path, read_json, write_json

STATE, MODEL, OPTIM = "state.json", "model.safetensors", "optimizer.safetensors"
RNG_SAMPLE = "rng.sample"


def save_checkpoint(
    folder: str | os.PathLike,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    samples: torch.Generator | None = None,
) -> None:
    """Write model, optimizer, RNG and `state` (JSON-able) into `folder`, each atomically.
    `samples`: the generator of sampled-softmax ids when it is not torch's global one."""
    folder = Path(folder)
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / MODEL) as tmp:
        save_file(weights, str(tmp))
    raw = optimizer.state_dict()
    tensors, scalars = optimizer_tensors(raw)
    tensors.update(rng_state(_cuda(model)))
    if samples is not None:
        tensors[RNG_SAMPLE] = samples.get_state()
    plain = {"param_groups": raw["param_groups"], "state": scalars}
    with atomic_path(folder / OPTIM) as tmp:
        save_file(tensors, str(tmp))
    write_json(folder / STATE, {**state, "optimizer": plain})


def load_checkpoint(
    folder: str | os.PathLike,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    samples: torch.Generator | None = None,
) -> dict[str, Any]:
    """Restore model, optimizer and the torch RNG; return the JSON state.

    The sampled-softmax ids continue where the checkpoint's run left them, whatever the number
    of ranks: into `samples` (ranks under torchrun) or torch's generator (one process), from
    "rng.sample" when a torchrun job wrote the checkpoint, else from "rng.torch".
    """
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
    sample_state = tensors.pop(RNG_SAMPLE, None)
    restore_rng(tensors, _cuda(model))
    if samples is not None:
        samples.set_state(torch.get_rng_state() if sample_state is None else sample_state)
    elif sample_state is not None:
        torch.set_rng_state(sample_state)
    plain = state.pop("optimizer")
    optimizer.load_state_dict(optimizer_state(tensors, plain["state"], plain["param_groups"]))
    return state


def _cuda(model: torch.nn.Module) -> torch.device | None:
    """The model's CUDA device, whose generator the checkpoint keeps; None on the CPU."""
    device = next(model.parameters()).device
    return device if device.type == "cuda" else None
