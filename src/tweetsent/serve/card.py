"""The model card served at `GET /v1/model`: labels, data, settings and scores of a run.

Built from the run directory's meta.json and config.json. File system paths are cut to their
file names (a client has no business knowing the server's layout), example rows skipped in
training are left out, and non-finite numbers become null (JSON has no NaN).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tweetsent.runs.card import short, summary
from tweetsent.runs.rundir import LoadedRun
from tweetsent.serve.settings import ServeSettings

PATH_FIELDS = {
    ("data", "train"),
    ("data", "valid"),
    ("data", "cache_dir"),
    ("embed", "path"),
    ("embed", "clusters"),
    ("embed", "elmo_options"),
    ("embed", "elmo_weights"),
    ("embed", "elmo_cache_dir"),
    ("embed", "transformer"),
}


def model_card(run: LoadedRun, settings: ServeSettings, attention: bool) -> dict[str, Any]:
    """`attention`: whether predictions can carry token weights (`Predictor.has_attention`)."""
    config = run.config.to_dict()
    config.pop("out", None)
    for section, name in PATH_FIELDS:
        value = config[section][name]
        config[section][name] = (
            [_name(v) for v in value] if isinstance(value, list) else _name(value)
        )
    config["embed"]["lexicon"] = [short(spec) for spec in config["embed"]["lexicon"]]
    meta = run.meta
    card = _finite(
        {
            "name": run.path.name,
            "labels": list(run.labels),
            "attention": attention,
            "summary": summary(run.config),
            "data": {
                "train_files": config["data"]["train"],
                "valid_files": config["data"]["valid"],
                "labels": config["data"]["labels"],
                "report": _without(meta.get("data", {}), "skipped_examples"),
            },
            "settings": {k: config[k] for k in ("text", "embed", "model", "train")},
            "encoder": _encoder(meta.get("transformer")),
            "scores": meta.get("scores"),
            "parameters": meta.get("parameters"),
            "versions": {"tweetsent": meta.get("tweetsent"), "torch": meta.get("torch")},
            "limits": {
                "max_texts": settings.max_texts,
                "max_chars": settings.max_chars,
                "max_body_bytes": settings.max_body_bytes,
                "max_header_bytes": settings.max_header_bytes,
                "max_pending": settings.max_pending,
                "max_connections": settings.max_connections,
                "request_timeout_s": settings.request_timeout_s,
                "keep_alive_s": settings.keep_alive_s,
            },
            "batching": {
                "max_batch": settings.max_batch,
                "max_wait_ms": settings.max_wait_ms,
                "precision": settings.precision,
            },
        }
    )
    return _no_paths(card)


def _encoder(recorded: Any) -> dict[str, Any] | None:
    """A transformer run's encoder: its folder's name, sizes and files' SHA-256."""
    if not isinstance(recorded, dict):
        return None
    keys = ("layers", "dim", "max_pieces", "mixed_layers", "files")
    name = recorded.get("name") or _name(recorded.get("folder", ""))
    return {"name": name, **{k: recorded.get(k) for k in keys}}


def _name(value: Any) -> Any:
    return Path(value).name if isinstance(value, str) and value else value


def _no_paths(value: Any) -> Any:
    """Every absolute path left anywhere in the card (keys too; `FORMAT:/path` specs) cut to
    its file name: the net under PATH_FIELDS, for what meta.json records (ELMo files, ...)."""
    if isinstance(value, dict):
        return {_no_paths(k): _no_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_paths(v) for v in value]
    if isinstance(value, str):
        kind, colon, rest = value.partition(":")
        if _absolute(value):
            return Path(value).name
        if colon and _absolute(rest):
            return f"{kind}:{Path(rest).name}"
    return value


def _absolute(text: str) -> bool:
    return text.startswith(("/", "~", "\\")) or (len(text) > 2 and text[1:3] in (":\\", ":/"))


def _without(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, key) for k, v in value.items() if k != key}
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
