"""A run in words: the one-line summary of its model, shared by every card that names one.

    summary(config)   # 'BiLSTM(64) x1, max pooling, glove-kumo embeddings (50-d, tuned)'
    training(config)  # 'adam lr=0.002 bs=128 clip=5 dropout=0.3'

`summary` is the model line of the training report (figure title, MODEL_CARD.md), of an
ensemble's card (one line per member) and of the server's card (`GET /v1/model`). It names
files by their names only (`short`), never by their folders: cards leave the machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tweetsent.config import EmbedConfig, ModelConfig, RunConfig


def split_name(in_sample: bool) -> str:
    """What a run's validation scores were measured on: its validation split, or (in-sample)
    the split it also trained on."""
    return "validation, trained on (in-sample)" if in_sample else "validation"


def summary(config: RunConfig) -> str:
    """What the run's model is: encoder (or head), embedder, lexicons and clusters."""
    m, e = config.model, config.embed
    if config.is_ensemble:
        n = len(config.ensemble.members)
        return f"ensemble of {n} models ({config.ensemble.weights} weights)"
    if m.kind == "transformer":
        return f"fine-tuned transformer encoder ({short(e.transformer)}), {m.pooling} pooling"
    lexicons = ", ".join(short(spec) for spec in e.lexicon)
    extras = f" + lexicon scores ({lexicons})" if e.lexicon else ""
    extras += f" + word clusters ({short(e.clusters)})" if e.clusters else ""
    if m.kind == "ngram":
        return f"{_body(m)}{extras}"
    return f"{_body(m)}, {_embedder(e)}{extras}"


def training(config: RunConfig) -> str:
    """The optimisation settings, for figure titles and the training card."""
    m, t = config.model, config.train
    rates = f"lr={t.lr:g}"
    batch = f"bs={t.batch_size}"
    if m.kind == "transformer":
        rates += f" encoder_lr={t.encoder_lr or t.lr:g} layer_decay={t.layer_decay:g}"
        rates += f" {t.schedule} warmup={t.warmup:g}"
        batch += f"x{t.accumulate}"
    return f"{t.optimizer} {rates} {batch} clip={t.clip_norm:g} dropout={m.output_dropout:g}"


def _body(m: ModelConfig) -> str:
    """The encoder and its pooling, or the whole model for the feed-forward and n-gram kinds."""
    if m.kind == "feedforward":
        return f"feed-forward MLP({m.mlp_hidden}) over mean embeddings"
    if m.kind == "ngram":
        hidden = f", hidden {m.ngram_hidden}" if m.ngram_hidden else ""
        return (
            f"n-gram model ({m.ngram_dim}-d bags of hashed word/char n-grams, "
            f"{m.ngram_buckets} buckets{hidden})"
        )
    if m.kind == "cnn":
        widths = ",".join(str(w) for w in m.cnn_widths)
        return f"CNN({m.cnn_filters} filters, widths {widths}), {m.pooling} pooling"
    if m.kind == "rnn":
        cell = f"{'Bi' if m.bidirectional else ''}{m.cell.upper()}"
        return f"{cell}({m.hidden_size}) x{m.num_layers}, {m.pooling} pooling"
    raise ValueError(f"no summary for model.kind {m.kind!r}")


def _embedder(e: EmbedConfig) -> str:
    if e.kind == "transformer":
        return f"frozen transformer encoder ({short(e.transformer)}), layers {e.transformer_layers}"
    words = f"{e.word_kind} embeddings ({e.dim}-d, {'frozen' if e.freeze else 'tuned'})"
    if e.kind != "elmo":
        return words
    model = e.elmo_model or short(e.elmo_weights)
    elmo = f"ELMo ({model}), layers {e.elmo_layers}"
    return elmo if e.word_kind == "none" else f"{elmo} + {words}"


def short(spec: Any) -> Any:
    """A path or a lexicon spec (`FORMAT:path`: the format kept) without its folders."""
    if not isinstance(spec, str) or not spec:
        return spec
    kind, colon, path = spec.rpartition(":") if ":" in spec else ("", "", spec)
    return f"{kind}{colon}{Path(path).name}"
