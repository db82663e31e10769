"""The study file: data, seeds, a baseline arm and the arms, read and checked in one go.

    [study]
    name = "seed-study"
    seeds = [1, 2, 3]
    baseline = "bilstm-64"

    [data]
    protocol = "dev2016"                 # or train / valid / test file lists
    folder = "../shared/data/semeval2017-task4a"

    [fixed]                              # config fields of every arm
    train.epochs = 8

    [arms.bilstm-64]                     # the fields that make the arm
    description = "the default model"
    [arms.gru-64]
    model.cell = "gru"
    model.bidirectional = false
    [arms.mine]
    config = "mine.toml"                 # a config file (relative to this file), then fields
    [arms.elmo]
    requires = ["elmo/options.json", "elmo/weights.hdf5"]   # skipped unless these exist
    embed.kind = "elmo"

A bad file raises `ConfigError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tweetsent.config import SECTIONS, RunConfig, changed_fields
from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.io import read_toml, toml_table
from tweetsent.metrics import METRIC_NAMES

TABLES = ("study", "data", "fixed", "arms")
ARM_KEYS = ("config", "description", "requires")
DATA_KEYS = ("protocol", "folder", "train", "valid", "test")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
TEST_FILE = "twitter-2016test-A.tsv"
# fields that change how and where a run trains, not what it learns (not in fingerprints)
RUNTIME_FIELDS = ("train.seed", "train.progress", "train.threads", "train.device", "data.workers",
                  "data.cache_dir", "embed.elmo_cache_dir", "out")  # fmt: skip

# Protocols of docs/results.md and docs/search.md on the SemEval-2017 4A folder:
# (train patterns, validation patterns; empty = a stratified hold-out of the training files).
PROTOCOLS: dict[str, tuple[list[str], list[str]]] = {
    # results.md: every file but the test file, 10% held out for validation
    "holdout": (["twitter-*-A.tsv"], []),
    # search.md protocol 2, the data README's: select on the 2016 dev files
    "dev2016": (
        [
            "twitter-2013*.tsv",
            "twitter-2014*.tsv",
            "twitter-2015*.tsv",
            "twitter-2016train-A.tsv",
        ],
        ["twitter-2016dev-A.tsv", "twitter-2016devtest-A.tsv"],
    ),
}


@dataclass(frozen=True)
class StudySettings:
    """The `[study]` table: what runs, where it is stored, how the report compares."""

    name: str = "study"
    seeds: tuple[int, ...] = (1, 2, 3)
    baseline: str = ""  # an arm's name ("" = the first arm)
    metric: str = "avgrec"  # chooses the best arm (on validation) and leads the comparisons
    out: str = "studies"  # <out>/<name>/runs/<arm>/seed-<seed>, the report beside them
    storage: str = ""  # Optuna database URL ("" = sqlite:///<out>/studies.db)
    workers: int = 1
    heartbeat: int = 20
    overfit_gap: float = 0.10  # flag a run whose last epoch's train - valid gap is above this
    bootstrap: int = 1000  # paired bootstrap resamples of the test tweets
    confidence: float = 0.95
    bootstrap_seed: int = 0
    progress: bool = True
    base: str = ""  # a config file every arm starts from (relative to the study file)


@dataclass
class Arm:
    """One cell of the matrix: its config fields over the study's base, and its status."""

    name: str
    fields: dict[str, Any]  # dotted config fields (a config file's changed fields included)
    description: str = ""
    missing: list[str] = field(default_factory=list)  # required files that are not there

    @property
    def skipped(self) -> bool:
        return bool(self.missing)


@dataclass
class StudySpec:
    source: str
    settings: StudySettings
    base: RunConfig  # defaults <- base file <- [fixed] <- [data]
    test: list[str]
    arms: list[Arm]
    protocol: str = ""

    @property
    def study_dir(self) -> Path:
        return Path(self.settings.out) / self.settings.name

    @property
    def active(self) -> list[Arm]:
        return [arm for arm in self.arms if not arm.skipped]

    def arm(self, name: str) -> Arm:
        return next(arm for arm in self.arms if arm.name == name)

    def run_dir(self, arm: str, seed: int) -> Path:
        return self.study_dir / run_name(arm, seed)

    def planned(self) -> list[tuple[str, int]]:
        """(arm, seed) of every run, seed by seed: a study cut short has every arm's first seeds."""
        return [(arm.name, seed) for seed in self.settings.seeds for arm in self.active]

    def config(self, arm: str, seed: int) -> RunConfig:
        return self.base.with_overrides({**self.arm(arm).fields, "train.seed": seed})

    def fingerprint(self, arm: str) -> str:
        """A hash of what defines the arm's runs (its whole config but the seed and where and
        how fast it runs): a resumed study must train an arm as it started it."""
        return fingerprint_of(self.config(arm, 0))

    def with_settings(self, overrides: dict[str, Any]) -> StudySpec:
        """A copy with [study] fields replaced (CLI flags; None values ignored)."""
        raw = {**dataclasses.asdict(self.settings)}
        raw.update({k: v for k, v in overrides.items() if v is not None})
        settings = _settings(raw, self.source)
        return dataclasses.replace(self, settings=settings)


def run_name(arm: str, seed: int) -> str:
    return f"runs/{arm}/seed-{seed}"


def load_study(path: str | Path) -> StudySpec:
    """Read and check a study file; every arm must make a valid config."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a study file")
    try:
        raw = read_toml(path, "study file")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the study file ({exc.strerror})") from None
    return study_from_dict(raw, source=str(path), root=path.parent)


def study_from_dict(raw: dict[str, Any], source: str = "study", root: Path = Path()) -> StudySpec:
    unknown = [k for k in raw if k not in TABLES]
    if unknown:
        raise ConfigError(f"{source}: unknown table [{unknown[0]}] (expected {', '.join(TABLES)})")
    settings = _settings(toml_table(raw, "study", source), source)
    base = RunConfig()
    if settings.base:
        try:
            base = RunConfig.from_toml(root / settings.base)
        except TweetsentError as exc:
            raise ConfigError(f"{source}: study.base: {exc}") from None
    fixed = _fields(toml_table(raw, "fixed", source), "fixed", source)
    data, test, protocol = _data(toml_table(raw, "data", source), source)
    try:
        base = base.with_overrides({**fixed, **data})
    except TweetsentError as exc:
        raise ConfigError(f"{source}: [fixed]/[data]: {exc}") from None
    arms_raw = toml_table(raw, "arms", source)
    if not arms_raw:
        raise ConfigError(f"{source}: [arms]: no arm (add a table like [arms.bilstm-64])")
    pinned = {**fixed, **data}
    arms = [_arm(name, spec, source, root, pinned) for name, spec in arms_raw.items()]
    return _check(StudySpec(source, settings, base, test, arms, protocol))


def _settings(raw: dict[str, Any], source: str) -> StudySettings:
    known = {f.name: f for f in dataclasses.fields(StudySettings)}
    defaults = StudySettings()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{source}: study.{key}: unknown field")
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple:
            if not isinstance(value, list | tuple) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            ):
                raise ConfigError(f"{source}: study.{key}: expected a list of integers")
            value = tuple(value)
        elif not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"{source}: study.{key}: expected {expected.__name__}, got {value!r}")
        values[key] = value
    s = StudySettings(**values)
    where = f"{source}: study"
    if not NAME.match(s.name):
        raise ConfigError(f"{where}.name: {s.name!r} must be letters, digits, '.', '_' or '-'")
    if not s.seeds or len(set(s.seeds)) != len(s.seeds) or min(s.seeds) < 0:
        raise ConfigError(f"{where}.seeds: give distinct seeds >= 0, e.g. [1, 2, 3]")
    if s.metric not in METRIC_NAMES or s.metric == "loss":
        choices = ", ".join(m for m in METRIC_NAMES if m != "loss")
        raise ConfigError(f"{where}.metric: {s.metric!r} is not one of {choices}")
    if s.workers < 1 or s.heartbeat < 1:
        raise ConfigError(f"{where}.workers / heartbeat: must be >= 1")
    if not 0.0 <= s.overfit_gap <= 1.0:
        raise ConfigError(f"{where}.overfit_gap: must be in [0, 1]")
    if s.bootstrap < 100:
        raise ConfigError(f"{where}.bootstrap: at least 100 resamples")
    if not 0.5 <= s.confidence < 1.0:
        raise ConfigError(f"{where}.confidence: must be in [0.5, 1)")
    return s


def _fields(table: dict[str, Any], where: str, source: str) -> dict[str, Any]:
    """{"model": {"cell": x}} and {"model.cell": x} both become {"model.cell": x}."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if "." in key:
            flat[key] = value
        elif isinstance(value, dict):
            for name, item in value.items():
                flat[f"{key}.{name}"] = item
        else:
            raise ConfigError(f"{source}: {where}.{key}: expected section.field")
    for name in flat:
        section, _, fname = name.partition(".")
        kind = SECTIONS.get(section)
        if kind is None or fname not in {f.name for f in dataclasses.fields(kind)}:
            raise ConfigError(f"{source}: {where}.{name}: no such config field")
    return flat


def _paths(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a file or a list of files")
    return list(value)


def _data(table: dict[str, Any], source: str) -> tuple[dict[str, Any], list[str], str]:
    """Config fields of the data, the test files and the protocol's name."""
    where = f"{source}: data"
    extra = {k: v for k, v in table.items() if k not in DATA_KEYS}
    fields = _fields({f"data.{k}": v for k, v in extra.items()}, "data", source)
    protocol = table.get("protocol", "")
    if protocol:
        if protocol not in PROTOCOLS:
            raise ConfigError(
                f"{where}.protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}"
            )
        given = [k for k in ("train", "valid", "test") if k in table]
        if given:
            raise ConfigError(f"{where}.{given[0]}: give a protocol or files, not both")
        if "folder" not in table:
            raise ConfigError(f"{where}.folder: a protocol needs the SemEval-2017 4A folder")
        folder = Path(_paths(table["folder"], f"{where}.folder")[0])
        if not folder.is_dir():
            raise ConfigError(f"{where}.folder: {folder} is not a folder")
        train, valid = PROTOCOLS[protocol]
        fields["data.train"] = [str(folder / p) for p in train]
        fields["data.valid"] = [str(folder / p) for p in valid]
        test = [str(folder / TEST_FILE)]
        if protocol == "holdout":  # every file but the test file: listed, not globbed
            names = sorted(p.name for p in folder.glob("twitter-*-A.tsv") if p.name != TEST_FILE)
            fields["data.train"] = [str(folder / n) for n in names]
    else:
        if "folder" in table:
            raise ConfigError(f"{where}.folder: only with a protocol")
        for key in ("train", "test"):
            if key not in table:
                raise ConfigError(f"{where}.{key}: required (or give a protocol)")
        fields["data.train"] = _paths(table["train"], f"{where}.train")
        fields["data.valid"] = _paths(table.get("valid", []) or [], f"{where}.valid")
        test = _paths(table["test"], f"{where}.test")
    for key, files in (("train", fields["data.train"]), ("test", test)):
        if not files:
            raise ConfigError(f"{where}.{key}: no {key} file")
    for path in test:
        if Path(path).is_dir():
            raise ConfigError(f"{where}.test: {path}: is a folder; list the test files")
        if not Path(path).is_file():
            raise ConfigError(f"{where}.test: {path}: no such file")
    for key in ("train", "valid"):
        for pattern in fields[f"data.{key}"]:
            if not (Path(pattern).exists() or glob.glob(pattern)):
                raise ConfigError(f"{where}.{key}: {pattern}: no such file")
    return fields, test, protocol


def _arm(name: str, spec: Any, source: str, root: Path, pinned: dict[str, Any]) -> Arm:
    where = f"arms.{name}"
    if not NAME.match(name):
        raise ConfigError(f"{source}: {where}: an arm's name is letters, digits, '.', '_', '-'")
    if not isinstance(spec, dict):
        raise ConfigError(f"{source}: {where}: must be a table")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{source}: {where}.description: expected a string")
    requires = _paths(spec["requires"], f"{source}: {where}.requires") if "requires" in spec else []
    missing = [p for p in requires if not Path(p).exists()]
    fields: dict[str, Any] = {}
    if "config" in spec:
        file = spec["config"]
        if not isinstance(file, str) or not file:
            raise ConfigError(f"{source}: {where}.config: expected a file name")
        try:
            read = RunConfig.from_toml(root / file)
        except TweetsentError as exc:
            raise ConfigError(f"{source}: {where}.config: {exc}") from None
        fields = {k: v for k, v in changed_fields(read).items() if k not in pinned and k != "out"}
    own = {k: v for k, v in spec.items() if k not in ARM_KEYS}
    fields.update(_fields(own, where, source))
    if "train.seed" in fields or "out" in fields:
        raise ConfigError(f"{source}: {where}.train.seed: seeds come from study.seeds")
    return Arm(name, fields, description, missing)


def fingerprint_of(config: RunConfig) -> str:
    """A hash of the fields that define what a run learns (`RUNTIME_FIELDS` left out)."""
    fields = changed_fields(config)
    for key in RUNTIME_FIELDS:
        fields.pop(key, None)
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check(spec: StudySpec) -> StudySpec:
    """Names are unique, the baseline runs, every arm makes a valid config; the spec with its
    baseline named (the first arm that runs, when the file names none)."""
    names = [arm.name for arm in spec.arms]
    s = spec.settings
    if not spec.active:
        missing = spec.arms[0].missing[0]
        raise ConfigError(f"{spec.source}: arms: every arm is skipped (missing {missing})")
    if not s.baseline:
        s = dataclasses.replace(s, baseline=spec.active[0].name)
        spec = dataclasses.replace(spec, settings=s)
    if s.baseline not in names:
        raise ConfigError(f"{spec.source}: study.baseline: no arm named {s.baseline!r}")
    if spec.arm(s.baseline).skipped:
        missing = spec.arm(s.baseline).missing[0]
        raise ConfigError(
            f"{spec.source}: study.baseline: arm {s.baseline!r} is skipped ({missing})"
        )
    for arm in spec.arms:
        if arm.skipped:
            continue
        try:
            spec.config(arm.name, s.seeds[0])
        except TweetsentError as exc:
            raise ConfigError(f"{spec.source}: arms.{arm.name}: {exc}") from None
    return spec
