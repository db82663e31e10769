"""The `elmo` group: embed sentences, the feature cache (cache, merge), the official models
(fetch, import, info), and pretraining a biLM (pretrain).

The `train` flags that pick ELMo embeddings (--elmo-model, --elmo-cache, ...) are in `runs`.
"""

from __future__ import annotations

import argparse
import json

from tweetsent.cli.registry import command
from tweetsent.cli.runs import add_registry_commands
from tweetsent.config import RunConfig

# PretrainConfig fields that `elmo pretrain` takes as flags: (field, type); --field-name each.
PRETRAIN_FLAGS = [("epochs", int), ("batch_size", int), ("lr", float), ("max_vocab", int)]
PRETRAIN_FLAGS += [("n_samples", int), ("full_softmax_max", int), ("clip_norm", float)]
PRETRAIN_FLAGS += [("dropout", float), ("eval_every", int), ("checkpoint_every", int)]
PRETRAIN_FLAGS += [("max_steps", int), ("max_minutes", float), ("seed", int)]
PRETRAIN_FLAGS += [("heldout_every", int), ("heldout_max", int), ("min_count", int)]
PRETRAIN_FLAGS += [("chunk_lines", int), ("mix_blocks", int)]


def _add_elmo(sub) -> None:
    p = sub.add_parser("elmo", help="ELMo: embed sentences, feature cache, official models")
    esub = p.add_subparsers(dest="elmo_command", required=True)
    e = esub.add_parser("embed", help="every biLM layer of pre-tokenized sentences -> .npz")
    for flag in ("--options", "--weights", "--input", "--output"):
        e.add_argument(flag, required=True)
    e.add_argument(
        "--stateful",
        action="store_true",
        help="carry the LSTM state from batch to batch, sentences in file order (allennlp's "
        "default); without it every batch starts from zeros",
    )
    c = esub.add_parser("cache", help="compute a corpus's ELMo features once (float16, resumable)")
    c.add_argument("--config", help="TOML config of the training run")
    c.add_argument("--data", nargs="+", help="training files (as for train)")
    c.add_argument("--valid", nargs="+", help="validation files")
    c.add_argument("--model", dest="embed.elmo_model", help="registry model")
    c.add_argument("--options", dest="embed.elmo_options", help="options.json")
    c.add_argument("--weights", dest="embed.elmo_weights", help="HDF5 weights")
    c.add_argument("--cache-dir", dest="embed.elmo_cache_dir", help="feature cache root")
    c.add_argument(
        "--elmo-input", dest="embed.elmo_input", help="what the biLM reads: raw | lower | cleaned"
    )
    c.add_argument("--shard", default="0/1", help="i/N: this process's share (0 <= i < N)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    for q in (e, c):
        q.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
        q.add_argument("--batch-size", type=int, default=64, help="sentences per biLM batch")
        q.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    m = esub.add_parser("merge", help="copy feature-cache chunks (shards) into one cache root")
    m.add_argument("sources", nargs="+", help="cache roots (their --cache-dir)")
    m.add_argument("--into", required=True, help="destination cache root")
    add_registry_commands(
        esub,
        fetch="download an official model, checksums recorded",
        import_="copy an official model from a local folder (offline)",
        info="the official models and which are on disk",
    )
    _add_elmo_pretrain(esub)


def _add_elmo_pretrain(esub) -> None:
    t = esub.add_parser("pretrain", help="pretrain a biLM on your corpus (official file format)")
    t.add_argument("--corpus", nargs="+", required=True, help="text files, one tweet per line")
    t.add_argument("--out", required=True, help="output folder (options.json, weights.hdf5, ...)")
    t.add_argument("--preset", default="cpu", help="cpu | small (biLM shape)")
    t.add_argument("--options", help="options.json giving the shape (instead of --preset)")
    t.add_argument("--column", type=int, help="tab-separated field holding the text (0-based)")
    t.add_argument("--clean", action="store_true", help="tokens of tweetsent's normalizer")
    t.add_argument(
        "--tokens",
        default="split",
        help="split | cleaned (= --clean) | raw | lower: raw/lower are the pieces a classifier's "
        "biLM reads with --elmo-input raw/lower",
    )
    for flag, kind in PRETRAIN_FLAGS:
        t.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=kind, help="PretrainConfig")
    t.add_argument("--optimizer", help="adam | adagrad")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    t.add_argument("--dry-run", action="store_true", help="2 steps, 20 held-out sentences")
    t.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (torchrun: cuda)")
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (GPU)")
    t.add_argument("--no-progress", action="store_true")


@command("elmo")
def _elmo(args: argparse.Namespace) -> int:
    from tweetsent.embed.elmo import embed_file, merge_stores, registry

    what = args.elmo_command
    if what == "embed":
        _set_threads(args.threads)
        s = embed_file(
            args.options,
            args.weights,
            args.input,
            args.output,
            args.batch_size,
            args.device,
            stateful=args.stateful,
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


def _elmo_pretrain(args: argparse.Namespace) -> None:
    from tweetsent.distributed import launch_env
    from tweetsent.pretrain.loop import PretrainConfig, pretrain

    _set_threads(args.threads)
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
        tokens=args.tokens,
        device=args.device,
        bf16=args.bf16,
        progress=not args.no_progress,
        **fields,
    )
    r = pretrain(config, resume=args.resume)
    if not launch_env().is_main:
        return  # under torchrun rank 0 reports
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
    from tweetsent.embed.elmo import cache_corpus

    keys = ("embed.elmo_model", "embed.elmo_options", "embed.elmo_weights")
    run_cache(args, "elmo", (*keys, "embed.elmo_cache_dir", "embed.elmo_input"), cache_corpus)


def run_cache(args: argparse.Namespace, kind: str, keys: tuple[str, ...], cache) -> None:
    """`elmo cache` and `transformer cache`: the run's config (--config, then the flags named
    by `keys`, embed.kind = `kind`, --data/--valid), its features computed by `cache`."""
    from tweetsent.device import resolve_device
    from tweetsent.embed.elmo import parse_shard

    _set_threads(args.threads)
    config = RunConfig.from_toml(args.config) if args.config else RunConfig()
    overrides = {key: getattr(args, key) for key in keys}
    overrides.update({"embed.kind": kind, "data.train": args.data, "data.valid": args.valid})
    summary = cache(
        config.with_overrides(overrides),
        shard=parse_shard(args.shard),
        batch_size=args.batch_size,
        device=str(resolve_device(args.device)),
        progress=not args.no_progress,
    )
    print(f"computed {summary.computed:,} tweets ({summary.chunks} chunks, {summary.seconds:.1f}s)")


def _set_threads(threads: int) -> None:
    """--threads N: torch intra-op threads (0: torch's default, every core)."""
    from tweetsent.errors import ConfigError

    if threads < 0:
        raise ConfigError(f"--threads {threads}: must be >= 0 (0: every core)")
    if threads:
        import torch

        torch.set_num_threads(threads)


ADDERS = [_add_elmo]
