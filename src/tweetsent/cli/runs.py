"""Run subcommands: `train` a run directory, `evaluate` and `predict` with it, and `data`.

`train` maps its flags onto `RunConfig` fields through the TRAIN_FLAGS / TRAIN_BOOLS tables;
`config_from_args` applies them over the `--config` TOML file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator

from tweetsent.cli.registry import command
from tweetsent.config import RunConfig
from tweetsent.errors import TweetsentError


def _bool_flag(parser: argparse.ArgumentParser, name: str, dest: str, help: str) -> None:
    parser.add_argument(
        f"--{name}", dest=dest, action=argparse.BooleanOptionalAction, default=None, help=help
    )


# Flags of `train` that override one config field each: (flag, dest field, type, help).
TRAIN_FLAGS = [
    ("--labels", "data.labels", str, "3class | binary (binary drops neutral rows, counted)"),
    ("--format", "data.format", str, "input format (default: auto)"),
    ("--text-col", "data.text_col", str, "text column for CSV/TSV/JSONL"),
    ("--label-col", "data.label_col", str, "label column for CSV/TSV/JSONL"),
    ("--valid-fraction", "data.valid_fraction", float, "held-out share when no --valid"),
    ("--min-freq", "data.min_freq", int, "vocabulary: minimum token count"),
    ("--workers", "data.workers", int, "processes for cleaning (0: every core)"),
    ("--stopwords", "text.stopwords", str, "none | study | study-strict"),
    ("--embed", "embed.kind", str, "random | glove-kumo | vectors | elmo | transformer"),
    ("--vectors", "embed.path", str, "GloVe / word2vec file (with --embed vectors)"),
    ("--embed-dim", "embed.dim", int, "dimension of random embeddings"),
    ("--embed-dropout", "embed.dropout", float, "dropout on the embeddings"),
    ("--clusters", "embed.clusters", str, "Twitter word clusters file (bits TAB word TAB count)"),
    ("--model", "model.kind", str, "rnn | cnn | feedforward | ngram | transformer (fine-tune)"),
    ("--cell", "model.cell", str, "lstm | gru"),
    ("--hidden", "model.hidden_size", int, "RNN hidden size"),
    ("--layers", "model.num_layers", int, "stacked RNN layers"),
    ("--cnn-filters", "model.cnn_filters", int, "CNN: feature maps per window width"),
    ("--pooling", "model.pooling", str, "last | mean | max | attention"),
    ("--attention-da", "model.attention_da", int, "self-attention: d_a (rows of W_s1)"),
    ("--attention-hops", "model.attention_hops", int, "self-attention: hops r (1: single)"),
    ("--attention-penalty", "model.attention_penalty", float, "coefficient of ||AA^T - I||^2"),
    ("--attention-mlp", "model.attention_mlp", int, "self-attention: MLP hidden units"),
    ("--layer-dropout", "model.layer_dropout", float, "dropout between RNN layers"),
    ("--dropout", "model.output_dropout", float, "dropout before the output layer"),
    ("--epochs", "train.epochs", int, "maximum epochs"),
    ("--batch-size", "train.batch_size", int, "batch size"),
    ("--lr", "train.lr", float, "learning rate"),
    ("--optimizer", "train.optimizer", str, "adam | adamw"),
    ("--weight-decay", "train.weight_decay", float, "weight decay"),
    ("--clip", "train.clip_norm", float, "gradient clipping norm (0: off)"),
    ("--seed", "train.seed", int, "random seed"),
    ("--device", "train.device", str, "auto | cpu | cuda | cuda:N"),
    ("--early-stopping", "train.early_stopping", str, "metric watched (avgrec, f1_pn, ...)"),
    ("--patience", "train.patience", int, "epochs without improvement before stopping"),
    ("--threads", "train.threads", int, "torch threads (0: every core)"),
    ("--schedule", "train.schedule", str, "learning rate schedule: constant | linear (decay)"),
    ("--warmup", "train.warmup", float, "linear warm-up over this fraction of the steps"),
    ("--encoder-lr", "train.encoder_lr", float, "fine-tuning: top encoder layer's rate (0: lr)"),
    ("--layer-decay", "train.layer_decay", float, "fine-tuning: rate factor per layer down"),
    ("--accumulate", "train.accumulate", int, "batches per optimizer step"),
    # Transformer encoders (a Hugging Face model folder, read offline; docs/transformer.md).
    ("--transformer", "embed.transformer", str, "model folder (with --embed transformer)"),
    ("--transformer-layers", "embed.transformer_layers", str, "layers to mix: all, or e.g. 6"),
    ("--transformer-dropout", "embed.transformer_dropout", float, "dropout on the mix"),
    ("--transformer-emoji", "embed.transformer_emoji", str, "auto | words | keep"),
    ("--transformer-proj", "embed.transformer_proj", int, "frozen: project the mix to N (0: no)"),
    ("--max-pieces", "embed.transformer_max_pieces", int, "word pieces per tweet"),
    # ELMo embeddings (the `elmo` group computes, caches and pretrains them).
    ("--elmo-model", "embed.elmo_model", str, "ELMo registry model (small, ..., original)"),
    ("--elmo-options", "embed.elmo_options", str, "ELMo options.json (with --elmo-weights)"),
    ("--elmo-weights", "embed.elmo_weights", str, "ELMo HDF5 weight file"),
    ("--elmo-layers", "embed.elmo_layers", str, "biLM layers to mix: all, or e.g. 1,2"),
    ("--elmo-dropout", "embed.elmo_dropout", float, "dropout on the mixed ELMo vectors"),
    ("--elmo-concat", "embed.elmo_concat", str, "word vectors beside ELMo: none | random | ..."),
    ("--elmo-input", "embed.elmo_input", str, "what the biLM reads: raw (cased) | lower | cleaned"),
    (
        "--elmo-cache-dir",
        "embed.elmo_cache_dir",
        str,
        "ELMo feature cache root (default: "
        "--config's data.cache_dir, else $TWEETSENT_CACHE or ~/.cache/tweetsent)",
    ),
]
# Flags that take one or more values, each a list field.
TRAIN_LISTS = [
    ("--cnn-widths", "model.cnn_widths", "CNN: window widths in tokens, e.g. 1 2 3 4", int),
    (
        "--lexicon",
        "embed.lexicon",
        "sentiment lexicons: vader, afinn, or files (score, polarity, pmi, emolex formats; "
        "FORMAT:PATH forces one)",
        str,
    ),
]
TRAIN_BOOLS = [
    ("bidirectional", "model.bidirectional", "bidirectional RNN"),
    ("freeze", "embed.freeze", "freeze the embeddings"),
    ("class-weights", "train.class_weights", "weight classes by inverse frequency"),
    ("strict", "data.strict", "fail on the first malformed row"),
    ("elmo-cache", "embed.elmo_cache", "train from cached ELMo / transformer features"),
    ("bf16", "train.bf16", "bfloat16 autocast on a CUDA device that has it"),
    ("tweet-features", "model.tweet_features", "the head reads tweet-level lexicon features"),
    ("lexicon-vocab", "embed.lexicon_vocab", "lexicon words join the vocabulary"),
]


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a classifier")
    p.add_argument("--data", nargs="+", help="training files, folders or globs")
    p.add_argument("--valid", nargs="+", help="validation files (default: held out of --data)")
    p.add_argument("--config", help="TOML config file (flags override it)")
    p.add_argument("--out", help="run directory")
    p.add_argument("--resume", action="store_true", help="continue a killed run in --out")
    p.add_argument("--overwrite", action="store_true", help="train over a run already in --out")
    p.add_argument("--dry-run", action="store_true", help="run a few batches only")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--attention-preset",
        help="self-attention pooling with the study | paper | single setting (flags override it)",
    )
    for flag, dest, kind, text in TRAIN_FLAGS:
        p.add_argument(flag, dest=dest, type=kind, help=text, metavar=dest.split(".")[1].upper())
    for flag, dest, text, kind in TRAIN_LISTS:
        metavar = "SPEC" if kind is str else "N"
        p.add_argument(flag, dest=dest, nargs="+", type=kind, help=text, metavar=metavar)
    for name, dest, text in TRAIN_BOOLS:
        _bool_flag(p, name, dest, text)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The run config of parsed `train` flags: `--config` (or the defaults), then the flags."""
    config = RunConfig.from_toml(args.config) if args.config else RunConfig()
    if getattr(args, "attention_preset", None):
        from tweetsent.config import attention_preset

        config = config.with_overrides(attention_preset(args.attention_preset))
    overrides = {dest: getattr(args, dest) for _, dest, _, _ in TRAIN_FLAGS}
    overrides.update({dest: getattr(args, dest) for _, dest, _ in TRAIN_BOOLS})
    overrides.update({dest: getattr(args, dest) for _, dest, _, _ in TRAIN_LISTS})
    overrides["data.train"] = args.data
    overrides["data.valid"] = args.valid
    overrides["out"] = args.out
    if args.dry_run:
        overrides["train.dry_run"] = True
    if args.no_progress:
        overrides["train.progress"] = False
    return config.with_overrides(overrides)


@command("train")
def _train(args: argparse.Namespace) -> int:
    from tweetsent.distributed import launch_env
    from tweetsent.runs.rundir import check_out_dir, replacing_run
    from tweetsent.train import train

    config = config_from_args(args)
    main_rank = launch_env().is_main  # under torchrun rank 0 checks --out and reports
    if config.out and main_rank:
        check_out_dir(config.out, resume=args.resume, overwrite=args.overwrite)
    replace = config.out and main_rank and args.overwrite
    with replacing_run(config.out) if replace else contextlib.nullcontext():
        result = train(config, resume=args.resume)
    if not main_rank:
        return 0
    head = "ensemble" if result.config.is_ensemble else f"best epoch {result.best_epoch}"
    if result.split != "validation":  # scored on tweets it trained on
        head += f", {result.split}"
    print(f"{head}: " + "  ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
    print(f"run directory: {result.run_dir}")
    return 0


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="metrics and confusion matrix of a run on labelled data")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", nargs="+", required=True, help="labelled files, folders or globs")
    p.add_argument("--format", default="auto")
    p.add_argument("--text-col", default="text")
    p.add_argument("--label-col", default="label")
    p.add_argument("--strict", action="store_true")
    p.add_argument("--out", help="write the metrics as JSON here")
    p.add_argument("--device", default="cpu")
    p.add_argument("--chunk-size", type=int, default=100_000, help="rows scored at a time")


@command("evaluate")
def _evaluate(args: argparse.Namespace) -> int:
    from tweetsent.runs.evaluate import evaluate
    from tweetsent.runs.predict import Predictor

    if args.chunk_size < 1:
        raise TweetsentError(f"evaluate: --chunk-size must be at least 1, got {args.chunk_size}")
    predictor = Predictor.from_run(args.run, device=args.device)
    with _sigterm_interrupts():
        result = evaluate(
            predictor,
            args.data,
            args.format,
            args.text_col,
            args.label_col,
            args.strict,
            out=args.out,
            chunk=args.chunk_size,
        )
    print(f"{result.examples:,} tweets ({result.skipped} malformed rows skipped)")
    print(result.table())
    return 0


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the command as Ctrl-C does (exit 130): the output being written is removed
    (`io.atomic_write`), never left half-written under its final name."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="label tweets given as arguments or in a file")
    p.add_argument("run", help="run directory")
    p.add_argument("texts", nargs="*", help="tweets to label (anywhere among the options)")
    p.set_defaults(positionals="texts")
    p.add_argument(
        "--input",
        help="file: plain text (one tweet a line), CSV, TSV, JSONL or Parquet; a folder of "
        "shards with --output FOLDER/ gives one output shard per input shard",
    )
    p.add_argument(
        "--output",
        help="JSONL, CSV, TSV or Parquet output file; '-' is standard output (the default; "
        "JSONL, or CSV/TSV with --output-format); with --input FOLDER, a folder (an existing "
        "one or a name ending in '/') gets one output shard per input shard; a name ending "
        "in '/' is refused with any other input",
    )
    p.add_argument(
        "--output-format",
        choices=["jsonl", "csv", "tsv", "parquet"],
        help="output format (default: from the --output suffix, JSONL otherwise)",
    )
    p.add_argument("--format", default="auto", help="input format")
    p.add_argument("--text-col", default="text")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=100_000,
        help="rows read, scored and written at a time (memory does not grow with the input)",
    )
    p.add_argument("--attention", action="store_true", help="add tokens + attention weights")
    p.add_argument("--hops", action="store_true", help="with --attention: weights per hop")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--backend",
        choices=["auto", "torch", "onnx"],
        default="auto",
        help="what scores: onnx (ONNX Runtime, no torch: the RNN models over word vectors, "
        "on the CPU), torch, or auto (onnx where it can, else torch; default)",
    )
    p.add_argument("--no-progress", action="store_true")


def _shard_mode(args: argparse.Namespace) -> bool:
    """A folder in and a folder out (an existing folder, or a name ending in a slash)."""
    from pathlib import Path

    out = args.output
    return (
        bool(args.input and out)
        and out != "-"
        and Path(args.input).is_dir()
        and (Path(out).is_dir() or _names_a_folder(out))
    )


def _names_a_folder(out: str) -> bool:
    return out.endswith(("/", os.sep))


@command("predict")
def _predict(args: argparse.Namespace) -> int:
    from tweetsent.io import output_target

    if bool(args.texts) == bool(args.input):
        raise TweetsentError("predict: give tweets as arguments or --input FILE (one of them)")
    if args.chunk_size < 1:
        raise TweetsentError(f"predict: --chunk-size must be at least 1, got {args.chunk_size}")
    shards = _shard_mode(args)
    if args.output == "-":
        args.output = None  # standard output, as with no --output
    if args.output and not shards:
        if _names_a_folder(args.output):
            raise TweetsentError(
                f"{args.output}: ends in '/', a folder; one output shard per input shard needs "
                "--input FOLDER; give an output file name"
            )
        output_target(args.output)  # a directory is a one-line error before the model loads
    from tweetsent.runs.predict import Predictor

    # background: the model loads in a helper process while this one reads and cleans
    with Predictor.from_run(
        args.run,
        device=args.device,
        background=True,
        backend=args.backend,
        attention=args.attention,
    ) as predictor:
        return _predict_with(predictor, args, shards)


def _predict_with(predictor, args: argparse.Namespace, shards: bool) -> int:
    from tweetsent.runs.batch import predict_file, predict_shards

    progress = not args.no_progress
    if shards:
        with _sigterm_interrupts():
            counts = predict_shards(
                predictor,
                args.input,
                args.output,
                args.format,
                args.text_col,
                progress,
                args.chunk_size,
                args.output_format,
            )
        print(
            f"{sum(counts.values()):,} predictions written to {len(counts)} shard(s) in "
            f"{args.output}",
            file=sys.stderr,
        )
        return 0
    if args.input:
        with _sigterm_interrupts():
            count = predict_file(
                predictor,
                args.input,
                args.output,
                fmt=args.format,
                text_col=args.text_col,
                attention=args.attention,
                hops=args.hops,
                progress=progress,
                chunk=args.chunk_size,
                output_format=args.output_format,
            )
        print(f"{count:,} predictions written to {args.output or 'stdout'}", file=sys.stderr)
        return 0
    from tweetsent.data.examples import Examples
    from tweetsent.data.readers import Chunk
    from tweetsent.runs.writers import Scored, open_writer

    preds = predictor.predict(args.texts, attention=args.attention)
    with open_writer(args.output, predictor.labels, args.output_format, args.hops) as out:
        out.write(Chunk(Examples(), None), Scored.of_predictions(preds))
    if args.output:
        print(f"{len(preds):,} predictions written to {args.output}", file=sys.stderr)
    return 0


def _add_data(sub) -> None:
    p = sub.add_parser("data", help="public datasets: fetch, import, info")
    dsub = p.add_subparsers(dest="data_command", required=True)
    add_registry_commands(
        dsub,
        fetch="download a dataset into the cache, checksums verified",
        import_="copy a dataset from a local folder (offline)",
        info="what the registry knows and what is on disk",
    )


def add_registry_commands(sub, fetch: str, import_: str, info: str) -> None:
    """`fetch NAME [--force]`, `import NAME FOLDER`, `info [NAME]` of a download registry
    (datasets here, ELMo models in `elmo`), with their help texts."""
    f = sub.add_parser("fetch", help=fetch)
    f.add_argument("name")
    f.add_argument("--force", action="store_true")
    i = sub.add_parser("import", help=import_)
    i.add_argument("name")
    i.add_argument("folder")
    n = sub.add_parser("info", help=info)
    n.add_argument("name", nargs="?")


@command("data")
def _data(args: argparse.Namespace) -> int:
    from tweetsent.data import registry

    if args.data_command == "fetch":
        print(registry.fetch(args.name, force=args.force))
    elif args.data_command == "import":
        print(registry.import_local(args.name, args.folder))
    else:
        for entry in registry.info(args.name):
            print(json.dumps(entry, ensure_ascii=False))
    return 0


ADDERS = [_add_train, _add_evaluate, _add_predict, _add_data]
