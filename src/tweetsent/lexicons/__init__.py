"""Sentiment lexicons, Twitter word clusters and NRC-Canada tweet-level lexicon features.

    from tweetsent.lexicons import load_lexicons, tweet_features, feature_names
    lexicons = load_lexicons(["vader", "pmi:Sentiment140-Lexicon-v0.1-unigrams-pmilexicon.txt.gz"])
    features = tweet_features(tokens, lexicons)   # (16 * len(lexicons),) float32

- `formats`: `load_lexicon(spec) -> Lexicon` for the formats of Mohammad et al. 2013
  (NRC-Canada): `score`, `polarity`, `pmi`, `emolex`; builtins `vader`, `afinn`.
- `clusters`: the CMU Twitter word clusters of Owoputi et al. 2013 (`load_clusters`).
- `tweet`: negation scope, hashtag-aware lookup and the 16 features per lexicon, from tokens
  (`tweet_features`) or from vocabulary ids (`vocab_arrays`, `tweet_features_from_ids`).

Reads files the user gives; no lexicon is bundled. Imports numpy, the standard library,
`tweetsent.errors` and `tweetsent.text`'s token constants only.
"""

from tweetsent.lexicons.clusters import cluster_table, load_clusters
from tweetsent.lexicons.formats import (
    BUILTIN,
    FORMATS,
    Lexicon,
    detect_format,
    load_lexicon,
    load_lexicons,
)
from tweetsent.lexicons.tweet import (
    CLAUSE_END,
    CONTEXTS,
    FEATURES_PER_LEXICON,
    NEGATORS,
    STATS,
    feature_names,
    lexicon_lookup,
    negation_scope,
    tweet_features,
    tweet_features_from_ids,
    vocab_arrays,
)

__all__ = [
    "BUILTIN",
    "CLAUSE_END",
    "CONTEXTS",
    "FEATURES_PER_LEXICON",
    "FORMATS",
    "NEGATORS",
    "STATS",
    "Lexicon",
    "cluster_table",
    "detect_format",
    "feature_names",
    "lexicon_lookup",
    "load_clusters",
    "load_lexicon",
    "load_lexicons",
    "negation_scope",
    "tweet_features",
    "tweet_features_from_ids",
    "vocab_arrays",
]
