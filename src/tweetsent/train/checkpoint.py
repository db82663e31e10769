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

from tweetsent.checkpoint import optimizer_state, optimizer_tensors, restore_rng, rng_state
from tweetsent.io import atomic_path, read_json, write_json
from tweetsent.runs.rundir import CHECKPOINT, load_weights, save_weights


def exists(run_dir: Path) -> bool:
    return (Path(run_dir) / CHECKPOINT / "state.json").is_file()


def save(
    run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    folder = Path(run_dir) / CHECKPOINT
    tag = f"epoch-{state['epoch']}"
    save_weights(model, folder / f"{tag}.model.safetensors")
    raw = optimizer.state_dict()
    tensors, scalars = optimizer_tensors(raw, prefix="state.")
    tensors.update(rng_state(_cuda()))
    plain = {"param_groups": raw["param_groups"], "scalars": scalars}
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
    restore_rng(tensors, _cuda())
    plain = saved["optimizer"]
    state = optimizer_state(tensors, plain["scalars"], plain["param_groups"], "state.", device)
    optimizer.load_state_dict(state)
    return saved["loop"]


def _cuda() -> str | None:
    """The CUDA generator saved and restored: the current device's, where there is one."""
    return "cuda" if torch.cuda.is_available() else None
