"""Per-vocabulary tables: hashed character n-grams, word-cluster ids, lexicon columns."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib

import numpy as np

from tweetsent.config import RunConfig
from tweetsent.lexicons import Lexicon
from tweetsent.models.tables import (
    CHAR_WIDTH,
    CLUSTER_COLUMNS,
    char_ngram_table,
    cluster_ids,
    vocab_tables,
)

BUCKETS = 1 << 20


def _ids(grams: list[str], buckets: int = BUCKETS) -> list[int]:
    return [1 + zlib.crc32(g.encode("utf-8")) % (buckets - 1) for g in grams]


def test_char_ngrams_are_crc32_ids_of_the_framed_word_shortest_first():
    table = char_ngram_table(["<pad>", "<unk>", "ab"], BUCKETS)
    assert table.dtype == np.int32 and table.shape == (3, CHAR_WIDTH)
    grams = [" a", "ab", "b ", " ab", "ab ", " ab "]  # 2-grams, 3-grams, the 4-gram; no 5-gram
    assert table[2].tolist() == _ids(grams) + [0] * (CHAR_WIDTH - len(grams))


def test_char_ngram_ids_are_the_same_in_another_process():
    """CRC-32, not Python's salted hash(): a saved model's ids hold on every machine."""
    code = (
        "from tweetsent.models.tables import char_ngram_table;"
        "print(char_ngram_table(['<pad>', '<unk>', 'héllo', ':)'], 1000).tolist())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    here = char_ngram_table(["<pad>", "<unk>", "héllo", ":)"], 1000).tolist()
    assert outputs == {f"{here}\n"}


def test_placeholders_and_specials_have_no_char_ngrams_and_repeats_count_once():
    tokens = ["<pad>", "<unk>", "<url>", "<hashtag>", "<3", "aaaa", "é"]
    table = char_ngram_table(tokens, BUCKETS)
    assert not table[:4].any()  # <pad>, <unk>, <url>, <hashtag>
    assert (table[4] > 0).sum() > 0  # the emoticon <3 is a word
    distinct = [" a", "aa", "a ", " aa", "aaa", "aa ", " aaa", "aaaa", "aaa ", " aaaa", "aaaa "]
    assert table[5].tolist() == _ids(distinct) + [0] * (CHAR_WIDTH - len(distinct))
    assert table[6].tolist()[:3] == _ids([" é", "é ", " é "])  # UTF-8, not bytes
    assert ((table >= 0) & (table < BUCKETS)).all()


def test_long_words_keep_the_first_char_width_ngrams():
    word = "abcdefghijklmnopqrstuvwxyz"
    framed = f" {word} "
    grams = [framed[s : s + n] for n in range(2, 6) for s in range(len(framed) - n + 1)]
    assert len(grams) > CHAR_WIDTH
    table = char_ngram_table(["<pad>", "<unk>", word], 97)
    assert table[2].tolist() == _ids(grams[:CHAR_WIDTH], 97)
    assert ((table[2] >= 1) & (table[2] < 97)).all()


CLUSTERS = {
    "lol": "11110000101",
    "lmao": "11110000101",  # the same cluster as lol
    "haha": "1111000011",  # shares lol's 4- and 8-bit prefixes
    "sad": "0010",  # no prefix shorter than the path itself
    "x": "01",
}


def test_cluster_ids_share_clusters_and_prefixes_and_zero_is_none():
    tokens = ["<pad>", "<unk>", "lol", "lmao", "haha", "sad", "x", "table"]
    table, count = cluster_ids(tokens, CLUSTERS)
    assert table.dtype == np.int64 and table.shape == (8, CLUSTER_COLUMNS)
    assert table.tolist() == [
        [0, 0, 0, 0],  # <pad>
        [0, 0, 0, 0],  # <unk>
        [1, 2, 3, 0],  # lol: path, 4-bit, 8-bit prefixes (no 12-bit: 11 bits)
        [1, 2, 3, 0],  # lmao: lol's cluster, the same ids
        [4, 2, 3, 0],  # haha: its own path, lol's prefixes
        [5, 0, 0, 0],  # sad: 4 bits, no shorter prefix
        [6, 0, 0, 0],  # x
        [0, 0, 0, 0],  # table: in no cluster
    ]
    assert count == 6
    long_bits = {"w": "1" * 13}
    assert cluster_ids(["<pad>", "<unk>", "w"], long_bits)[0][2].tolist() == [1, 2, 3, 4]
    assert cluster_ids(["<pad>", "<unk>", "table"], CLUSTERS)[1] == 0  # only the vocab's ids


def test_vocab_tables_hold_what_the_config_uses():
    lexicons = [
        Lexicon("a", {"good": 0.5, "#win": 1.0}, "a.txt", "score"),
        Lexicon("b", {"good": -0.25, "lol": 0.0}, "b.txt", "score"),
    ]
    tokens = ["<pad>", "<unk>", "good", "<hashtag>", "win", "lol"]
    rnn = RunConfig()
    tables = vocab_tables(rnn, tokens, lexicons, CLUSTERS)
    assert tables.hashtag_id == 3 and tables.char_ngrams is None  # an RNN reads no n-grams
    assert tables.word_features.dtype == np.float32
    assert tables.word_features.tolist() == [  # [score, in-lexicon] per lexicon
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0.5, 1, -0.25, 1],
        [0, 0, 0, 0],
        [0, 0, 0, 0],  # win: only #win is in lexicon a
        [0, 0, 0, 1],  # lol: in lexicon b with a score of 0
    ]
    assert tables.lexicon["hashtag_scores"][4].tolist() == [1.0, 0.0]
    assert tables.num_clusters == 3 and tables.clusters[5].tolist() == [1, 2, 3, 0]
    ngram = rnn.with_overrides({"model.kind": "ngram", "model.ngram_buckets": 64})
    plain = vocab_tables(ngram, tokens)
    assert plain.lexicon is None and plain.word_features is None and plain.clusters is None
    assert plain.hashtag_id == -1 and plain.char_ngrams.shape == (6, CHAR_WIDTH)
    assert plain.char_ngrams.max() < 64
    no_chars = ngram.with_overrides({"model.ngram_chars": False})
    assert vocab_tables(no_chars, tokens).char_ngrams is None
