"""The run directory: everything needed to reuse a model, in plain formats.

    config.json          resolved RunConfig
    vocab.json           the vocabulary (id order)
    meta.json            labels, metrics summary, device, versions, checksums of inputs
                         (for ELMo: the biLM files' paths and SHA-256, checked on load)
    model.safetensors    best weights
    checkpoint/          last epoch's weights, optimizer state and loop state (for --resume)
    history.csv          per-epoch metrics, train and validation
    metrics.json         final validation metrics and confusion matrix
    learning_curves.png  the study's figure
    MODEL_CARD.md        data, settings, scores

Loading never unpickles anything: weights are safetensors, everything else JSON/CSV.
`read_run` imports no torch (it reads config.json, vocab.json and meta.json once, for every
backend: `runs.backends.open_scorer`); the functions that touch weights import it when
called, `load_model` on a run already read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError, safe_open

from tweetsent.config import RunConfig
from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.io import atomic_path, read_json, write_json
from tweetsent.text import Vocabulary

if TYPE_CHECKING:
    import torch

CONFIG, VOCAB, META, WEIGHTS = "config.json", "vocab.json", "meta.json", "model.safetensors"
CHECKPOINT = "checkpoint"


@dataclass
class LoadedRun:
    path: Path
    config: RunConfig
    vocab: Vocabulary
    labels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    model: torch.nn.Module | None = None


def save_weights(module: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))


def load_weights(module: torch.nn.Module, path: Path) -> None:
    """Load safetensors weights into `module`; a file that does not fit it (names, shapes) or
    holds NaN/inf is a one-line `TweetsentError` naming the file."""
    import torch
    from safetensors.torch import load_file

    check_shapes(module, weight_shapes(path), path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise TweetsentError(f"{path}: cannot read weights ({exc})") from None
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise TweetsentError(f"{path}: weights hold NaN or infinite values ({name})")
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()
        raise TweetsentError(f"{path}: weights do not fit the model ({first})") from None


def weight_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors file's header (no tensor is read, no torch
    imported)."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            names = list(handle.keys())
            return {name: tuple(handle.get_slice(name).get_shape()) for name in names}
    except (SafetensorError, OSError, ValueError) as exc:
        raise TweetsentError(f"{path}: cannot read weights ({exc})") from None


def check_shapes(module: torch.nn.Module, shapes: dict[str, tuple[int, ...]], path: Path) -> None:
    """One-line `TweetsentError` unless `shapes` (a weights file) has exactly the module's
    tensors with the same shapes (the module may live on the meta device: nothing allocated)."""
    compare_shapes({name: tuple(t.shape) for name, t in module.state_dict().items()}, shapes, path)


def compare_shapes(
    expected: dict[str, tuple[int, ...]], shapes: dict[str, tuple[int, ...]], path: Path
) -> None:
    """One-line `TweetsentError` unless `shapes` (a weights file at `path`) has exactly the
    tensors of `expected` (what config.json, vocab.json and meta.json imply) with their shapes."""
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    if missing or unexpected:
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise TweetsentError(f"{path}: weights do not fit the model in config.json ({what})")
    for name, shape in expected.items():
        if tuple(shapes[name]) != shape:
            raise TweetsentError(
                f"{path}: weights do not fit config.json / vocab.json / meta.json "
                f"({name}: {list(shapes[name])} in the file, {list(shape)} expected)"
            )


def save_run_files(
    run_dir: Path, config: RunConfig, vocab: Vocabulary, labels: list[str], meta: dict
) -> None:
    """The files that make a folder a run directory, the one writer of them (training, at its
    start; `runs.ensemble`, after the weights, metrics and card): vocab.json, meta.json (with
    the labels), and config.json last, so that a half-written run is never read as one."""
    run_dir.mkdir(parents=True, exist_ok=True)
    vocab.save(run_dir / VOCAB)
    write_json(run_dir / META, {**meta, "labels": labels})
    write_json(run_dir / CONFIG, config.to_dict())


def check_out_dir(path: str | Path, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse to train into an existing run directory unless told how: `resume` (continue an
    unfinished run) or `overwrite` (train a new run over it, `replacing_run`); refuse a
    non-empty folder that is not a run, and a run with a link out of itself (training would
    write, and delete old checkpoints, through it)."""
    path = Path(path)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite: give one of them")
    if path.is_dir():
        _check_no_link_out(path)
        if not resume and not (path / CONFIG).is_file() and any(path.iterdir()):
            raise ConfigError(
                f"{path}: not empty and not a run directory; give a new or empty --out"
            )
    if resume or overwrite or not (path / CONFIG).is_file():
        return
    if (path / "metrics.json").is_file() and (path / WEIGHTS).is_file():
        raise ConfigError(
            f"{path}: a finished run is already there; choose another --out, "
            "or give --overwrite to replace it"
        )
    raise ConfigError(
        f"{path}: an unfinished run is there; give --resume to continue it, "
        "or --overwrite to start again"
    )


def _check_no_link_out(run_dir: Path) -> None:
    root = run_dir.resolve()
    for entry in [*run_dir.iterdir(), *_entries(run_dir / CHECKPOINT)]:
        if entry.is_symlink() and not entry.resolve().is_relative_to(root):
            raise ConfigError(
                f"{entry}: a link out of the run directory (to {entry.resolve()}); remove it"
            )


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() and not folder.is_symlink() else []


@contextlib.contextmanager
def replacing_run(path: str | Path) -> Iterator[None]:
    """`train --overwrite`: the old run is moved aside (`.NAME.old-PID` beside it) while the
    new one trains into an empty folder, then deleted, so nothing of it (members/, extra
    files, checkpoints) survives in the new run; if training fails or is interrupted, the
    partial new run is removed and the old one put back."""
    path = Path(path)
    if not (path / CONFIG).is_file():
        yield
        return
    aside = path.with_name(f".{path.name}.old-{os.getpid()}")
    os.replace(path, aside)
    try:
        yield
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        os.replace(aside, path)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def read_run(path: str | Path) -> LoadedRun:
    """Read config, vocabulary and labels of a run directory (no weights).

    Every file is checked (JSON object, UTF-8, labels a list of distinct strings): a damaged
    one is a one-line `TweetsentError` naming it."""
    path = Path(path)
    if not path.is_dir():
        raise TweetsentError(f"{path}: no such run directory")
    for name in (CONFIG, VOCAB, META):
        if not (path / name).is_file():
            raise TweetsentError(f"{path}: not a tweetsent run directory (no {name})")
    try:
        config = RunConfig.from_saved(_json_object(path / CONFIG), source=str(path / CONFIG))
    except ConfigError as exc:
        raise TweetsentError(str(exc)) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise TweetsentError(f"{path / CONFIG}: not a tweetsent config ({exc})") from None
    meta = _json_object(path / META)
    vocab = Vocabulary.load(path / VOCAB)
    labels = meta.get("labels")
    if not isinstance(labels, list) or not labels:
        raise TweetsentError(f"{path / META}: no label list")
    if not all(isinstance(label, str) and label for label in labels):
        raise TweetsentError(f"{path / META}: labels must be non-empty strings, got {labels!r}")
    if len(set(labels)) != len(labels):
        raise TweetsentError(f"{path / META}: labels repeat ({labels!r})")
    return LoadedRun(path, config, vocab, list(labels), meta)


def _json_object(path: Path) -> dict[str, Any]:
    try:
        raw = read_json(path)
    except json.JSONDecodeError as exc:
        raise TweetsentError(f"{path}: not valid JSON ({exc})") from None
    except UnicodeDecodeError:
        raise TweetsentError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise TweetsentError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(raw, dict):
        raise TweetsentError(f"{path}: expected a JSON object, found {type(raw).__name__}")
    return raw


def load_run(path: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """Read a run directory and rebuild its model with the best weights, in eval mode."""
    return load_model(read_run(path), device)


def load_model(run: LoadedRun, device: str | torch.device = "cpu") -> LoadedRun:
    """Rebuild the model of a run read by `read_run` (its files are not read again) with the
    best weights, in eval mode, as `run.model`."""
    from tweetsent.runs.members import load_ensemble

    if not (run.path / WEIGHTS).is_file():
        raise TweetsentError(f"{run.path}: no {WEIGHTS} (training did not finish an epoch)")
    if run.config.is_ensemble:  # members/NAME: ordinary runs, loaded by this function
        run.model = load_ensemble(run, load_run, device)
        return run
    extras = model_extras(run)
    _check_before_building(run, extras)  # an absurd size in config.json allocates nothing
    model = _build(run, extras)
    load_weights(model, run.path / WEIGHTS)
    run.model = model.to(device).eval()
    return run


def _build(run: LoadedRun, extras: dict[str, Any]) -> torch.nn.Module:
    from tweetsent.models import build_model

    try:
        return build_model(run.config, len(run.vocab), len(run.labels), **extras)
    except (RuntimeError, ValueError, TypeError) as exc:  # RuntimeError: out of memory
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TweetsentError(f"{run.path / CONFIG}: cannot build its model ({first})") from None


def _check_before_building(run: LoadedRun, extras: dict[str, Any]) -> None:
    """Compare the weights file's tensor shapes with the model's, built on the meta device,
    when config.json's sizes could allocate much memory. Ordinary sizes skip this dry build:
    initialising on the meta device imports torch._dynamo (about 1 s of every `predict`), and
    `load_weights` checks their shapes after the real build anyway."""
    if not _large(run.config, len(run.vocab)):
        return
    shapes = weight_shapes(run.path / WEIGHTS)
    if run.config.embed.kind == "elmo":  # the biLM copies its HDF5 weights: no meta build;
        return  # load_weights checks the shapes after the real build
    import torch

    from tweetsent.models import build_model

    try:
        with torch.device("meta"):
            skeleton = build_model(run.config, len(run.vocab), len(run.labels), **extras)
    except Exception as exc:
        if "overflow" not in str(exc).lower():
            return  # a model that cannot be built on meta (numpy tables): the real build, below
        first = str(exc).strip().splitlines()[0]
        raise TweetsentError(f"{run.path / CONFIG}: cannot build its model ({first})") from None
    check_shapes(skeleton, shapes, run.path / WEIGHTS)


def _large(config: RunConfig, vocab_size: int) -> bool:
    """Whether the config's sizes allow a weight matrix of more than 50M numbers (200 MB)."""
    m, e = config.model, config.embed
    widest = max(m.hidden_size, e.dim, m.mlp_hidden, m.attention_da, m.attention_mlp, m.ngram_dim)
    widest = max(widest, m.attention_hops, e.cluster_dim)
    big = 50_000_000
    rows = max(vocab_size * 2, m.ngram_buckets)  # embedding tables (n-gram unigrams: 2V rows)
    return widest * widest * 4 > big or rows * widest > big * 4


def model_extras(run: LoadedRun) -> dict[str, Any]:
    """Keyword arguments build_model needs beyond the config: the number of word-cluster ids
    (recorded in meta.json) with embed.clusters; for ELMo, the biLM files, checked against the
    checksums recorded in meta.json; for a transformer, the run's copy of its encoder
    (`encoder/`), checked alike."""
    extras: dict[str, Any] = {}
    if run.config.embed.clusters:
        embeddings = run.meta.get("embeddings")
        clusters = embeddings.get("clusters") if isinstance(embeddings, dict) else None
        ids = clusters.get("ids") if isinstance(clusters, dict) else None
        if not isinstance(ids, int) or ids < 0:
            raise TweetsentError(f"{run.path / META}: no cluster count (embeddings.clusters.ids)")
        extras["num_clusters"] = ids
    if run.config.embed.kind == "transformer":  # the run's own copy, checked
        from tweetsent.embed.transformer import transformer_source_for_run

        recorded = run.meta.get("transformer")
        return {**extras, "transformer": transformer_source_for_run(run.path, recorded)}
    if run.config.embed.kind != "elmo":
        return extras
    from tweetsent.embed.elmo import source_for_run  # lazy: ELMo imports h5py

    return {**extras, "elmo": source_for_run(run.config.embed, run.meta.get("elmo"))}
