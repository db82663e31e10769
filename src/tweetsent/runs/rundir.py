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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tweetsent.config import RunConfig
from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.io import atomic_path, read_json, write_json
from tweetsent.models import build_model
from tweetsent.runs.members import load_ensemble
from tweetsent.text import Vocabulary

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
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))


def load_weights(module: torch.nn.Module, path: Path) -> None:
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise TweetsentError(f"{path}: cannot read weights ({exc})") from None
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise TweetsentError(f"{path}: weights do not fit the model in config.json ({what})")


def save_run_files(
    run_dir: Path, config: RunConfig, vocab: Vocabulary, labels: list[str], meta: dict
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG, config.to_dict())
    vocab.save(run_dir / VOCAB)
    write_json(run_dir / META, {**meta, "labels": labels})


def read_run(path: str | Path) -> LoadedRun:
    """Read config, vocabulary and labels of a run directory (no weights)."""
    path = Path(path)
    if not path.is_dir():
        raise TweetsentError(f"{path}: no such run directory")
    for name in (CONFIG, VOCAB, META):
        if not (path / name).is_file():
            raise TweetsentError(f"{path}: not a tweetsent run directory (no {name})")
    try:
        config = RunConfig.from_dict(read_json(path / CONFIG), source=str(path / CONFIG))
        meta = read_json(path / META)
    except json.JSONDecodeError as exc:
        raise TweetsentError(f"{path}: unreadable run file ({exc})") from None
    except ConfigError as exc:
        raise TweetsentError(str(exc)) from None
    vocab = Vocabulary.load(path / VOCAB)
    labels = meta.get("labels")
    if not isinstance(labels, list) or not labels:
        raise TweetsentError(f"{path / META}: no label list")
    return LoadedRun(path, config, vocab, list(labels), meta)


def load_run(path: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """Read a run directory and rebuild its model with the best weights, in eval mode."""
    run = read_run(path)
    if not (run.path / WEIGHTS).is_file():
        raise TweetsentError(f"{run.path}: no {WEIGHTS} (training did not finish an epoch)")
    if run.config.is_ensemble:  # members/NAME: ordinary runs, loaded by this function
        run.model = load_ensemble(run, load_run, device)
        return run
    model = build_model(run.config, len(run.vocab), len(run.labels), **model_extras(run))
    load_weights(model, run.path / WEIGHTS)
    run.model = model.to(device).eval()
    return run


def model_extras(run: LoadedRun) -> dict[str, Any]:
    """Keyword arguments build_model needs beyond the config: the number of word-cluster ids
    (recorded in meta.json) with embed.clusters; for ELMo, the biLM files, checked against the
    checksums recorded in meta.json."""
    extras: dict[str, Any] = {}
    if run.config.embed.clusters:
        embeddings = run.meta.get("embeddings")
        clusters = embeddings.get("clusters") if isinstance(embeddings, dict) else None
        ids = clusters.get("ids") if isinstance(clusters, dict) else None
        if not isinstance(ids, int) or ids < 0:
            raise TweetsentError(f"{run.path / META}: no cluster count (embeddings.clusters.ids)")
        extras["num_clusters"] = ids
    if run.config.embed.kind != "elmo":
        return extras
    from tweetsent.embed.elmo import source_for_run  # lazy: ELMo imports h5py

    return {**extras, "elmo": source_for_run(run.config.embed, run.meta.get("elmo"))}
