"""Per-epoch checkpoints for `--resume`: weights, optimizer state and loop state.

Tensors go to safetensors, everything else to JSON. A checkpoint is complete or absent: the
tensor files carry the epoch in their names and `state.json`, written last and atomically, names
the epoch whose files are complete; a kill at any moment leaves the previous checkpoint usable.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tweetsent.checkpoint import optimizer_state, optimizer_tensors, restore_rng, rng_state
from tweetsent.errors import TweetsentError
from tweetsent.io import atomic_path, read_json, write_json
from tweetsent.runs.rundir import CHECKPOINT, load_weights, save_weights

LOOP_FIELDS = {"epoch", "best", "best_epoch", "bad_epochs", "history"}  # train.loop._State


def exists(run_dir: Path) -> bool:
    return (Path(run_dir) / CHECKPOINT / "state.json").is_file()


def save(
    run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    folder = Path(run_dir) / CHECKPOINT
    if folder.is_symlink():  # never write (or delete old epochs) through a link
        raise TweetsentError(f"{folder}: a link; a run's checkpoint folder must be its own")
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
    """Restore model, optimizer and RNG; return the loop state saved with them. A damaged
    checkpoint is a one-line `TweetsentError` naming the file."""
    folder = Path(run_dir) / CHECKPOINT
    saved, tag = _read_state(folder / "state.json")
    load_weights(model, folder / f"{tag}.model.safetensors")
    path = folder / f"{tag}.optimizer.safetensors"
    try:
        tensors = load_file(str(path))
        restore_rng(tensors, _cuda())
        plain = saved["optimizer"]
        state = optimizer_state(tensors, plain["scalars"], plain["param_groups"], "state.", device)
        optimizer.load_state_dict(state)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise TweetsentError(
            f"{path}: damaged optimizer checkpoint ({type(exc).__name__}: {exc}); "
            f"delete {folder} to train from scratch"
        ) from None
    return saved["loop"]


def _read_state(path: Path) -> tuple[dict[str, Any], str]:
    """state.json, checked: a JSON object naming an epoch (`epoch-N`) with loop and optimizer."""
    try:
        saved = read_json(path)
    except (ValueError, OSError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise TweetsentError(f"{path}: unreadable checkpoint state ({exc})") from None
    ok = isinstance(saved, dict) and isinstance(saved.get("tag"), str)
    ok = ok and re.fullmatch(r"epoch-\d+", saved["tag"]) is not None
    ok = ok and isinstance(saved.get("loop"), dict) and isinstance(saved.get("optimizer"), dict)
    loop = saved.get("loop") if ok else {}
    ok = ok and set(loop) <= LOOP_FIELDS and isinstance(loop.get("history", []), list)
    ok = ok and all(
        isinstance(loop.get(k, 0), int) and loop.get(k, 0) >= 0
        for k in ("epoch", "best_epoch", "bad_epochs")
    )
    ok = ok and (loop.get("best") is None or isinstance(loop.get("best"), int | float))
    if not ok:
        raise TweetsentError(
            f"{path}: not a tweetsent checkpoint state (tag, loop, optimizer); "
            f"delete {path.parent} to train from scratch"
        )
    return saved, saved["tag"]


def _cuda() -> str | None:
    """The CUDA generator saved and restored: the current device's, where there is one."""
    return "cuda" if torch.cuda.is_available() else None
