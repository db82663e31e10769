"""ELMo (Peters et al. 2018) in plain PyTorch, loading the official options.json + HDF5 files.

    bilm = load_bilm("options.json", "weights.hdf5")          # frozen, eval mode, zero state
    out = bilm(batch_to_ids([["what", "a", "day"], ["ok"]]))  # BiLmOutput
    out.layers   # (3, 2, 3, 1024) for the original model: char layer + 2 LSTM layers
    out.mask     # (2, 3) bool
    mix = ScalarMix(bilm.num_output_layers, dropout=0.5)
    vectors = mix(out.layers, out.mask)                       # (2, 3, 1024)

Modules: `chars` (character ids), `options` (options.json), `bilm` + `projected_lstm` (the
network), `weights` (HDF5 read/write), `mix` (ScalarMix), `embed` (sentences -> .npz),
`registry` (the four official English models: download, offline import, checksums),
`source` (which files, by SHA-256), `embedder` (`ElmoEmbedder`, the classifier's input),
`store` + `cache` (the float16 feature cache: build once, memory-map at training time).
"""

from tweetsent.embed.elmo.bilm import BiLmOutput, ElmoBiLm
from tweetsent.embed.elmo.cache import (
    CachePlan,
    CacheSummary,
    build_cache,
    cache_corpus,
    cache_features,
    parse_shard,
    plan_cache,
    store_root,
)
from tweetsent.embed.elmo.chars import batch_to_ids, word_to_ids
from tweetsent.embed.elmo.embed import EmbedSummary, embed_file, embed_sentences, read_sentences
from tweetsent.embed.elmo.embedder import ElmoEmbedder, bilm_features
from tweetsent.embed.elmo.mix import ScalarMix
from tweetsent.embed.elmo.options import ElmoOptions, save_options
from tweetsent.embed.elmo.source import ElmoSource, resolve_source, source_for_run
from tweetsent.embed.elmo.store import FeatureStore, merge_stores, text_keys
from tweetsent.embed.elmo.weights import (
    check_weights,
    load_bilm,
    load_weights,
    save_hdf5,
    weight_layout,
)

__all__ = [
    "BiLmOutput",
    "CachePlan",
    "CacheSummary",
    "ElmoBiLm",
    "ElmoEmbedder",
    "ElmoOptions",
    "ElmoSource",
    "EmbedSummary",
    "FeatureStore",
    "ScalarMix",
    "batch_to_ids",
    "bilm_features",
    "build_cache",
    "cache_corpus",
    "cache_features",
    "check_weights",
    "embed_file",
    "embed_sentences",
    "load_bilm",
    "load_weights",
    "merge_stores",
    "parse_shard",
    "plan_cache",
    "read_sentences",
    "resolve_source",
    "save_hdf5",
    "save_options",
    "source_for_run",
    "store_root",
    "text_keys",
    "weight_layout",
    "word_to_ids",
]
