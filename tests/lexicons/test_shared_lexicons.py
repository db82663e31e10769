"""The real lexicon and cluster files of ../shared/data/lexicons (development machines only):
every file loads, in the format expected, with the entry counts of that folder's README."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tweetsent.lexicons import (
    cluster_table,
    load_clusters,
    load_lexicons,
    tweet_features,
    tweet_features_from_ids,
    vocab_arrays,
)
from tweetsent.text import Normalizer

LEXICONS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lexicons"

# file -> (format, rows as the README counts them, distinct terms)
EXPECTED = {
    "Sentiment140-Lexicon-v0.1-unigrams-pmilexicon.txt.gz": ("pmi", 62_468, 62_468),
    "NRC-Hashtag-Sentiment-Lexicon-v0.1-unigrams-pmilexicon.txt.gz": ("pmi", 54_129, 54_129),
    # envious, enviously, enviousness are listed positive, then negative: the first wins
    "BingLiu.csv.gz": ("polarity", 6_789, 6_786),
    # MPQA lists a word once per part of speech (8,221 rows, 6,885 words)
    "mpqa.txt.gz": ("polarity", 8_221, 6_885),
    "NRC-emotion-lexicon-wordlevel-v0.92.txt.gz": ("emolex", 14_182 * 10, 14_182),
    "AFINN-en-165.txt.gz": ("score", 3_382, 3_382),
    "AFINN-emoticon-8.txt.gz": ("score", 96, 96),
}


@pytest.mark.shared_data
def test_real_lexicons_and_clusters_load_with_the_readme_counts() -> None:
    if not LEXICONS.is_dir():
        pytest.skip(f"{LEXICONS} not found (the shared lexicons are only on development machines)")
    lexicons = load_lexicons([str(LEXICONS / name) for name in EXPECTED])
    for (name, (fmt, rows, distinct)), lexicon in zip(EXPECTED.items(), lexicons, strict=True):
        with gzip.open(LEXICONS / name, "rt", encoding="utf-8") as handle:
            assert sum(1 for line in handle if line.strip()) == rows, name
        assert (lexicon.format, len(lexicon.scores)) == (fmt, distinct), name
        assert lexicon.name == name.removesuffix(".gz").rsplit(".", 1)[0]
        assert max(abs(s) for s in lexicon.scores.values()) == 1.0, name
    s140, hashtag, bing, mpqa, emolex, afinn, _ = lexicons
    assert s140.scores["good"] == pytest.approx(0.825 / 5) and "#" in s140.scores
    assert hashtag.scores["#fabulous"] == 1.0
    assert bing.scores["envious"] == 1.0 and mpqa.scores["abandoned"] == -1.0
    assert (emolex.scores["happy"], emolex.scores["smut"], emolex.scores["nape"]) == (1, -1, 0)
    assert afinn.scores["breathtaking"] == 1.0

    clusters = load_clusters(LEXICONS / "50mpaths2.txt.gz")
    assert len(clusters) == 216_856 and len(cluster_table(clusters)) == 1_000

    tokens = Normalizer().tokenize("I don't like it... but #fabulous :) not #happy, http://t.co/x")
    vocab = sorted(set(tokens))
    arrays = vocab_arrays(vocab, lexicons)
    ids = [vocab.index(token) for token in tokens]
    features = tweet_features(tokens, lexicons)
    assert features.shape == (16 * len(lexicons),) and features.any()
    assert np.array_equal(features, tweet_features_from_ids(ids, arrays, vocab.index("<hashtag>")))
