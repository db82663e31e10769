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
progress and dry-run forced, so that `--data` and `--seed` reach every member. A file listed
k times gives k members, STEM, STEM-2, ..., STEM-k, trained with the recipe's seed, seed + 100,
..., seed + 100 (k - 1): a seed ensemble of one setting.

A member whose run is complete with the same settings is skipped; `resume` continues an
unfinished one from its checkpoint (otherwise it starts again).

With `ensemble.refit = ["STEM", ...]` that is the first stage, written to RUN/heldout (members
and ensemble, validation scores held out); then each member named is trained again into
RUN/members/STEM on the training and the validation tweets (`data.train_on_valid`) for the
number of epochs its first run kept (`train.keep = "last"`), the others are copied as they are,
and RUN mixes them with the first stage's weights. The validation split chooses everything; the
refit only gives the chosen models more tweets. With `ensemble.heldout = false` there is no first
stage: the members named are trained once, straight into RUN/members/STEM, on the training and
validation tweets for their own epochs (the last kept), the weights uniform; half the time, but
the run's validation scores are in-sample (marked so), the settings having been chosen before.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tweetsent.config import SECTIONS, RunConfig
from tweetsent.device import resolve_device
from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.io import read_json, read_toml
from tweetsent.runs.ensemble import build_ensemble
from tweetsent.runs.members import MEMBERS
from tweetsent.runs.rundir import CHECKPOINT, WEIGHTS, read_run
from tweetsent.train import checkpoint

HELD_OUT = "heldout"  # ensemble.refit: the first stage's run, members trained without validation
# Fields every member takes from the recipe, whatever its own file says.
FORCED = {
    "data": ("train", "valid", "format", "labels", "text_col", "label_col"),
    "train": ("seed", "threads", "device", "progress", "dry_run"),
}
# A member file listed again: the k-th listing trains with the recipe's seed + SEED_STEP * (k - 1).
SEED_STEP = 100
# Fields that do not change what a member learns (a finished member is reused across them).
RUNTIME = {"train": ("threads", "device", "progress"), "data": ("workers", "cache_dir")}


def member_configs(recipe: RunConfig) -> list[tuple[str, RunConfig]]:
    """(name, config) of each member of the recipe, name = its file's stem (STEM-k for the
    k-th listing of a file)."""
    out = Path(recipe.out)
    members: list[tuple[str, RunConfig]] = []
    for i, path in enumerate(recipe.ensemble.members):
        repeat = recipe.ensemble.members[:i].count(path)  # earlier listings of the same file
        name = Path(path).stem + (f"-{repeat + 1}" if repeat else "")
        if any(name == other for other, _ in members):
            raise ConfigError(f"ensemble.members: two members are named {name!r} (file stems)")
        config = member_config(recipe, path, out / MEMBERS / name)
        if repeat:  # a seed ensemble: the same settings, another seed
            seed = config.train.seed + SEED_STEP * repeat
            config = replace(config, train=replace(config.train, seed=seed))
        members.append((name, config))
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
    `RunResult`: best_epoch 0, metrics = the ensemble's validation metrics (held out, also
    under `ensemble.refit`; in-sample with `ensemble.heldout = false`, as `split` says)."""
    if not recipe.out:
        raise ConfigError("out: a run directory is required")
    members = member_configs(recipe)
    held = None
    refit = recipe.ensemble.refit
    unknown = sorted(set(refit) - {name for name, _ in members})
    if unknown:
        raise ConfigError(f"ensemble.refit: {unknown[0]!r} is not a member (file stem)")
    if not recipe.ensemble.heldout:  # no first stage (needs refit): trained once, on validation too
        members = [(n, train_again(c, c.train.epochs) if n in refit else c) for n, c in members]
        log(f"refit: {', '.join(refit)} trained on training + validation tweets, no held-out stage")
    elif refit:
        held = Path(recipe.out) / HELD_OUT
        first = [(n, replace(c, out=str(held / MEMBERS / n))) for n, c in members]
        dirs = _train_members(first, train, resume, log)
        build_ensemble(dirs, held, weights=recipe.ensemble.weights, log=log)
        _drop_checkpoints(dirs)
        again = []
        for (name, config), held_run in zip(members, dirs, strict=True):
            if name in refit:
                again.append((name, refit_config(config, held_run)))
            else:  # as trained: a copy beside the refit members
                again.append((name, _copy_run(held_run, Path(config.out))))
        members = again
        log(f"refit: training {', '.join(refit)} again on training + validation tweets")
    dirs = _train_members(members, train, resume, log)
    ensemble = build_ensemble(
        dirs, recipe.out, weights=recipe.ensemble.weights, log=log, refit_of=held
    )
    _drop_checkpoints(dirs)
    return {
        "run_dir": Path(recipe.out),
        "config": ensemble.config,
        "best_epoch": 0,
        "metrics": dict(ensemble.metrics),
        "split": ensemble.split,
        "device": str(resolve_device(recipe.train.device)),
    }


def refit_config(config: RunConfig, held_run: Path) -> RunConfig:
    """The member `config` trained again on its validation tweets too, for the epochs its
    held-out run `held_run` kept (metrics.json's best_epoch), keeping the last."""
    return train_again(config, int(read_json(held_run / "metrics.json")["best_epoch"]))


def train_again(config: RunConfig, epochs: int) -> RunConfig:
    """The member `config` trained on its validation tweets too, for `epochs`, keeping the last
    (nothing is chosen by tweets it trains on)."""
    return replace(
        config,
        data=replace(config.data, train_on_valid=True),
        train=replace(config.train, keep="last", epochs=max(epochs, 1)),
    )


def _train_members(members, train, resume: bool, log) -> list[Path]:
    """Train each (name, config) that is not already complete; return their run folders."""
    dirs = []
    for name, config in members:
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
        epoch = f"{config.train.keep} epoch {result.best_epoch}"
        what = "in-sample " if config.data.train_on_valid else ""
        log(f"member {name}: {what}valid AvgRec {avgrec:.4f} ({epoch}, {seconds:.0f}s)")
    return dirs


def _copy_run(source: Path, target: Path) -> RunConfig:
    """A finished member run copied (a temporary name, then renamed; files hard-linked where
    the file system allows, the runs being read-only once finished); kept if already there.
    Returns its config, `out` the copy."""
    config = replace(read_run(source).config, out=str(target))
    if _complete(target, config):
        return config
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.copy")
    shutil.rmtree(partial, ignore_errors=True)
    ignore = shutil.ignore_patterns(CHECKPOINT)
    shutil.copytree(source, partial, ignore=ignore, copy_function=_link_or_copy)
    os.replace(partial, target)
    return config


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def _drop_checkpoints(dirs: list[Path]) -> None:
    """Finished: as in `tweetsent ensemble`, members keep no checkpoint."""
    for run_dir in dirs:
        shutil.rmtree(run_dir / CHECKPOINT, ignore_errors=True)


def _complete(run_dir: Path, config: RunConfig) -> bool:
    """Whether run_dir holds a finished run of `config` (runtime-only fields aside)."""
    if not ((run_dir / "metrics.json").is_file() and (run_dir / WEIGHTS).is_file()):
        return False
    try:
        saved = read_run(run_dir).config
    except TweetsentError:
        return False
    asked = replace(config, embed=config.embed.resolved_like(saved.embed))
    return _learned(saved) == _learned(asked)


def _learned(config: RunConfig) -> dict[str, Any]:
    raw = config.to_dict()
    raw.pop("out")
    raw.pop("ensemble")  # a member's: the recipe's weights setting, not what the member learns
    for section, names in RUNTIME.items():
        for name in names:
            raw[section].pop(name)
    return raw
