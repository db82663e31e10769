"""What resumable training saves beside the weights, without pickle: the optimizer's state as
flat tensors (safetensors) plus its JSON-able rest, and the random number generators.

Shared by the classifier's per-epoch checkpoints (`train.checkpoint`) and the biLM's
(`pretrain.checkpoint`); each names its files and wraps the pieces in its own JSON layout.

    tensors, scalars = optimizer_tensors(optimizer.state_dict(), prefix="state.")
    tensors.update(rng_state(cuda))
    ...
    restore_rng(tensors, cuda)                      # pops the "rng.*" entries
    optimizer.load_state_dict(optimizer_state(tensors, scalars, param_groups, prefix="state."))
"""

from __future__ import annotations

from typing import Any

import torch

RNG_TORCH, RNG_CUDA = "rng.torch", "rng.cuda"


def optimizer_tensors(
    state_dict: dict[str, Any], prefix: str = ""
) -> tuple[dict[str, torch.Tensor], dict[str, dict[str, Any]]]:
    """An optimizer's `state_dict()` state as tensors named `<prefix><param>.<key>` (on the CPU,
    contiguous) and the non-tensor entries `{param: {key: value}}` (JSON-able)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param, values in state_dict["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}{param}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(param), {})[key] = value
    return tensors, scalars


def optimizer_state(
    tensors: dict[str, torch.Tensor],
    scalars: dict[str, dict[str, Any]],
    param_groups: list[dict[str, Any]],
    prefix: str = "",
    device: torch.device | None = None,
) -> dict[str, Any]:
    """The `state_dict` that `optimizer_tensors` took apart. With `device`, the moments move
    there (Adam keeps `step` on the CPU)."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        param, key = name.removeprefix(prefix).split(".", 1)
        if device is not None and key != "step":
            value = value.to(device)
        state.setdefault(int(param), {})[key] = value
    for param, values in scalars.items():
        state.setdefault(int(param), {}).update(values)
    return {"state": state, "param_groups": param_groups}


def rng_state(cuda: torch.device | str | None = None) -> dict[str, torch.Tensor]:
    """The torch generator's state, and with `cuda` that CUDA device's (dropout on a GPU draws
    from the device's generator)."""
    tensors = {RNG_TORCH: torch.get_rng_state()}
    if cuda is not None:
        tensors[RNG_CUDA] = torch.cuda.get_rng_state(cuda)
    return tensors


def restore_rng(tensors: dict[str, torch.Tensor], cuda: torch.device | str | None = None) -> None:
    """Pop the `rng_state` entries from `tensors` and restore them (the CUDA one only with
    `cuda`: a checkpoint written on a GPU resumes on the CPU)."""
    torch.set_rng_state(tensors.pop(RNG_TORCH))
    cuda_rng = tensors.pop(RNG_CUDA, None)
    if cuda_rng is not None and cuda is not None:
        torch.cuda.set_rng_state(cuda_rng, cuda)
