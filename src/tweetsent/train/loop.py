"""The training loop: `train(config) -> RunResult`. The only place that optimises a model."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from tweetsent.config import RunConfig
from tweetsent.data.batching import batch_inputs, bucketed_batches, pad_batch
from tweetsent.data.prepare import Prepared, prepare
from tweetsent.distributed import (
    SINGLE,
    DistEnv,
    barrier,
    derived_seed,
    from_rank_zero,
    launch_env,
    rank_zero_first,
    setup,
    shard,
    sum_over_ranks,
    wrap,
)
from tweetsent.embed.transformer.encoder import PieceEncoder
from tweetsent.errors import ConfigError
from tweetsent.metrics import compute_metrics, confusion_matrix, metrics_from_confusion
from tweetsent.models import build_model
from tweetsent.runs.rundir import (
    WEIGHTS,
    load_weights,
    model_extras,
    read_run,
    save_run_files,
    save_weights,
)
from tweetsent.runs.torch_scorer import run_model
from tweetsent.train import checkpoint
from tweetsent.train.embeddings import initial_embeddings, initial_tables, load_word_inputs
from tweetsent.train.features import attach_features
from tweetsent.train.recipe import train_recipe
from tweetsent.train.report import scored_split, write_outputs
from tweetsent.version import __version__

DRY_RUN_BATCHES = 3


@dataclass
class RunResult:
    run_dir: Path
    config: RunConfig
    best_epoch: int
    metrics: dict[str, float]  # validation metrics of the best epoch
    history: list[dict[str, Any]] = field(default_factory=list)
    device: str = "cpu"
    stopped_early: bool = False
    split: str = "validation"  # what `metrics` were measured on (train.report.scored_split)


@dataclass
class _State:
    """What the loop carries between epochs; saved in every checkpoint."""

    epoch: int = 0
    best: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def train(
    config: RunConfig,
    resume: bool = False,
    log=print,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    """Train a classifier as `config` says; write everything into `config.out`.

    The caller's config is not changed: the resolved one (e.g. `embed.dim` set by the word
    vectors) is saved as config.json and returned as `RunResult.config`.
    Under torchrun every rank trains on its share of each batch (`distributed`), rank 0 alone
    writes the run directory and logs.
    `on_epoch(row)` is called with each epoch's history row once its checkpoint is saved; an
    exception it raises (e.g. `optuna.TrialPruned` from the search) stops training there.
    """
    if config.is_ensemble:  # a recipe: its members, then the ensemble run (train.recipe)
        if launch_env().launched:
            raise ConfigError(
                "an ensemble recipe does not run under torchrun: train its members with "
                "torchrun one by one, then `tweetsent ensemble`"
            )
        return RunResult(**train_recipe(config, train, resume, log))
    if not config.out:
        raise ConfigError("out: a run directory is required")
    run_dir = Path(config.out)
    tc = config.train
    env, device = setup(tc.device)  # under torchrun: this rank's device and the process group
    if not env.is_main:
        log = _quiet
    torch.set_num_threads(tc.threads or (os.cpu_count() or 1) // env.local_world_size or 1)
    torch.manual_seed(tc.seed)
    saved = _check_resume(config, run_dir) if resume else None
    if saved is not None:
        config = _with_dim(config, saved.config.embed.dim)
        config = dataclasses.replace(config, embed=saved.config.embed)  # e.g. emoji resolved
    elif config.embed.kind == "transformer":
        config = _resolve_transformer(config, log)
    inputs = None if saved else load_word_inputs(config)  # lexicons, clusters
    with rank_zero_first(env):  # rank 0 fills the token cache, the others read it
        prepared = prepare(
            config,
            progress=tc.progress and env.is_main,
            vocab=saved.vocab if saved else None,
            extra_words=inputs.vocabulary_words(config) if inputs else (),
        )
    log(
        f"data: {len(prepared.train):,} train / {len(prepared.valid):,} valid tweets, "
        f"{len(prepared.vocab):,} tokens in the vocabulary, labels {prepared.labels}"
    )
    _log_skipped(prepared.report, log)
    matrix, embed_info = (None, {}) if saved else initial_embeddings(config, prepared, log)
    tables = None
    if inputs is not None:
        tables, tables_info = initial_tables(config, prepared, inputs, log)
        embed_info.update(tables_info)
    if matrix is not None:
        config = _with_dim(config, int(matrix.shape[1]))
    weights = _class_weights(prepared) if tc.class_weights else None
    extras = model_extras(saved) if saved else {}  # resuming ELMo: the same biLM files
    sizes = (len(prepared.vocab), len(prepared.labels))
    model = build_model(config, *sizes, matrix, weights, tables=tables, **extras)
    model.to(device)
    with rank_zero_first(env):
        contextual = attach_features(config, prepared, model, log)  # ELMo: the feature cache
    optimizer = _optimizer(model, config)
    state = _State()
    if saved is None and env.is_main:
        contextual = _copy_encoder(model, run_dir, contextual)
        meta = {
            "tweetsent": __version__,
            "torch": torch.__version__,
            "device": str(device),
            "data": prepared.report,
            "embeddings": embed_info,
            "parameters": sum(p.numel() for p in model.parameters()),
            **contextual,
        }
        save_run_files(run_dir, config, prepared.vocab, prepared.labels, meta)
    elif saved is not None:
        state = _State(**checkpoint.load(run_dir, model, optimizer, device))
        log(f"resume: {state.epoch} epoch(s) done, continuing at epoch {state.epoch + 1}")
    if env.launched:  # dropout: each rank its own stream, from (seed, rank, epochs done)
        torch.manual_seed(derived_seed(tc.seed, env.rank, state.epoch))
    loop = _Loop(wrap(model, env), optimizer, prepared, config, device, env)
    stopped = _epochs(model, loop, state, run_dir, log, on_epoch)
    barrier(env)  # rank 0 has written the best weights
    return _finish(model, prepared, config, device, state, run_dir, stopped, env)


@dataclass
class _Loop:
    """What every epoch uses: the model as trained (DistributedDataParallel under torchrun),
    its optimizer, the data, the config, the device and this process's rank."""

    trained: torch.nn.Module
    optimizer: torch.optim.Optimizer
    prepared: Prepared
    config: RunConfig
    device: torch.device
    env: DistEnv = SINGLE


def _epochs(model, loop: _Loop, state, run_dir, log, on_epoch) -> bool:
    prepared, config, device, env = loop.prepared, loop.config, loop.device, loop.env
    tc = config.train
    watch = tc.early_stopping if tc.keep == "best" else ""  # keep = last: no early stopping
    while state.epoch < tc.epochs:
        epoch = state.epoch + 1
        start, cpu = time.perf_counter(), time.process_time()
        train_row = _train_epoch(loop, epoch)
        probs, valid_loss, _ = run_model(model, prepared.valid, tc.batch_size * 2, device)
        valid = compute_metrics(prepared.valid.labels, probs.argmax(1), prepared.labels)
        row = {
            "epoch": epoch,
            **{f"train_{k}": v for k, v in train_row.items()},
            "valid_loss": valid_loss,
            **{f"valid_{k}": v for k, v in valid.items()},
        }
        row["gap"] = row["train_accuracy"] - row["valid_accuracy"]
        previous_gap = state.history[-1]["gap"] if state.history else -math.inf
        row["overfit"] = bool(row["gap"] > tc.overfit_gap and row["gap"] > previous_gap)
        row["seconds"] = round(time.perf_counter() - start, 2)
        row["cpu_seconds"] = round(time.process_time() - cpu, 2)  # all this process's threads
        row = from_rank_zero(row, env)  # early stopping: every rank decides on rank 0's scores
        state.history.append(row)
        state.epoch = epoch
        if tc.keep == "last":  # every epoch replaces the one before
            score = float(epoch)
        else:
            score = row[f"valid_{watch}"] if watch else -row["valid_loss"]
            if watch == "loss":
                score = -score
        if state.best is None or score > state.best:
            state.best, state.best_epoch, state.bad_epochs = score, epoch, 0
            if env.is_main:
                save_weights(model, run_dir / WEIGHTS)
        else:
            state.bad_epochs += 1
        if env.is_main:
            checkpoint.save(run_dir, model, loop.optimizer, state.__dict__)
        log(_epoch_line(row))
        if on_epoch is not None:
            on_epoch(row)
        if tc.dry_run:
            return False
        if watch and state.bad_epochs >= tc.patience:
            log(f"early stopping: no better valid {watch} for {tc.patience} epoch(s)")
            return True
    return False


def _train_epoch(loop: _Loop, epoch: int) -> dict:
    prepared, tc, device, env = loop.prepared, loop.config.train, loop.device, loop.env
    model, optimizer = loop.trained, loop.optimizer
    model.train()
    data = prepared.train
    batches = list(bucketed_batches(data.lengths, tc.batch_size, True, seed=tc.seed * 1000 + epoch))
    if tc.dry_run:
        batches = batches[:DRY_RUN_BATCHES]
    matrix = np.zeros((len(prepared.labels),) * 2, dtype=np.int64)
    total_loss, seen, penalty = 0.0, 0, None
    bar = tqdm(
        batches,
        desc=f"epoch {epoch}/{tc.epochs}",
        unit="batch",
        disable=not tc.progress or not env.is_main,
        leave=False,
        dynamic_ncols=True,
    )
    full = math.ceil(_epoch_batches(data, tc) / tc.accumulate)
    step0, total = (epoch - 1) * full, full * tc.epochs
    optimizer.zero_grad(set_to_none=True)
    for number, batch in enumerate(bar):
        index, share = _share(batch, loop)
        tokens, lengths, labels = pad_batch(data, index)
        labels = labels.to(device)
        with _autocast(device, tc.bf16):
            out = model(tokens.to(device), lengths, labels, **batch_inputs(data, index))
        term = out.loss if share is None else share.part(out)  # this rank's term of the loss
        scaled = term if share is None else term * share.world
        group = min(tc.accumulate, len(batches) - number // tc.accumulate * tc.accumulate)
        (scaled / group if tc.accumulate > 1 else scaled).backward()
        if (number + 1) % tc.accumulate == 0 or number + 1 == len(batches):
            if tc.schedule != "constant" or tc.warmup > 0:
                factor = scheduled_lr(step0 + number // tc.accumulate, total, tc)
                for param_group in optimizer.param_groups:
                    param_group["lr"] = param_group.get("base_lr", tc.lr) * factor
            if tc.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        loss = float(term.detach())
        total_loss += loss * len(batch)
        seen += len(batch)
        if out.penalty is not None:  # self-attention: coefficient * P, already in the loss
            part = 1.0 if share is None else share.rows_part
            penalty = (penalty or 0.0) + float(out.penalty.detach()) * part * len(batch)
        if share is None or share.rows_part:
            pred = out.logits.detach().argmax(-1).cpu().numpy()
            matrix += confusion_matrix(labels.cpu().numpy(), pred, len(prepared.labels))
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
    if env.launched:  # every rank summed its shares: add them up
        sums = sum_over_ranks([total_loss, penalty or 0.0, *matrix.ravel()], env, device)
        total_loss, penalty = sums[0], None if penalty is None else sums[1]
        matrix = np.rint(sums[2:]).astype(np.int64).reshape(matrix.shape)
    row = {"loss": total_loss / max(seen, 1), **metrics_from_confusion(matrix, prepared.labels)}
    if penalty is not None:
        row["penalty"] = penalty / max(seen, 1)  # logged as train_penalty
    return row


def _epoch_batches(data, tc) -> int:
    """Batches in a full epoch (the schedule counts full epochs, also in a dry run)."""
    return math.ceil(len(data) / tc.batch_size)


def _autocast(device: torch.device, bf16: bool):
    """bfloat16 autocast on a CUDA device that has it (`train.bf16`), else nothing."""
    if bf16 and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@dataclass
class _Share:
    """A rank's part of a global batch: its rows' share of the batch's rows and of its class
    weight (the cross-entropy is a weighted mean), and the number of ranks."""

    rows_part: float  # n_rank / n_batch (0: a rank without rows runs one row at factor 0)
    weight_part: float  # sum of the rank's class weights / the batch's
    world: int

    def part(self, out) -> torch.Tensor:
        """This rank's term of the global batch's loss (the terms of all ranks add up to it).
        The rank backpropagates world x its term: DistributedDataParallel averages the
        gradients over the ranks, so the step is that of the global batch's loss."""
        pen = out.penalty if out.penalty is not None else out.loss.new_zeros(())
        return (out.loss - pen) * self.weight_part + pen * self.rows_part


def _share(batch: np.ndarray, loop: _Loop) -> tuple[np.ndarray, _Share | None]:
    """This rank's rows of a global batch and how they weigh in it (None: one process)."""
    env = loop.env
    if not env.launched:
        return batch, None
    rows = shard(len(batch), env)
    index = batch[rows.start : rows.stop]
    inner = loop.trained.module  # the model inside DistributedDataParallel
    weights = inner.class_weights if isinstance(inner, torch.nn.Module) else None  # or None
    if not isinstance(weights, torch.Tensor):
        ours, whole = float(len(index)), float(len(batch))
    else:
        labels = torch.from_numpy(loop.prepared.train.labels)
        table = weights.detach().cpu().double()
        ours, whole = float(table[labels[index]].sum()), float(table[labels[batch]].sum())
    if not len(index):
        return batch[:1], _Share(0.0, 0.0, env.world_size)
    return index, _Share(len(index) / len(batch), ours / whole, env.world_size)


def _finish(model, prepared, config, device, state, run_dir, stopped, env) -> RunResult:
    load_weights(model, run_dir / WEIGHTS)
    probs, loss, _ = run_model(model, prepared.valid, config.train.batch_size * 2, device)
    pred = probs.argmax(1)
    metrics = {"loss": loss, **compute_metrics(prepared.valid.labels, pred, prepared.labels)}
    matrix = confusion_matrix(prepared.valid.labels, pred, len(prepared.labels))
    if env.is_main:
        write_outputs(run_dir, config, prepared, state.history, state.best_epoch, metrics, matrix)
    return RunResult(
        run_dir,
        config,
        state.best_epoch,
        metrics,
        state.history,
        str(device),
        stopped,
        scored_split(config),
    )


def _check_resume(config: RunConfig, run_dir: Path):
    if not checkpoint.exists(run_dir):
        raise ConfigError(f"--resume: {run_dir} has no checkpoint to resume from")
    saved = read_run(run_dir)
    for section in ("data", "text", "embed", "model"):
        ours, theirs = getattr(config, section), getattr(saved.config, section)
        if section == "embed":
            ours = ours.resolved_like(theirs)
        if ours != theirs:
            fields = [f for f in ours.__dict__ if getattr(ours, f) != getattr(theirs, f)]
            name = fields[0] if fields else "?"
            was = getattr(theirs, name, None)
            raise ConfigError(
                f"--resume: {section}.{name} is {getattr(ours, name, None)!r} but the run in "
                f"{run_dir} was trained with {was!r} (set it back to resume)"
            )
    return saved


def _resolve_transformer(config: RunConfig, log) -> RunConfig:
    """The config with `embed.transformer_emoji = "auto"` decided by the encoder's tokenizer."""
    from tweetsent.embed.transformer.cache import resolved

    done = resolved(config)
    if done.embed.transformer_emoji != config.embed.transformer_emoji:
        emoji = done.embed.transformer_emoji
        log(f"transformer: emoji read as {emoji} (embed.transformer_emoji = auto)")
    return done


def _copy_encoder(model, run_dir: Path, contextual: dict[str, Any]) -> dict[str, Any]:
    """A transformer run keeps its encoder's files in `encoder/` (a fine-tuned encoder's
    weights are in model.safetensors): meta.json records the copy's checksums."""
    if "transformer" not in contextual:
        return contextual
    from tweetsent.embed.transformer.source import RUN_FOLDER

    source = getattr(model, "source", None) or model.embedder.source  # fine-tuned, or frozen
    finetuned = bool(getattr(model.embedder, "trainable", False))
    copy = source.copy_to(run_dir / RUN_FOLDER, weights=not finetuned)
    return {"transformer": {**contextual["transformer"], **copy.to_meta()}}


def _quiet(*_args: Any) -> None:
    """The log of ranks other than 0 under torchrun."""


def _log_skipped(report: dict[str, Any], log) -> None:
    """Malformed rows skipped while reading, on the terminal too (meta.json keeps 20)."""
    for note in (report.get("train") or {}).get("excluded_files", []):
        log(f"train: left out {note}")
    added = (report.get("train") or {}).get("with_validation")
    if added:
        log(f"train: + the {added:,} validation tweets (data.train_on_valid; scores in-sample)")
    for split in ("train", "valid"):
        part = report.get(split) or {}
        if part.get("skipped"):
            log(f"{split}: skipped {part['skipped']:,} malformed row(s) (--strict: stop at one)")
            for path, line, reason in part.get("skipped_examples", [])[:3]:
                log(f"  {path}:{line}: {reason}")


def _with_dim(config: RunConfig, dim: int) -> RunConfig:
    """The config with the embedding dimension the run really has."""
    return dataclasses.replace(config, embed=dataclasses.replace(config.embed, dim=dim))


def _class_weights(prepared: Prepared) -> list[float]:
    """Inverse class frequency, normalised to mean 1 (absent classes get weight 1)."""
    counts = np.bincount(prepared.train.labels, minlength=len(prepared.labels)).astype(float)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(counts), 1.0)
    return (weights / weights.mean()).tolist()


def _optimizer(model: torch.nn.Module, config: RunConfig) -> torch.optim.Optimizer:
    tc = config.train
    kind = torch.optim.AdamW if tc.optimizer == "adamw" else torch.optim.Adam
    encoder = getattr(model, "embedder", None)
    if getattr(encoder, "trainable", False):  # a fine-tuned transformer: per-layer rates
        return kind(param_groups(model, tc), lr=tc.lr, weight_decay=tc.weight_decay)
    params = [p for p in model.parameters() if p.requires_grad]
    return kind(params, lr=tc.lr, weight_decay=tc.weight_decay)


def param_groups(model: torch.nn.Module, tc) -> list[dict[str, Any]]:
    """Layer-wise learning-rate decay for a fine-tuned encoder (`model.embedder.model`): the
    head trains at `lr`, the top encoder layer at `encoder_lr` (0 = lr), each layer below at
    `layer_decay` times the one above, the embeddings below the first layer; biases and
    LayerNorm weights get no weight decay. Each group records its `base_lr` for the schedule."""
    encoder = model.embedder
    if not isinstance(encoder, PieceEncoder):
        raise TypeError(f"per-layer rates need a fine-tuned transformer, not {type(encoder)}")
    depth = encoder.num_output_layers - 1  # the encoder's layers: its hidden states less one
    top = tc.encoder_lr or tc.lr
    groups: dict[tuple[float, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith("embedder.model."):
            level = _layer_of(name.removeprefix("embedder.model."), depth)
            lr = top * tc.layer_decay ** (depth - level)
        else:
            lr = tc.lr
        decay = not (name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name)
        groups.setdefault((lr, decay), []).append(param)
    return [
        {"params": params, "lr": lr, "base_lr": lr, "weight_decay": tc.weight_decay * decay}
        for (lr, decay), params in groups.items()
    ]


def _layer_of(name: str, depth: int) -> int:
    """0 for the embeddings, i + 1 for transformer layer i, depth for anything above."""
    if "embeddings" in name.split(".")[0]:
        return 0
    parts = name.split(".")
    for k, part in enumerate(parts[:-1]):
        if part in ("layer", "layers") and parts[k + 1].isdigit():
            return int(parts[k + 1]) + 1
    return depth


def scheduled_lr(step: int, total: int, tc) -> float:
    """The learning rate's factor at optimizer step `step` (0-based) of `total`: linear
    warm-up over the first `warmup` fraction, then constant or linear decay to 0."""
    warm = int(round(tc.warmup * total))
    if step < warm:
        return (step + 1) / warm
    if tc.schedule == "linear":
        return max(0.0, (total - step) / max(total - warm, 1))
    return 1.0


def _epoch_line(row: dict) -> str:
    flag = "  [overfitting: train-valid gap growing]" if row["overfit"] else ""
    penalty = f" (penalty {row['train_penalty']:.4f})" if "train_penalty" in row else ""
    return (
        f"epoch {row['epoch']}: loss {row['train_loss']:.4f}/{row['valid_loss']:.4f}{penalty} "
        f"acc {row['train_accuracy']:.3f}/{row['valid_accuracy']:.3f} "
        f"AvgRec {row['valid_avgrec']:.3f} F1-PN {row['valid_f1_pn']:.3f} "
        f"({row['seconds']:.1f}s){flag}"
    )
