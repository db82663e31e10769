"""Settings of one study: the `[search]` table of a space file, overridden by CLI flags."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tweetsent.errors import ConfigError
from tweetsent.metrics import METRIC_NAMES

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("none", "median")


@dataclass(frozen=True)
class SearchSettings:
    """How a study samples, prunes, stores and reports. Defaults suit a laptop."""

    name: str = "search"  # the study's name in its storage
    sampler: str = "grid"  # grid | random | tpe
    trials: int = 20  # random / tpe: trials to run (grid: every combination)
    startup: int = 8  # tpe: seeded random trials before TPE takes over
    metric: str = "avgrec"  # validation metric to optimise (loss is minimised)
    seed: int = 1  # study seed: trial k trains with a seed derived from (seed, k)
    pruner: str = "median"  # none | median (per-epoch validation scores)
    prune_warmup: int = 1  # epochs a trial always runs before it can be pruned
    prune_startup: int = 4  # finished trials before pruning starts
    overfit_gap: float = 0.10  # train-valid accuracy gap that triggers follow-ups (0 = off)
    overfit_dropout: float = 0.2  # follow-up 1: model.output_dropout raised by this (max 0.8)
    overfit_clip: float = 1.0  # follow-up 2: train.clip_norm lowered to this (or halved)
    storage: str = ""  # any Optuna database URL ("" = sqlite:///<out>/studies.db)
    out: str = ""  # studies folder ("" = searches): <out>/<name>/ holds runs and reports
    workers: int = 1  # local worker processes (0 = only create the study)
    heartbeat: int = 20  # seconds between a running trial's heartbeats
    from_study: str = ""  # two-stage search: the coarse study to start from
    from_storage: str = ""  # its storage ("" = this study's)
    top_k: int = 0  # how many of its best configurations to search around
    mlflow: str = ""  # MLflow tracking URI ("" = off, "default" = <out>/mlflow.db)
    progress: bool = True  # a line per worker and an overall bar

    def __post_init__(self) -> None:
        _choice("sampler", self.sampler, SAMPLERS)
        _choice("pruner", self.pruner, PRUNERS)
        _choice("metric", self.metric, METRIC_NAMES)
        if not self.name or any(c in self.name for c in "/\\"):
            raise ConfigError(f"search.name: {self.name!r} must be a non-empty name without /")
        for name in ("trials", "startup", "prune_warmup", "prune_startup", "workers", "top_k"):
            if getattr(self, name) < 0:
                raise ConfigError(f"search.{name}: must be >= 0")
        if self.heartbeat < 1:
            raise ConfigError("search.heartbeat: must be >= 1 second")
        if not 0.0 <= self.overfit_gap <= 1.0:
            raise ConfigError("search.overfit_gap: must be in [0, 1]")
        if self.overfit_clip <= 0 or self.overfit_dropout <= 0:
            raise ConfigError("search.overfit_clip / overfit_dropout: must be > 0")
        if self.top_k and not self.from_study:
            raise ConfigError("search.top_k: needs search.from_study (--from-study)")
        if self.from_study and not self.top_k:
            object.__setattr__(self, "top_k", 3)  # frozen: the default of a two-stage search

    @property
    def direction(self) -> Literal["minimize", "maximize"]:
        return "minimize" if self.metric == "loss" else "maximize"

    @property
    def out_dir(self) -> Path:
        """Where studies live: the default SQLite storage, one folder per study."""
        return Path(self.out or "searches")

    @property
    def study_dir(self) -> Path:
        """This study's trial run directories (trials/NNNN), logs and reports."""
        return self.out_dir / self.name

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.out_dir / 'studies.db').resolve()}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "search") -> SearchSettings:
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                raise ConfigError(f"{source}: unknown field search.{key}")
            kind = type(known[key].default)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise ConfigError(
                    f"{source}: search.{key}: expected {kind.__name__}, got {value!r}"
                )
            values[key] = value
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    def with_overrides(self, overrides: dict[str, Any]) -> SearchSettings:
        """A copy with the given fields replaced (None values are ignored)."""
        raw = {**self.to_dict(), **{k: v for k, v in overrides.items() if v is not None}}
        return SearchSettings.from_dict(raw, source="flags")


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"search.{name}: {value!r} is not one of {', '.join(choices)}")
