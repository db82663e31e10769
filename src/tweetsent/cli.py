"""The `tweetsent` command: a thin argparse layer over the Python API.

Every subcommand parses its flags, calls one API function, and prints. User mistakes raise
`TweetsentError` and end as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from tweetsent.config import RunConfig
from tweetsent.errors import TweetsentError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def register(func):
        COMMANDS[name] = func
        return func

    return register


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
    ("--embed", "embed.kind", str, "random | glove-kumo | vectors | elmo"),
    ("--vectors", "embed.path", str, "GloVe / word2vec file (with --embed vectors)"),
    ("--embed-dim", "embed.dim", int, "dimension of random embeddings"),
    ("--embed-dropout", "embed.dropout", float, "dropout on the embeddings"),
    ("--lexicon", "embed.lexicon", str, "lexicon word features: vader, or a word TAB score file"),
    ("--model", "model.kind", str, "rnn | feedforward"),
    ("--cell", "model.cell", str, "lstm | gru"),
    ("--hidden", "model.hidden_size", int, "RNN hidden size"),
    ("--layers", "model.num_layers", int, "stacked RNN layers"),
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
]
TRAIN_BOOLS = [
    ("bidirectional", "model.bidirectional", "bidirectional RNN"),
    ("freeze", "embed.freeze", "freeze the embeddings"),
    ("class-weights", "train.class_weights", "weight classes by inverse frequency"),
    ("strict", "data.strict", "fail on the first malformed row"),
]


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a classifier")
    p.add_argument("--data", nargs="+", help="training files, folders or globs")
    p.add_argument("--valid", nargs="+", help="validation files (default: held out of --data)")
    p.add_argument("--config", help="TOML config file (flags override it)")
    p.add_argument("--out", help="run directory")
    p.add_argument("--resume", action="store_true", help="continue a killed run in --out")
    p.add_argument("--dry-run", action="store_true", help="run a few batches only")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--attention-preset",
        help="self-attention pooling with the study | paper | single setting (flags override it)",
    )
    for flag, dest, kind, text in TRAIN_FLAGS:
        p.add_argument(flag, dest=dest, type=kind, help=text, metavar=dest.split(".")[1].upper())
    for name, dest, text in TRAIN_BOOLS:
        _bool_flag(p, name, dest, text)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    config = RunConfig.from_toml(args.config) if args.config else RunConfig()
    if getattr(args, "attention_preset", None):
        from tweetsent.config import attention_preset

        config = config.with_overrides(attention_preset(args.attention_preset))
    overrides = {dest: getattr(args, dest) for _, dest, _, _ in TRAIN_FLAGS}
    overrides.update({dest: getattr(args, dest) for _, dest, _ in TRAIN_BOOLS})
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
    from tweetsent.train import train

    config = config_from_args(args)
    result = train(config, resume=args.resume)
    print(
        f"best epoch {result.best_epoch}: "
        + "  ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
    )
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


@command("evaluate")
def _evaluate(args: argparse.Namespace) -> int:
    from tweetsent.evaluate import evaluate
    from tweetsent.predict import Predictor

    predictor = Predictor.from_run(args.run, device=args.device)
    result = evaluate(
        predictor, args.data, args.format, args.text_col, args.label_col, args.strict, out=args.out
    )
    print(f"{result.examples:,} tweets ({result.skipped} malformed rows skipped)")
    print(result.table())
    return 0


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="label tweets given as arguments or in a file")
    p.add_argument("run", help="run directory")
    p.add_argument("texts", nargs="*", help="tweets to label")
    p.add_argument("--input", help="file: plain text (one tweet a line), CSV, TSV or JSONL")
    p.add_argument("--output", help="JSONL or CSV output file (default: stdout as JSONL)")
    p.add_argument("--format", default="auto", help="input format")
    p.add_argument("--text-col", default="text")
    p.add_argument("--attention", action="store_true", help="add tokens + attention weights")
    p.add_argument("--hops", action="store_true", help="with --attention: weights per hop")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")


@command("predict")
def _predict(args: argparse.Namespace) -> int:
    from tweetsent.predict import Predictor, predict_file

    if bool(args.texts) == bool(args.input):
        raise TweetsentError("predict: give tweets as arguments or --input FILE (one of them)")
    predictor = Predictor.from_run(args.run, device=args.device)
    if args.input:
        count = predict_file(
            predictor,
            args.input,
            args.output,
            fmt=args.format,
            text_col=args.text_col,
            attention=args.attention,
            hops=args.hops,
            progress=not args.no_progress,
        )
        print(f"{count:,} predictions written to {args.output or 'stdout'}", file=sys.stderr)
        return 0
    for pred in predictor.predict(args.texts, attention=args.attention):
        print(json.dumps(pred.to_dict(hops=args.hops), ensure_ascii=False))
    return 0


def _add_data(sub) -> None:
    p = sub.add_parser("data", help="public datasets: fetch, import, info")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download a dataset into the cache, checksums verified")
    f.add_argument("name")
    f.add_argument("--force", action="store_true")
    i = dsub.add_parser("import", help="copy a dataset from a local folder (offline)")
    i.add_argument("name")
    i.add_argument("folder")
    n = dsub.add_parser("info", help="what the registry knows and what is on disk")
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


# Flags of `serve`, one ServeSettings field each (None: the ServeSettings default).
SERVE_FLAGS = [
    ("--host", "host", str, "address to listen on (default 127.0.0.1: this machine only)"),
    ("--port", "port", int, "port (default 8000)"),
    ("--max-texts", "max_texts", int, "texts per request (default 64)"),
    ("--max-chars", "max_chars", int, "characters per text (default 1000)"),
    ("--max-body-bytes", "max_body_bytes", int, "request body size (default 1 MiB)"),
    ("--max-batch", "max_batch", int, "texts per model call (default 64)"),
    ("--max-wait-ms", "max_wait_ms", float, "wait for a batch to fill (default 5 ms)"),
    ("--max-pending", "max_pending", int, "queued requests before 503 busy (default 1024)"),
    ("--precision", "precision", str, "mixed (default) | float64 | float32"),
    ("--threads", "threads", int, "torch threads of the model worker (0: every core)"),
    ("--device", "device", str, "cpu | cuda | cuda:N"),
]


def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="REST API and web page for a run (FastAPI + uvicorn)")
    p.add_argument("run", help="run directory")
    for flag, dest, kind, text in SERVE_FLAGS:
        p.add_argument(flag, dest=f"serve_{dest}", type=kind, metavar=dest.upper(), help=text)
    p.add_argument("--access-log", action="store_true", help="log every request")


@command("serve")
def _serve(args: argparse.Namespace) -> int:
    from tweetsent.serve import ServeSettings, serve

    values = {dest: getattr(args, f"serve_{dest}") for _, dest, _, _ in SERVE_FLAGS}
    settings = ServeSettings(**{k: v for k, v in values.items() if v is not None})
    serve(args.run, settings, access_log=args.access_log)
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="TorchScript or ONNX file of a run, parity-checked")
    p.add_argument("run", help="run directory")
    p.add_argument("--format", required=True, choices=("torchscript", "onnx"))
    p.add_argument("--out", help="output file (default: RUN/model.pt or RUN/model.onnx)")


@command("export")
def _export(args: argparse.Namespace) -> int:
    from tweetsent.export import export_run

    result = export_run(args.run, args.format, args.out)
    print(f"{result.path} ({args.format}): max |prob difference| {result.max_diff:.2e}")
    return 0


# Flags of `search` that override one field of the space file's [search] table.
SEARCH_FLAGS = [
    ("--name", "name", str, "study name"),
    ("--sampler", "sampler", str, "grid | random | tpe"),
    ("--trials", "trials", int, "random / tpe: number of trials"),
    ("--metric", "metric", str, "validation metric to optimise (default avgrec)"),
    ("--seed", "seed", int, "study seed (trial seeds derive from it)"),
    ("--storage", "storage", str, "Optuna database URL (default sqlite:///OUT/study.db)"),
    ("--out", "out", str, "folder for trial run directories and reports"),
    ("--workers", "workers", int, "local worker processes (0: only create the study)"),
    ("--pruner", "pruner", str, "none | median"),
    ("--overfit-gap", "overfit_gap", float, "train-valid gap that queues follow-ups (0: off)"),
    ("--from-study", "from_study", str, "two-stage search: start from this study's best"),
    ("--from-storage", "from_storage", str, "storage of --from-study (default: --storage)"),
    ("--top-k", "top_k", int, "how many of --from-study's best configurations"),
]


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="hyperparameter search (grid, random, TPE) on Optuna")
    p.add_argument("space", help="search-space TOML file")
    p.add_argument("--config", help="base config TOML (instead of the space's search.base)")
    for flag, dest, kind, text in SEARCH_FLAGS:
        p.add_argument(flag, dest=f"search_{dest}", type=kind, help=text)
    p.add_argument("--mlflow", nargs="?", const="default", help="log trials to MLflow [URI]")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="rerun missing or failed trials")
    mode.add_argument("--join", action="store_true", help="add workers to an existing study")
    mode.add_argument("--report-only", action="store_true", help="only write the report")
    p.add_argument("--no-progress", action="store_true", help="plain lines, no bars")


@command("search")
def _search(args: argparse.Namespace) -> int:
    from tweetsent.search import load_space, report_only, run_search

    base = RunConfig.from_toml(args.config) if args.config else None
    space = load_space(args.space, base=base)
    flags = {dest: getattr(args, f"search_{dest}") for _, dest, _, _ in SEARCH_FLAGS}
    flags.update(mlflow=args.mlflow, progress=False if args.no_progress else None)
    space = space.with_settings(flags)
    if args.report_only:
        report = report_only(space)
    else:
        report = run_search(space, resume=args.resume, join=args.join)
    print(f"trials: {report.counts}")
    if report.best_trial is not None:
        print(f"best: trial {report.best_trial}, {report.metric} {report.best_value:.4f}")
    for name, path in report.files.items():
        print(f"{name}: {path}")
    return 0


def _add_explain(sub) -> None:
    p = sub.add_parser("explain", help="self-attention of a run on one tweet: PNG or HTML")
    p.add_argument("run", help="run directory (pooling = attention)")
    p.add_argument("text", help="the tweet")
    p.add_argument("--out", required=True, help="FILE.png (heatmap) or FILE.html (highlighting)")
    p.add_argument("--device", default="cpu")


@command("explain")
def _explain(args: argparse.Namespace) -> int:
    from tweetsent.explain import explain, write_explanation
    from tweetsent.predict import Predictor

    explanation = explain(Predictor.from_run(args.run, device=args.device), args.text)
    path = write_explanation(explanation, args.out)
    top = ", ".join(f"{t} {w:.2f}" for t, w in explanation.top(3))
    print(f"{explanation.label} ({explanation.probs[explanation.label]:.3f}); top: {top}")
    print(f"written: {path}")
    return 0


# ELMo: `train` flags, and the `elmo` group (embed, cache, merge, fetch, import, info).
TRAIN_FLAGS += [
    ("--elmo-model", "embed.elmo_model", str, "ELMo registry model (small, ..., original)"),
    ("--elmo-options", "embed.elmo_options", str, "ELMo options.json (with --elmo-weights)"),
    ("--elmo-weights", "embed.elmo_weights", str, "ELMo HDF5 weight file"),
    ("--elmo-layers", "embed.elmo_layers", str, "biLM layers to mix: all, or e.g. 1,2"),
    ("--elmo-dropout", "embed.elmo_dropout", float, "dropout on the mixed ELMo vectors"),
    ("--elmo-concat", "embed.elmo_concat", str, "word vectors beside ELMo: none | random | ..."),
]
TRAIN_BOOLS += [("elmo-cache", "embed.elmo_cache", "train from cached ELMo features")]


def _add_elmo(sub) -> None:
    p = sub.add_parser("elmo", help="ELMo: embed sentences, feature cache, official models")
    esub = p.add_subparsers(dest="elmo_command", required=True)
    e = esub.add_parser("embed", help="every biLM layer of pre-tokenized sentences -> .npz")
    for flag in ("--options", "--weights", "--input", "--output"):
        e.add_argument(flag, required=True)
    c = esub.add_parser("cache", help="compute a corpus's ELMo features once (float16, resumable)")
    c.add_argument("--config", help="TOML config of the training run")
    c.add_argument("--data", nargs="+", help="training files (as for train)")
    c.add_argument("--valid", nargs="+", help="validation files")
    c.add_argument("--model", dest="embed.elmo_model", help="registry model")
    c.add_argument("--options", dest="embed.elmo_options", help="options.json")
    c.add_argument("--weights", dest="embed.elmo_weights", help="HDF5 weights")
    c.add_argument("--cache-dir", dest="embed.elmo_cache_dir", help="feature cache root")
    c.add_argument("--shard", default="0/1", help="i/N: this process's share (0 <= i < N)")
    c.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    c.add_argument("--no-progress", action="store_true")
    for q in (e, c):
        q.add_argument("--batch-size", type=int, default=64, help="sentences per biLM batch")
        q.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    m = esub.add_parser("merge", help="copy feature-cache chunks (shards) into one cache root")
    m.add_argument("sources", nargs="+", help="cache roots (their --cache-dir)")
    m.add_argument("--into", required=True, help="destination cache root")
    f = esub.add_parser("fetch", help="download an official model, checksums recorded")
    f.add_argument("name")
    f.add_argument("--force", action="store_true")
    i = esub.add_parser("import", help="copy an official model from a local folder (offline)")
    i.add_argument("name")
    i.add_argument("folder")
    n = esub.add_parser("info", help="the official models and which are on disk")
    n.add_argument("name", nargs="?")
    _add_elmo_pretrain(esub)


@command("elmo")
def _elmo(args: argparse.Namespace) -> int:
    from tweetsent.embed.elmo import embed_file, merge_stores, registry

    what = args.elmo_command
    if what == "embed":
        s = embed_file(
            args.options, args.weights, args.input, args.output, args.batch_size, args.device
        )
        print(f"{s.sentences:,} sentences, {s.tokens:,} tokens -> {s.output} ({s.seconds:.1f}s)")
    elif what == "cache":
        _elmo_cache(args)
    elif what == "pretrain":
        _elmo_pretrain(args)
    elif what == "merge":
        print(f"{merge_stores(args.sources, args.into)} chunk(s) copied into {args.into}")
    elif what == "fetch":
        print(registry.fetch(args.name, force=args.force))
    elif what == "import":
        print(registry.import_local(args.name, args.folder))
    else:
        for entry in registry.info():
            if args.name in (None, entry["name"]):
                print(json.dumps(entry, ensure_ascii=False))
    return 0


def _add_elmo_pretrain(esub) -> None:
    t = esub.add_parser("pretrain", help="pretrain a biLM on your corpus (official file format)")
    t.add_argument("--corpus", nargs="+", required=True, help="text files, one tweet per line")
    t.add_argument("--out", required=True, help="output folder (options.json, weights.hdf5, ...)")
    t.add_argument("--preset", default="cpu", help="cpu | small (biLM shape)")
    t.add_argument("--options", help="options.json giving the shape (instead of --preset)")
    t.add_argument("--column", type=int, help="tab-separated field holding the text (0-based)")
    t.add_argument("--clean", action="store_true", help="tokens of tweetsent's normalizer")
    for flag, kind in PRETRAIN_FLAGS:
        t.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=kind, help="PretrainConfig")
    t.add_argument("--optimizer", help="adam | adagrad")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    t.add_argument("--dry-run", action="store_true", help="2 steps, 20 held-out sentences")
    t.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    t.add_argument("--no-progress", action="store_true")


PRETRAIN_FLAGS = [("epochs", int), ("batch_size", int), ("lr", float), ("max_vocab", int)]
PRETRAIN_FLAGS += [("n_samples", int), ("full_softmax_max", int), ("clip_norm", float)]
PRETRAIN_FLAGS += [("dropout", float), ("eval_every", int), ("checkpoint_every", int)]
PRETRAIN_FLAGS += [("max_steps", int), ("max_minutes", float), ("seed", int)]
PRETRAIN_FLAGS += [("heldout_every", int), ("heldout_max", int), ("min_count", int)]


def _elmo_pretrain(args: argparse.Namespace) -> None:
    import torch

    from tweetsent.embed.elmo.pretrain import PretrainConfig, pretrain

    if args.threads:
        torch.set_num_threads(args.threads)
    names = [name for name, _ in PRETRAIN_FLAGS] + ["optimizer"]
    fields = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    if args.dry_run:
        fields.update(max_steps=2, heldout_max=20)
    config = PretrainConfig(
        corpus=tuple(args.corpus),
        out=args.out,
        preset=args.preset,
        options=args.options,
        column=args.column,
        clean=args.clean,
        device=args.device,
        progress=not args.no_progress,
        **fields,
    )
    r = pretrain(config, resume=args.resume)
    last = r.history[-1] if r.history else {}
    ppl = "/".join(f"{last[k]:.1f}" for k in ("forward", "backward", "mean")) if last else "-"
    sampled = " (sampled softmax)" if r.sampled else ""
    print(
        f"{r.steps:,} steps, {r.epochs_done} epoch(s), {r.seconds:.0f}s on {r.device}, "
        f"vocab {r.vocab_size:,}"
    )
    print(f"softmax{sampled}; held-out perplexity forward/backward/mean {ppl}")
    print(f"written: {r.options_path} {r.weights_path} {r.out / 'vocab.txt'}")


def _elmo_cache(args: argparse.Namespace) -> None:
    import torch

    from tweetsent.embed.elmo import cache_corpus, parse_shard
    from tweetsent.predict import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    config = RunConfig.from_toml(args.config) if args.config else RunConfig()
    keys = ("embed.elmo_model", "embed.elmo_options", "embed.elmo_weights", "embed.elmo_cache_dir")
    overrides = {key: getattr(args, key) for key in keys}
    overrides.update({"embed.kind": "elmo", "data.train": args.data, "data.valid": args.valid})
    summary = cache_corpus(
        config.with_overrides(overrides),
        shard=parse_shard(args.shard),
        batch_size=args.batch_size,
        device=str(resolve_device(args.device)),
        progress=not args.no_progress,
    )
    print(f"computed {summary.computed:,} tweets ({summary.chunks} chunks, {summary.seconds:.1f}s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tweetsent", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    for add in ADDERS:
        add(sub)
    return parser


def _version() -> str:
    from tweetsent import __version__

    return f"tweetsent {__version__}"


ADDERS = [_add_train, _add_evaluate, _add_predict, _add_data]
ADDERS += [_add_serve, _add_export]
ADDERS += [_add_search]
ADDERS += [_add_explain]
ADDERS += [_add_elmo]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except TweetsentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
