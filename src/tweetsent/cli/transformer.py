"""The `transformer` group: a model folder's description (info) and the feature cache (cache).

The `train` flags that pick a transformer (--embed transformer, --transformer PATH, --model
transformer, --encoder-lr, ...) are in `runs`; docs/transformer.md describes both modes.
"""

from __future__ import annotations

import argparse
import json

from tweetsent.cli.registry import command


def _add_transformer(sub) -> None:
    p = sub.add_parser("transformer", help="transformer encoders: folder info, feature cache")
    tsub = p.add_subparsers(dest="transformer_command", required=True)
    i = tsub.add_parser("info", help="a model folder: sizes, emoji handling, file checksums")
    i.add_argument("folder", help="Hugging Face model folder (config.json, tokenizer, weights)")
    c = tsub.add_parser("cache", help="compute a corpus's frozen features once (resumable)")
    c.add_argument("--config", help="TOML config of the training run")
    c.add_argument("--data", nargs="+", help="training files (as for train)")
    c.add_argument("--valid", nargs="+", help="validation files")
    c.add_argument("--transformer", dest="embed.transformer", help="model folder")
    c.add_argument(
        "--transformer-emoji", dest="embed.transformer_emoji", help="auto | words | keep"
    )
    c.add_argument("--max-pieces", dest="embed.transformer_max_pieces", type=int)
    c.add_argument("--cache-dir", dest="embed.elmo_cache_dir", help="feature cache root")
    c.add_argument("--shard", default="0/1", help="i/N: this process's share (0 <= i < N)")
    c.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    c.add_argument("--batch-size", type=int, default=64, help="tweets per encoder batch")
    c.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("transformer")
def run_transformer(args: argparse.Namespace) -> int:
    if args.transformer_command == "info":
        _info(args.folder)
    else:
        _cache(args)
    return 0


def _info(folder: str) -> None:
    from tweetsent.config import EmbedConfig
    from tweetsent.embed.transformer import TransformerSource, resolve_emoji

    source = TransformerSource.from_folder(folder)
    config = json.loads((source.folder / "config.json").read_text(encoding="utf-8"))
    embed = EmbedConfig(kind="transformer", transformer=folder)
    print(f"{source.name}: {config.get('model_type')} {config.get('architectures')}")
    keys = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")
    print("  " + ", ".join(f"{k} {config.get(k)}" for k in keys))
    print(f"  emoji (embed.transformer_emoji = auto): {resolve_emoji(embed, source)}")
    print(f"  cache key (max_pieces {source.max_pieces}): {source.key}")
    for name, digest in source.files.items():
        print(f"  {digest}  {name}")


def _cache(args: argparse.Namespace) -> None:
    from tweetsent.cli.elmo import run_cache
    from tweetsent.embed.transformer.cache import cache_transformer_corpus

    keys = ("embed.transformer", "embed.transformer_emoji", "embed.transformer_max_pieces")
    run_cache(args, "transformer", (*keys, "embed.elmo_cache_dir"), cache_transformer_corpus)


ADDERS = [_add_transformer]
