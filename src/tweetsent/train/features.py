"""Contextual (ELMo) inputs for training: features from the cache, computed once.

With `embed.elmo_cache` (the default) every train and valid tweet missing from the feature
cache is computed before the first epoch, then each batch reads its rows from the memory-mapped
cache (`EncodedSet.features`), so epochs cost about what they cost with word vectors. Without
it (or in a dry run) the biLM runs on its inputs (`embed.elmo_input`) in every batch, as in
the study.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from tweetsent.config import RunConfig
from tweetsent.data.prepare import Prepared
from tweetsent.models.transformer import TransformerClassifier


def attach_features(
    config: RunConfig, prepared: Prepared, model: nn.Module, log: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Give `prepared.train` / `.valid` what the model's embedder reads beyond token ids.

    Returns the entries for meta.json (`{"elmo": ...}` with the biLM files' checksums), or
    nothing for word-level embedders. Call after the model is on its device: the cache is
    computed there.
    """
    if not config.embed.needs_words:
        return {}
    # lazy: h5py
    from tweetsent.embed.elmo import ElmoEmbedder, cache_features, store_root, text_keys

    name = "transformer" if config.embed.kind == "transformer" else "elmo"
    if isinstance(model, TransformerClassifier):  # fine-tuned: the encoder reads the pieces
        return {name: {**model.to_meta(), "cache": None}}
    embedder = model.embedder
    if not isinstance(embedder, ElmoEmbedder):  # TransformerEmbedder is one too
        raise TypeError(f"embed.kind = {config.embed.kind} but the embedder is {type(embedder)}")
    info = embedder.to_meta()
    if not config.embed.elmo_cache or config.train.dry_run:
        why = "dry run" if config.embed.elmo_cache else "embed.elmo_cache = false"
        log(f"{name}: features computed in every batch ({why})")
        return {name: {**info, "cache": None}}
    if prepared.train.words is None or prepared.valid.words is None:
        raise ValueError(f"{name}: the prepared data has no words (embed.needs_words)")
    words = prepared.train.words + prepared.valid.words
    progress = config.train.progress
    store, summary = cache_features(embedder, store_root(config), words, progress, log)
    for data in (prepared.train, prepared.valid):
        # both checked above; batches copy only the layers the mix reads
        keys = text_keys(data.words or [])
        data.features = store.rows(keys).pick(embedder.mix.layers)
        data.words = None  # batches read the cache from here on
    log(f"{name}: {summary.computed:,} tweets computed in {summary.seconds:.1f}s ({store.folder})")
    return {name: {**info, "cache": str(store.folder)}}
