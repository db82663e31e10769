"""A corpus's transformer features computed once: the work behind `tweetsent transformer cache`.

The same store and builder as ELMo's (`embed.elmo.store`, `embed.elmo.cache`): one folder per
exact model (`TransformerSource.key`: its files' SHA-256 and `max_pieces`), one entry per
distinct input (the pieces and `embed.transformer_emoji`), chunks committed by their index, so
a killed run resumes and processes or machines can split a corpus by `--shard i/N`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from tweetsent.config import RunConfig
from tweetsent.embed.elmo.cache import CacheSummary, cache_prepared
from tweetsent.embed.transformer.source import resolve_emoji, transformer_source
from tweetsent.errors import ConfigError


def resolved(config: RunConfig) -> RunConfig:
    """`config` with `embed.transformer_emoji = "auto"` decided by the encoder's tokenizer
    (what `train` records in the run, and what keys the cache)."""
    embed = config.embed
    emoji = resolve_emoji(embed, transformer_source(embed))
    return dataclasses.replace(config, embed=dataclasses.replace(embed, transformer_emoji=emoji))


def cache_transformer_corpus(
    config: RunConfig,
    *,
    shard: tuple[int, int] = (0, 1),
    batch_size: int = 64,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], Any] = print,
) -> CacheSummary:
    """Cache the features of every tweet training with `config` would read (train + valid)."""
    if config.embed.kind != "transformer":
        raise ConfigError("embed.kind: 'transformer' is needed to cache transformer features")
    config = resolved(config)
    source = transformer_source(config.embed)
    return cache_prepared(
        config, source, source.load, shard, batch_size, device, progress=progress, log=log
    )
