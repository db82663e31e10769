"""Per-epoch checkpoints for `--resume`: weights, optimizer state and loop state.

Tensors go to safetensors, everything else to JSON. A checkpoint is complete or absent: the
tensor files carry the epoch in their names and `state.json`, written last and atomically, names
the epoch whose files are complete; a kill at any moment leaves the previous checkpoint usable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from tweetsent.io import atomic_path, read_json, write_json
from tweetsent.rundir import CHECKPOINT, load_weights, save_weights


def exists(run_dir: Path) -> bool:
    return (Path(run_dir) / CHECKPOINT / "state.json").is_file()


def save(
    run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    folder = Path(run_dir) / CHECKPOINT
    tag = f"epoch-{state['epoch']}"
    save_weights(model, folder / f"{tag}.model.safetensors")
    tensors, plain = _split_optimizer(optimizer.state_dict())
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    with atomic_path(folder / f"{tag}.optimizer.safetensors") as tmp:
        save_file(tensors, str(tmp))
    write_json(folder / "state.json", {"tag": tag, "loop": state, "optimizer": plain})
    for old in folder.glob("epoch-*.safetensors"):
        if not old.name.startswith(f"{tag}."):
            old.unlink(missing_ok=True)


def load(
    run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, device: torch.device
) -> dict[str, Any]:
    """Restore model, optimizer and RNG; return the loop state saved with them."""
    folder = Path(run_dir) / CHECKPOINT
    saved = read_json(folder / "state.json")
    tag = saved["tag"]
    load_weights(model, folder / f"{tag}.model.safetensors")
    tensors = load_file(str(folder / f"{tag}.optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("rng.torch"))
    cuda_rng = tensors.pop("rng.cuda", None)
    if cuda_rng is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(cuda_rng)
    optimizer.load_state_dict(_join_optimizer(tensors, saved["optimizer"], device))
    return saved["loop"]


def _split_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state -> flat tensors `state.<param>.<key>` plus the JSON-able rest."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param, values in state_dict["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"state.{param}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(param), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], plain: dict, device: torch.device) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, param, key = name.split(".", 2)
        # Adam keeps `step` on the CPU; moments live with the parameters.
        state.setdefault(int(param), {})[key] = value if key == "step" else value.to(device)
    for param, values in plain["scalars"].items():
        state.setdefault(int(param), {}).update(values)
    return {"state": state, "param_groups": plain["param_groups"]}
