"""Build an ensemble run from trained runs: `tweetsent ensemble RUN1 RUN2 ... --out RUN`.

    result = build_ensemble([Path("runs/bilstm"), Path("runs/ngram")], Path("runs/both"), "fit")
    Predictor.from_run("runs/both").predict(["I love this :)"])

The ensemble run is an ordinary run directory (see `runs.members` for its layout): predict,
evaluate, serve, explain and export take it unchanged. Its model mixes the members'
probabilities, p = sum_m w_m p_m (`models.EnsembleClassifier`), with weights

- `uniform`: w_m = 1 / M;
- `fit`: the point of a simplex grid (step 0.05 for up to 4 members, coarser above) that
  minimises the class-weighted negative log-likelihood of the mixture on the members' own
  validation split, rebuilt exactly as training made it (the members must share it):

      L(w) = 1/|C| sum_c 1/n_c sum_{i: y_i = c} -log sum_m w_m p_m(y_i | x_i)

  (each class counts as much as any other, as in AvgRec).

meta.json records the weights, how they were chosen (the grid) and the validation scores of each
member and of the ensemble.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tweetsent.config import EnsembleConfig, RunConfig
from tweetsent.data.labels import LabelSet
from tweetsent.data.prepare import load_labelled
from tweetsent.data.split import stratified_split
from tweetsent.errors import TweetsentError
from tweetsent.io import atomic_write, read_json, write_json
from tweetsent.metrics import compute_metrics, confusion_matrix
from tweetsent.models.ensemble import EnsembleClassifier
from tweetsent.runs.card import split_name, summary
from tweetsent.runs.members import (
    MEMBERS,
    check_compatible,
    remap_ids,
    save_ensemble_weights,
    union_vocabulary,
)
from tweetsent.runs.predict import Predictor
from tweetsent.runs.rundir import CHECKPOINT, WEIGHTS, LoadedRun, read_run, save_run_files
from tweetsent.version import __version__

WEIGHTINGS = ("uniform", "fit")
# DataConfig fields that decide the validation split: members fitted together share them.
SPLIT_FIELDS = ("valid", "labels", "format", "text_col", "label_col", "strict")
HOLD_OUT_FIELDS = ("train", "valid_fraction", "split_seed")  # without data.valid
# meta.json's ensemble.refit.validation_scores when members trained on the validation split and
# no held-out run of them gave the scores (a recipe with ensemble.heldout = false)
IN_SAMPLE = "in-sample: members trained on these tweets"


@dataclass
class EnsembleResult:
    run_dir: Path
    members: list[str]
    weights: list[float]
    metrics: dict[str, float]  # the ensemble's validation metrics ({} without a split)
    member_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    config: RunConfig | None = None
    split: str = "validation"  # what `metrics` were measured on (in-sample: members trained on it)


def build_ensemble(
    run_dirs: Sequence[str | Path],
    out: str | Path,
    weights: str = "uniform",
    log: Callable[[str], None] = print,
    refit_of: str | Path | None = None,
) -> EnsembleResult:
    """Write the ensemble run of `run_dirs` into `out` (a new folder, or the folder that holds
    every member under `members/`, as a recipe trains them); return its names, weights and
    validation metrics. `refit_of`: an ensemble run of the same members trained without the
    validation split (a recipe's `ensemble.refit`): its weights and held-out validation scores
    are taken over, the members being retrained on that split too."""
    if weights not in WEIGHTINGS:
        raise TweetsentError(f"ensemble: weights {weights!r} is not one of uniform, fit")
    out = Path(out)
    runs = _read_members(run_dirs)
    _check_out(out, runs)
    names = _member_names(runs)
    vocab = union_vocabulary([run.vocab for run in runs])
    start = time.perf_counter()
    refit = [n for n, r in zip(names, runs, strict=True) if r.config.data.train_on_valid]
    in_sample = bool(refit) and refit_of is None  # no held-out run gives the scores
    if in_sample and weights == "fit":
        raise TweetsentError(
            f"ensemble: member {refit[0]} was trained on the validation tweets "
            "(data.train_on_valid): weights fitted on them would favour it; use --weights uniform"
        )
    if refit_of is not None:
        w, chosen, scores, examples = _held_out(Path(refit_of), names, out)
    else:
        valid = _validation(runs, required=weights == "fit", log=log)
        probs = [_member_probs(run, valid[0]) for run in runs] if valid else []
        chosen = {"method": weights}
        if weights == "fit":
            assert valid is not None  # required: _validation raised otherwise
            w, fit = fit_weights(probs, valid[1], len(runs[0].labels))
            chosen.update(fit)
        else:
            w = [1.0 / len(runs)] * len(runs)
        scores = _scores(names, probs, w, valid, runs[0].labels) if valid else {}
        examples = len(valid[0]) if valid else 0
    model = EnsembleClassifier(
        [torch.nn.Identity() for _ in runs],  # only the own buffers are saved
        len(vocab),
        [remap_ids(vocab, run.vocab) for run in runs],
        w,
    )
    if refit_of is not None:
        chosen["refit"]["members"] = refit
    elif in_sample:
        chosen["refit"] = {"held_out": None, "members": refit, "validation_scores": IN_SAMPLE}
    config = _ensemble_config(runs, names, weights, out, refit, held_out=not in_sample)
    split = split_name(in_sample)
    meta = _meta(runs, names, model, chosen, scores, examples, split)
    _write(out, runs, names, config, vocab, meta, model, scores)
    ensemble = scores.get("ensemble", {})
    summary = f" valid AvgRec {ensemble['avgrec']:.4f}" if ensemble else ""
    weight_text = ", ".join(
        f"{n} {x:.2f}" for n, x in zip(names, model.weights.tolist(), strict=True)
    )
    seconds = time.perf_counter() - start
    how = f"{weights} weights" if refit_of is None else f"the weights of {refit_of}"
    if refit_of is not None and summary:
        summary = f" held-out{summary}"
    elif in_sample and summary:
        summary = f" in-sample{summary}"
    log(f"ensemble {out}: {how} ({weight_text}){summary} ({seconds:.1f}s)")
    return EnsembleResult(
        out,
        names,
        model.weights.tolist(),
        ensemble,
        scores.get("members", {}),
        config,
        split,
    )


# -- members ----------------------------------------------------------------------------------


def _read_members(run_dirs: Sequence[str | Path]) -> list[LoadedRun]:
    if len(run_dirs) < 2:
        raise TweetsentError(f"ensemble: needs at least 2 member runs, got {len(run_dirs)}")
    runs = [read_run(path) for path in run_dirs]
    seen: dict[Path, Path] = {}
    for run in runs:
        key = run.path.resolve()
        if key in seen:
            raise TweetsentError(f"ensemble: {seen[key]} and {run.path} are the same run")
        seen[key] = run.path
        if run.config.is_ensemble:
            raise TweetsentError(f"{run.path}: is an ensemble run; give its members instead")
        if not (run.path / WEIGHTS).is_file():
            raise TweetsentError(f"{run.path}: no {WEIGHTS} (training did not finish an epoch)")
        check_compatible(runs[0], run)
    return runs


def _check_out(out: Path, runs: Sequence[LoadedRun]) -> None:
    """The ensemble is never written into one of its members (copying the member into
    itself would never end)."""
    where = out.resolve()
    for run in runs:
        member = run.path.resolve()
        if where == member or member in where.parents:
            raise TweetsentError(
                f"ensemble: --out {out} is inside the member run {run.path}; give a new folder"
            )


def _member_names(runs: Sequence[LoadedRun]) -> list[str]:
    """Each member's folder name under members/: its own name, made unique (-2, -3, ...)."""
    names: list[str] = []
    for run in runs:
        name, k = run.path.resolve().name, 2
        while name in names:
            name, k = f"{run.path.resolve().name}-{k}", k + 1
        names.append(name)
    return names


def _in_place(run: LoadedRun, name: str, out: Path) -> bool:
    """Whether the member already lives in out/members/NAME (a recipe trained it there)."""
    target = out / MEMBERS / name
    return target.exists() and target.resolve() == run.path.resolve()


# -- validation -------------------------------------------------------------------------------


def validation_examples(config: RunConfig) -> tuple[list[str], list[int]] | None:
    """The texts and label ids of a run's validation split, rebuilt as `data.prepare` made it
    for training (data.valid, else the stratified hold-out of data.train); None if it has none."""
    data = config.data
    names = LabelSet(data.labels).names
    if data.valid:
        examples, _ = load_labelled(data.valid, config, "validation")
        texts, labels = examples.texts, examples.labels
    elif data.train and data.valid_fraction > 0:
        examples, _ = load_labelled(data.train, config, "training")
        _, held = stratified_split(examples.labels, data.valid_fraction, data.split_seed)
        texts = [examples.texts[i] for i in held]
        labels = [examples.labels[i] for i in held]
    else:
        return None
    if not texts:
        return None
    index = {name: i for i, name in enumerate(names)}
    ids = []
    for label in labels:
        if label is None:  # load_labelled keeps labelled rows only
            raise TweetsentError("a validation row has no label")
        ids.append(index[label])
    return list(texts), ids


def _value(data: Any, field: str) -> Any:
    """A data field as the ensemble compares it: file lists as the files they name from here
    (`../shared/x.tsv` and its absolute path are the same validation file)."""
    value = getattr(data, field)
    if field in ("train", "valid"):
        return [os.path.realpath(os.path.expanduser(str(p))) for p in value]
    return value


def _validation(runs: Sequence[LoadedRun], required: bool, log) -> tuple | None:
    """The members' shared validation split; for `fit` a missing one is an error, for
    `uniform` it only means no validation scores (logged)."""
    hint = "; use --weights uniform" if required else ""
    first = runs[0].config.data
    fields = SPLIT_FIELDS + (() if first.valid else HOLD_OUT_FIELDS)
    for run in runs[1:]:
        ours = run.config.data
        differs = [f for f in fields if _value(ours, f) != _value(first, f)]
        if differs:
            message = (
                f"ensemble: {run.path} and {runs[0].path} have different validation data "
                f"(data.{differs[0]}){hint}"
            )
            if required:
                raise TweetsentError(message)
            log(f"{message}: no validation scores")
            return None
    try:
        valid = validation_examples(runs[0].config)
    except TweetsentError as exc:
        if required:
            raise TweetsentError(
                f"ensemble: cannot read the validation split ({exc}){hint}"
            ) from None
        log(f"ensemble: no validation scores (cannot read the validation split: {exc})")
        return None
    if valid is None:
        message = f"ensemble: {runs[0].path} has no validation split to fit weights on{hint}"
        if required:
            raise TweetsentError(message)
        log("ensemble: the members have no validation split: no validation scores")
    return valid


def _held_out(held: Path, names: Sequence[str], out: Path) -> tuple:
    """(weights, chosen, scores, examples) of the held-out ensemble run `held` whose members
    (the same names, in the same order) were trained without the validation split."""
    run = read_run(held)
    ensemble = run.meta.get("ensemble") or {}
    if not run.config.is_ensemble or "weights" not in ensemble:
        raise TweetsentError(f"ensemble: {held} is not an ensemble run to take weights from")
    if list(ensemble.get("members", [])) != list(names):
        raise TweetsentError(
            f"ensemble: {held} has members {ensemble.get('members')}, not {list(names)}"
        )
    chosen = {k: v for k, v in ensemble.items() if k not in ("members", "sources", "weights")}
    valid = chosen.pop("validation", None) or {}
    where = os.path.relpath(held.resolve(), out.resolve())
    chosen["refit"] = {"held_out": where, "validation_scores": "held out, from that run"}
    scores = {}
    if valid:
        metrics = read_json(held / "metrics.json")
        scores = {
            "members": valid["members"],
            "ensemble": valid["ensemble"],
            "confusion_matrix": metrics["confusion_matrix"],
        }
    return list(ensemble["weights"]), chosen, scores, int(valid.get("examples", 0))


def _member_probs(run: LoadedRun, texts: Sequence[str]) -> np.ndarray:
    """(n, C) float64: the member's probabilities, as its own Predictor computes them."""
    predictor = Predictor.from_run(run.path)
    return predictor.predict_proba(texts).astype(np.float64)


# -- weights ----------------------------------------------------------------------------------


def grid_steps(members: int) -> int:
    """Divisions of each weight's [0, 1]: 0.05 steps for up to 4 members, coarser above."""
    return 20 if members <= 4 else 10 if members <= 6 else 5


def simplex_grid(members: int, steps: int) -> np.ndarray:
    """(G, members) every weight vector with entries k / steps summing to 1 (stars and bars)."""
    rows = []
    for bars in itertools.combinations(range(steps + members - 1), members - 1):
        edges = (-1, *bars, steps + members - 1)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(members)])
    return np.asarray(rows, dtype=np.float64) / steps


def weighted_nll(true_probs: np.ndarray, labels: np.ndarray, num_labels: int) -> np.ndarray:
    """Class-weighted NLL of each row of `true_probs` (G, n): the mean over the classes present
    of each class's mean -log p(true label) -> (G,)."""
    nll = -np.log(np.maximum(true_probs, 1e-12))  # (G, n)
    per_class = [nll[:, labels == c].mean(axis=1) for c in range(num_labels) if (labels == c).any()]
    return np.mean(per_class, axis=0)


def fit_weights(
    probs: Sequence[np.ndarray], labels: Sequence[int], num_labels: int
) -> tuple[list[float], dict[str, Any]]:
    """The grid point with the lowest class-weighted validation NLL, and how it was found."""
    y = np.asarray(labels, dtype=np.int64)
    true = np.stack([p[np.arange(len(y)), y] for p in probs])  # (M, n)
    steps = grid_steps(len(probs))
    grid = simplex_grid(len(probs), steps)  # (G, M)
    chunk = max(1, 20_000_000 // max(len(y), 1))  # ~160 MB of float64 at a time
    losses = np.concatenate(
        [
            weighted_nll(grid[i : i + chunk] @ true, y, num_labels)
            for i in range(0, len(grid), chunk)
        ]
    )
    best = int(np.argmin(losses))
    uniform = weighted_nll(np.full((1, len(probs)), 1 / len(probs)) @ true, y, num_labels)
    fit = {
        "objective": "class-weighted validation negative log-likelihood of the mixture",
        "grid": {"step": 1 / steps, "points": len(grid)},
        "validation_examples": len(y),
        "weighted_nll": float(losses[best]),
        "uniform_weighted_nll": float(uniform[0]),
    }
    return grid[best].tolist(), fit


def _scores(names, probs, weights, valid, labels) -> dict[str, Any]:
    """Validation metrics (and mean NLL as `loss`) of each member and of the mixture."""
    truth = np.asarray(valid[1], dtype=np.int64)

    def metrics(p: np.ndarray) -> dict[str, float]:
        loss = float(-np.log(np.maximum(p[np.arange(len(truth)), truth], 1e-12)).mean())
        return {"loss": loss, **compute_metrics(truth, p.argmax(axis=1), labels)}

    mixed = sum(w * p for w, p in zip(weights, probs, strict=True))
    return {
        "members": {name: metrics(p) for name, p in zip(names, probs, strict=True)},
        "ensemble": metrics(mixed),
        "confusion_matrix": confusion_matrix(truth, mixed.argmax(axis=1), len(labels)).tolist(),
    }


# -- the run directory ------------------------------------------------------------------------


def _ensemble_config(
    runs, names, weights, out: Path, refit: list[str], held_out: bool
) -> RunConfig:
    """data, model and train of the first member (embed of an ELMo member if any: prediction
    then passes the token strings), the shared text settings, the member names."""
    first = runs[0].config
    embed = next((r.config.embed for r in runs if r.config.embed.needs_words), first.embed)
    return RunConfig(
        data=first.data,
        text=first.text,
        embed=embed,
        model=first.model,
        train=first.train,
        ensemble=EnsembleConfig(
            members=list(names), weights=weights, refit=refit, heldout=held_out
        ),
        out=str(out),
    )


def _meta(runs, names, model, chosen, scores, examples: int, split: str) -> dict[str, Any]:
    ensemble = {
        "members": list(names),
        "sources": [str(run.path) for run in runs],
        "weights": model.weights.tolist(),
        **chosen,
        "validation": (
            {"examples": examples, **{k: scores[k] for k in ("members", "ensemble")}}
            if scores
            else None
        ),
    }
    meta: dict[str, Any] = {
        "tweetsent": __version__,
        "torch": torch.__version__,
        "data": runs[0].meta.get("data", {}),
        "parameters": sum(int(run.meta.get("parameters") or 0) for run in runs),
        "ensemble": ensemble,
        "labels": list(runs[0].labels),
    }
    if scores:
        meta["scores"] = {"split": split, "best_epoch": 0, **scores["ensemble"]}
    return meta


def _write(out: Path, runs, names, config, vocab, meta, model, scores) -> None:
    """Write the run atomically: into a temporary folder renamed to `out`, or (members already
    in out/members) file by file with config.json last, so a half-written run never loads."""
    placed = [_in_place(run, name, out) for run, name in zip(runs, names, strict=True)]
    if any(placed) and not all(placed):
        raise TweetsentError(f"{out}: some members already live in {out / MEMBERS}, others not")
    if not all(placed) and out.exists() and any(out.iterdir()):
        raise TweetsentError(f"{out}: already exists and is not empty (give a new --out)")
    out.parent.mkdir(parents=True, exist_ok=True)
    target = out if all(placed) else Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if not all(placed):
            for run, name in zip(runs, names, strict=True):
                shutil.copytree(
                    run.path, target / MEMBERS / name, ignore=shutil.ignore_patterns(CHECKPOINT)
                )
        save_ensemble_weights(model, target / WEIGHTS)
        if scores:
            write_json(target / "metrics.json", _metrics_file(meta, scores))
        _write_card(target / "MODEL_CARD.md", meta, config, [run.config for run in runs])
        save_run_files(target, config, vocab, meta["labels"], meta)  # config.json last
        if target != out:
            if out.exists():
                out.rmdir()  # empty
            os.replace(target, out)
    except BaseException:
        if target != out:
            shutil.rmtree(target, ignore_errors=True)
        raise


def _metrics_file(meta: dict, scores: dict) -> dict:
    return {
        "split": meta["scores"]["split"],
        "best_epoch": 0,
        "metrics": scores["ensemble"],
        "labels": meta["labels"],
        "confusion_matrix": scores["confusion_matrix"],
        "members": scores["members"],
    }


def _write_card(path: Path, meta: dict, config: RunConfig, members: Sequence[RunConfig]) -> None:
    ens = meta["ensemble"]
    lines = ["# Model card: ensemble", "", f"- model: {summary(config)}"]
    lines += [f"- labels: {', '.join(meta['labels'])}", f"- weights: {ens['method']}"]
    refit = ens.get("refit")
    in_sample = not config.ensemble.heldout  # members trained on validation, none held out
    if in_sample:
        lines.append(
            f"- refit: {', '.join(refit['members'])} trained on the validation split too, with "
            "no held-out stage: the validation scores below are in-sample"
        )
    elif refit:
        lines.append(
            f"- refit: {', '.join(refit['members']) or 'no member'} retrained on the "
            f"validation split too; the weights and the validation scores below are those of "
            f"{refit['held_out']} (the members trained without it)"
        )
    lines += [
        f"- member {n}: weight {w:.3f}, seed {c.train.seed}, {summary(c)}"
        for n, w, c in zip(ens["members"], ens["weights"], members, strict=True)
    ]
    valid = ens.get("validation")
    if valid:
        note = ", in-sample" if in_sample else ""
        lines += ["", f"## Validation scores ({valid['examples']:,} tweets{note})", ""]
        lines += ["| run | AvgRec | F1-PN | accuracy |", "|---|---|---|---|"]
        rows = [*valid["members"].items(), ("ensemble", valid["ensemble"])]
        lines += [
            f"| {n} | {m['avgrec']:.4f} | {m['f1_pn']:.4f} | {m['accuracy']:.4f} |" for n, m in rows
        ]
    lines += ["", "Members: members/NAME (ordinary run directories). Settings: config.json.", ""]
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
