"""Train a recipe: every member of an ensemble config, then the ensemble run over them.

    # configs/best.toml                      # configs/members/bilstm.toml
    [data]                                   [model]
    train = ["../shared/data/..."]           kind = "rnn"
    [ensemble]                               pooling = "attention"
    members = ["members/bilstm.toml", "members/ngram.toml"]
    weights = "fit"

`tweetsent train --config configs/best.toml --data DATA --out RUN` trains each member as an
ordinary run in RUN/members/STEM, then writes the ensemble into RUN (`runs.ensemble`). A
member's config is read over the recipe: the recipe's fields, overlaid field by field by the
member file's (the member wins), then the recipe's data files and labels, seed, threads, device,
progress and dry-run forced, so that `--data` and `--seed` reach every member.

A member whose run is complete with the same settings is skipped; `resume` continues an
unfinished one from its checkpoint (otherwise it starts again).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tweetsent.config import SECTIONS, RunConfig
from tweetsent.device import resolve_device
from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.io import read_toml
from tweetsent.runs.ensemble import build_ensemble
from tweetsent.runs.members import MEMBERS
from tweetsent.runs.rundir import CHECKPOINT, WEIGHTS, read_run
from tweetsent.train import checkpoint

# Fields every member takes from the recipe, whatever its own file says.
FORCED = {
    "data": ("train", "valid", "format", "labels", "text_col", "label_col"),
    "train": ("seed", "threads", "device", "progress", "dry_run"),
}
# Fields that do not change what a member learns (a finished member is reused across them).
RUNTIME = {"train": ("threads", "device", "progress"), "data": ("workers", "cache_dir")}


def member_configs(recipe: RunConfig) -> list[tuple[str, RunConfig]]:
    """(name, config) of each member of the recipe, name = its file's stem."""
    out = Path(recipe.out)
    members: list[tuple[str, RunConfig]] = []
    for path in recipe.ensemble.members:
        name = Path(path).stem
        if any(name == other for other, _ in members):
            raise ConfigError(f"ensemble.members: two members are named {name!r} (file stems)")
        members.append((name, member_config(recipe, path, out / MEMBERS / name)))
    return members


def member_config(recipe: RunConfig, path: str | Path, out: Path) -> RunConfig:
    """The member file `path` read over the recipe (see the module docstring)."""
    raw = recipe.to_dict()
    own = read_toml(path, "ensemble member config")
    for section, values in own.items():
        if section == "ensemble":
            raise ConfigError(f"{path}: a member cannot be an ensemble ([ensemble])")
        if section not in SECTIONS or not isinstance(values, dict):
            raise ConfigError(f"{path}: unknown section {section!r}")
        raw[section].update(values)
    for section, names in FORCED.items():
        for name in names:
            raw[section][name] = getattr(getattr(recipe, section), name)
    raw["ensemble"] = {"members": [], "weights": recipe.ensemble.weights}
    raw["out"] = str(out)
    return RunConfig.from_dict(raw, source=str(path))


def train_recipe(
    recipe: RunConfig, train: Callable[..., Any], resume: bool = False, log=print
) -> dict[str, Any]:
    """Train the recipe's members with `train` (the ordinary loop, which calls this and passes
    itself), then build the ensemble into `recipe.out`. Returns the fields of the ensemble's
    `RunResult`: best_epoch 0, metrics = the ensemble's validation metrics."""
    if not recipe.out:
        raise ConfigError("out: a run directory is required")
    dirs = []
    for name, config in member_configs(recipe):
        run_dir = Path(config.out)
        dirs.append(run_dir)
        if _complete(run_dir, config):
            log(f"member {name}: already trained in {run_dir}, reused")
            continue
        start = time.perf_counter()
        again = resume and checkpoint.exists(run_dir)
        result = train(config, resume=again, log=lambda line, n=name: log(f"[{n}] {line}"))
        avgrec = result.metrics.get("avgrec", float("nan"))
        seconds = time.perf_counter() - start
        best = result.best_epoch
        log(f"member {name}: valid AvgRec {avgrec:.4f} (best epoch {best}, {seconds:.0f}s)")
    ensemble = build_ensemble(dirs, recipe.out, weights=recipe.ensemble.weights, log=log)
    for run_dir in dirs:  # finished: as in `tweetsent ensemble`, members keep no checkpoint
        shutil.rmtree(run_dir / CHECKPOINT, ignore_errors=True)
    return {
        "run_dir": Path(recipe.out),
        "config": ensemble.config,
        "best_epoch": 0,
        "metrics": dict(ensemble.metrics),
        "device": str(resolve_device(recipe.train.device)),
    }


def _complete(run_dir: Path, config: RunConfig) -> bool:
    """Whether run_dir holds a finished run of `config` (runtime-only fields aside)."""
    if not ((run_dir / "metrics.json").is_file() and (run_dir / WEIGHTS).is_file()):
        return False
    try:
        saved = read_run(run_dir).config
    except TweetsentError:
        return False
    return _learned(saved) == _learned(config)


def _learned(config: RunConfig) -> dict[str, Any]:
    raw = config.to_dict()
    raw.pop("out")
    raw["embed"].pop("dim")  # resolved from the word vectors by training
    for section, names in RUNTIME.items():
        for name in names:
            raw[section].pop(name)
    return raw
