"""The search space: a TOML file of parameters (choices, ranges, log scales, conditions).

    [search]                      # study settings (SearchSettings), CLI flags override them
    sampler = "grid"
    base = "../base.toml"         # optional RunConfig file, relative to this one

    [fixed]                       # fixed fields, laid out like a config file
    train.epochs = 4

    [params]
    model.cell = ["lstm", "gru"]                         # categorical choices
    model.hidden_size = { low = 32, high = 256, step = 32 }
    train.lr = { low = 1e-4, high = 1e-2, log = true }   # float range on a log scale
    model.layer_dropout = { choices = [0.0, 0.3], when = { "model.num_layers" = [2, 3] } }

A parameter with `when` is only sampled when every named field has one of the given values
(a field sampled earlier, or a fixed one). Attention settings (`model.attention_*`) are only
sampled when `model.pooling = "attention"`, ELMo settings (`embed.elmo_*`, section `elmo`)
only when `embed.kind = "elmo"`, transformer settings (`embed.transformer_*`) only when
`embed.kind = "transformer"` and the fine-tuning rates (`train.encoder_lr`, `layer_decay`)
only when `model.kind = "transformer"`, without saying so. A bad file raises `ConfigError` naming
the file and the field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.config import SECTIONS, RunConfig, changed_fields
from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.io import read_toml, toml_table
from tweetsent.search.settings import SearchSettings

SPEC_KEYS = {"choices", "low", "high", "step", "log", "when"}
MAX_GRID = 100_000


def implicit_condition(name: str) -> dict[str, tuple] | None:
    """Conditions every space gets without writing them: attention and ELMo settings."""
    section, _, fname = name.partition(".")
    if section == "model" and fname.startswith("attention_"):
        return {"model.pooling": ("attention",)}
    if section == "elmo" or (section == "embed" and fname.startswith("elmo_")):
        return {"embed.kind": ("elmo",)}
    if section == "embed" and fname.startswith("transformer_"):
        return {"embed.kind": ("transformer",)}
    if section == "train" and fname in ("encoder_lr", "layer_decay"):
        return {"model.kind": ("transformer",)}
    return None


@dataclass
class Param:
    """One searched field: `choices`, or a numeric range `low..high` (optional step, log)."""

    name: str  # dotted config field, e.g. "model.cell"
    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    integer: bool = False
    when: dict[str, tuple] = field(default_factory=dict)

    @property
    def discrete(self) -> bool:
        return self.choices is not None or self.integer or self.step is not None

    def bounds(self) -> tuple[float, float]:
        """(low, high) of a range parameter (parsing guarantees both, or choices)."""
        if self.low is None or self.high is None:
            raise ConfigError(f"params.{self.name}: a range needs low and high (or give choices)")
        return self.low, self.high

    def values(self) -> list[Any]:
        """Every value of a discrete parameter, in order (the grid's axis)."""
        if self.choices is not None:
            return list(self.choices)
        if self.step is None and not self.integer:
            raise ConfigError(f"params.{self.name}: a grid needs choices or a step")
        step = self.step or 1
        low, high = self.bounds()
        count = int(math.floor((high - low) / step + 1e-9)) + 1
        values = [low + i * step for i in range(count)]
        return [int(v) for v in values] if self.integer else [round(v, 12) for v in values]

    def active(self, chosen: dict[str, Any], base: dict[str, Any]) -> bool:
        for key, allowed in self.when.items():
            value = chosen[key] if key in chosen else base.get(key)
            if value not in allowed:
                return False
        return True

    def suggest(self, trial) -> Any:
        """Ask an Optuna trial for a value (an enqueued trial gets its fixed one)."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, self.choices)
        low, high = self.bounds()
        if self.integer:
            step = int(self.step or 1)
            return trial.suggest_int(self.name, int(low), int(high), step=step, log=self.log)
        value = trial.suggest_float(self.name, low, high, step=self.step, log=self.log)
        return round(value, 12) if self.step is not None else value  # 0.30000000000000004

    def sample(self, rng: np.random.Generator) -> Any:
        """A uniform draw (log-uniform with log = true), used for seeded random trials."""
        if self.choices is not None:
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.step is not None or (self.integer and not self.log):
            values = self.values()
            return values[int(rng.integers(len(values)))]
        low, high = self.bounds()
        if self.log:
            value = math.exp(rng.uniform(math.log(low), math.log(high)))
        else:
            value = rng.uniform(low, high)
        return min(max(int(round(value)), int(low)), int(high)) if self.integer else value


@dataclass
class SearchSpace:
    """The parameters to search, the config they modify, and the study settings."""

    params: list[Param]
    base: RunConfig
    settings: SearchSettings
    source: str = "space"
    fixed: dict[str, Any] = field(default_factory=dict)

    def base_values(self) -> dict[str, Any]:
        raw = self.base.to_dict()
        return {
            f"{s}.{k}": v
            for s, table in raw.items()
            if isinstance(table, dict)
            for k, v in table.items()
        }

    def grid(self, context: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every combination, in a fixed order: the first parameter varies slowest.

        A conditional parameter multiplies only the points where its condition holds;
        `context` holds fields set elsewhere (a stage-1 configuration) that conditions see.
        """
        base = {**self.base_values(), **(context or {})}
        points: list[dict[str, Any]] = [{}]
        for param in self.params:
            expanded: list[dict[str, Any]] = []
            for point in points:
                if param.active(point, base):
                    expanded.extend({**point, param.name: v} for v in param.values())
                else:
                    expanded.append(point)
            points = expanded
            if len(points) > MAX_GRID:
                raise ConfigError(f"{self.source}: the grid has more than {MAX_GRID:,} points")
        return points

    def random_point(
        self, seed: int, index: int, context: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Point `index` of the seeded random sequence: the same for any number of workers."""
        rng = np.random.default_rng([seed, index])
        base = {**self.base_values(), **(context or {})}
        point: dict[str, Any] = {}
        for param in self.params:
            if param.active(point, base):
                point[param.name] = param.sample(rng)
        return point

    def suggest(self, trial, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """The trial's parameters, asked of Optuna in declaration order (conditions honoured)."""
        base = {**self.base_values(), **(context or {})}
        point: dict[str, Any] = {}
        for param in self.params:
            if param.active(point, base):
                point[param.name] = param.suggest(trial)
        return point

    def config(self, point: dict[str, Any]) -> RunConfig:
        return self.base.with_overrides(point)

    def with_settings(self, overrides: dict[str, Any]) -> SearchSpace:
        """A copy with settings fields replaced (CLI flags), checked again."""
        space = dataclasses.replace(self, settings=self.settings.with_overrides(overrides))
        _check(space)
        return space

    def to_state(self) -> dict[str, Any]:
        """Plain data (JSON types) to rebuild the space in a worker process."""
        params = [
            {**dataclasses.asdict(p), "when": {k: list(v) for k, v in p.when.items()}}
            for p in self.params
        ]
        return {
            "params": params,
            "base": self.base.to_dict(),
            "source": self.source,
            "settings": self.settings.to_dict(),
            "fixed": self.fixed,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SearchSpace:
        params = [
            Param(**{**p, "when": {k: tuple(v) for k, v in p["when"].items()}})
            for p in state["params"]
        ]
        base = RunConfig.from_saved(state["base"], source=state["source"])
        settings = SearchSettings.from_dict(state["settings"], source=state["source"])
        return cls(params, base, settings, state["source"], state["fixed"])

    def fingerprint(self) -> str:
        """A hash of what defines the trials; a resumed or joined study must match it."""
        s = self.settings
        spec = {
            "params": [dataclasses.asdict(p) for p in self.params],
            "base": _changed(self.base),  # not every field: new fields must not break a study
            "sampler": s.sampler,
            "seed": s.seed,
            "trials": s.trials if s.sampler != "grid" else None,
            "startup": s.startup if s.sampler == "tpe" else None,
            "metric": s.metric,
            "from": [s.from_study, s.top_k],
        }
        text = json.dumps(spec, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _changed(config: RunConfig) -> dict[str, Any]:
    """The fields of `config` that differ from the defaults, top-level ones (out) included."""
    ours, default = config.to_dict(), RunConfig().to_dict()
    changed = {k: v for k, v in ours.items() if not isinstance(v, dict) and v != default[k]}
    return {**changed, **changed_fields(config)}


def load_space(path: str | Path, base: RunConfig | None = None) -> SearchSpace:
    """Read and check a space file; every grid point (or range end) must make a valid config."""
    path = Path(path)
    raw = read_toml(path, "search-space file")
    return space_from_dict(raw, source=str(path), base=base, root=path.parent)


def space_from_dict(
    raw: dict[str, Any], source: str = "space", base: RunConfig | None = None, root: Path = Path()
) -> SearchSpace:
    unknown = set(raw) - {"search", "fixed", "params"}
    if unknown:
        raise ConfigError(f"{source}: unknown table [{sorted(unknown)[0]}]")
    search = dict(toml_table(raw, "search", source))
    base_file = search.pop("base", "")
    settings = SearchSettings.from_dict(search, source)
    if base is None:
        base = RunConfig.from_toml(root / base_file) if base_file else RunConfig()
    fixed = _flatten(toml_table(raw, "fixed", source), "fixed", source)
    try:
        base = base.with_overrides(fixed)
    except ConfigError as exc:
        raise ConfigError(f"{source}: [fixed] {exc}") from None
    params_raw = _flatten(toml_table(raw, "params", source), "params", source, leaf=_is_spec)
    params = [_param(name, spec, source) for name, spec in params_raw.items()]
    space = SearchSpace(params, base, settings, source, fixed)
    _check(space)
    return space


def _is_spec(value: Any) -> bool:
    return not isinstance(value, dict) or bool(set(value) & SPEC_KEYS)


def _flatten(table: dict[str, Any], where: str, source: str, leaf=None) -> dict[str, Any]:
    """{"model": {"cell": x}} and {"model.cell": x} both become {"model.cell": x}."""
    leaf = leaf or (lambda v: not isinstance(v, dict))
    flat: dict[str, Any] = {}
    for section, value in table.items():
        if "." in section:
            flat[section] = value
            continue
        if not isinstance(value, dict) or leaf(value):
            raise ConfigError(f"{source}: {where}.{section}: expected section.field")
        for name, item in value.items():
            if not leaf(item):
                raise ConfigError(f"{source}: {where}.{section}.{name}: expected section.field")
            flat[f"{section}.{name}"] = item
    for name in flat:
        _field_type(name, source, where)
    return flat


def _field_type(name: str, source: str, where: str) -> type:
    section, _, fname = name.partition(".")
    kind = SECTIONS.get(section)
    fields = {f.name: f for f in dataclasses.fields(kind)} if kind else {}
    if fname not in fields:
        raise ConfigError(f"{source}: {where}.{name}: no such config field")
    return type(fields[fname].default) if fields[fname].default is not dataclasses.MISSING else list


def _param(name: str, spec: Any, source: str) -> Param:
    where = f"{source}: params.{name}"
    if isinstance(spec, list):
        spec = {"choices": spec}
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{where}: expected a list of choices or a table (use [fixed] for one value)"
        )
    extra = set(spec) - SPEC_KEYS
    if extra:
        raise ConfigError(f"{where}: unknown key {sorted(extra)[0]!r}")
    when = _when(spec.get("when"), name, where)
    kind = _field_type(name, source, "params")
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) - {"choices", "when"}:
            raise ConfigError(f"{where}: give choices or low/high, not both")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choices must be a non-empty list")
        if len({json.dumps(c) for c in choices}) != len(choices):
            raise ConfigError(f"{where}: choices repeat a value")
        return Param(name, choices=list(choices), when=when)
    return _range(name, spec, kind, when, where)


def _range(name: str, spec: dict, kind: type, when: dict, where: str) -> Param:
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{where}: a range needs low and high (or give choices)")
    if kind not in (int, float):
        raise ConfigError(f"{where}: a range needs a numeric field, this one is {kind.__name__}")
    low, high, step, log = spec["low"], spec["high"], spec.get("step"), spec.get("log", False)
    for label, value in (("low", low), ("high", high), ("step", step)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(f"{where}: {label} must be a number, got {value!r}")
        if kind is int and value is not None and not isinstance(value, int):
            raise ConfigError(f"{where}: {label} must be an integer (the field is int)")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false")
    if not low < high:
        raise ConfigError(f"{where}: low must be below high")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0")
    if step is not None and (step <= 0 or log):
        raise ConfigError(f"{where}: step must be > 0 and cannot go with log")
    if kind is float:
        low, high = float(low), float(high)
    return Param(name, low=low, high=high, step=step, log=log, integer=kind is int, when=when)


def _when(raw: Any, name: str, where: str) -> dict[str, tuple]:
    if raw is None:
        return implicit_condition(name) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f'{where}: when must be a table like {{ "model.pooling" = "max" }}')
    flat: dict[str, tuple] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            for sub, item in value.items():
                flat[f"{key}.{sub}"] = tuple(item) if isinstance(item, list) else (item,)
        else:
            flat[key] = tuple(value) if isinstance(value, list) else (value,)
    return flat


def _check(space: SearchSpace) -> None:
    """Conditions name known fields sampled earlier; every point makes a valid config."""
    source, seen = space.source, set()
    for param in space.params:
        for key in param.when:
            _field_type(key, source, f"params.{param.name}.when")
            if key in {p.name for p in space.params} and key not in seen:
                raise ConfigError(
                    f"{source}: params.{param.name}: its condition on {key} must come after {key}"
                )
        seen.add(param.name)
    s = space.settings
    if s.sampler == "grid":
        for param in space.params:
            if not param.discrete:
                raise ConfigError(f"{source}: params.{param.name}: a grid needs choices or a step")
        points = space.grid()
    else:
        points = [space.random_point(s.seed, i) for i in range(8)]
        points += [{p.name: p.low for p in space.params if p.choices is None}]
        points += [{p.name: p.high for p in space.params if p.choices is None}]
        first = points[0]
        for param in space.params:
            for value in param.choices or []:
                _try(space, {**first, param.name: value}, f"params.{param.name}")
    for point in points:
        _try(space, point, "params")


def _try(space: SearchSpace, point: dict[str, Any], where: str) -> None:
    try:
        space.config(point)
    except TweetsentError as exc:
        raise ConfigError(f"{space.source}: {where}: {exc}") from None
