"""A synthetic tweet corpus of any size, for benchmarks: the shared SemEval-2017 4A tweets
resampled and perturbed (word drops and swaps, case changes, elongations, emoji, hashtag,
mention and URL insertions), deterministically from a seed.

    texts, labels = make_corpus(1_200_000, seed=0)

Reads the TSV files itself (`id<TAB>label<TAB>text[<TAB>...]`, text maybe "quoted" with ""
doubled quotes, literal \\uXXXX escapes, CRLF) so it does not depend on `tweetsent.data`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

SOURCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"

EMOJI = ["😂", "❤️", "😍", "😭", "👍🏽", "🔥", "🙏", "😊", "😡", "👨‍👩‍👧", "🇺🇸", "💔", "😂😂😂"]
EMOTICONS = [":)", ":(", ":D", ";)", ":-(", "<3", "xD", ":'(", "^_^", ":P"]
HASHTAGS = ["#happy", "#fail", "#win", "#mondays", "#love", "#sad", "#tbt", "#nofilter"]
PUNCT = ["!!!", "???", "...", "!?", "!!!!!!"]

# Perturbations and their probability (percent) per tweet.
DROP, SWAP, CASE, ELONG, EMOJI_OP, TAG, MENTION, URL, EXTRA = range(9)
PERCENT = np.array([20, 15, 20, 15, 20, 15, 15, 10, 20], dtype=np.uint8)

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def read_pool(source_dir: str | Path = SOURCE_DIR) -> tuple[list[str], list[str]]:
    """(texts, labels) of every row of every *.tsv file in `source_dir`."""
    files = sorted(Path(source_dir).glob("*.tsv"))
    if not files:
        raise FileNotFoundError(f"{source_dir}: no *.tsv files (the shared SemEval data)")
    texts, labels = [], []
    for path in files:
        with open(path, encoding="utf-8", newline="") as handle:
            for line in handle:
                parts = line.rstrip("\r\n").split("\t")
                if len(parts) < 3 or not parts[2].strip():
                    continue
                texts.append(_clean(parts[2]))
                labels.append(parts[1].strip())
    return texts, labels


def _clean(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    elif text.startswith('"'):
        text = text[1:]
    if "\\u" in text:
        text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def make_corpus(
    n: int, seed: int = 0, source_dir: str | Path = SOURCE_DIR
) -> tuple[list[str], list[str]]:
    """`n` perturbed resamples of the SemEval tweets and their labels (same seed, same corpus)."""
    pool, pool_labels = read_pool(source_dir)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(pool), n).tolist()
    ops = (rng.integers(0, 100, (n, len(PERCENT)), dtype=np.uint8) < PERCENT).tolist()
    rand = rng.integers(0, 1 << 30, (n, 2)).tolist()
    texts = [_perturb(pool[p], o, r) for p, o, r in zip(picks, ops, rand, strict=True)]
    return texts, [pool_labels[p] for p in picks]


def _perturb(text: str, ops: list[bool], rand: list[int]) -> str:
    """Apply the chosen perturbations; `rand` supplies positions and choices."""
    a, b = rand
    if ops[DROP] or ops[SWAP] or ops[ELONG]:
        words = text.split(" ")
        k = a % len(words)
        if ops[ELONG] and words[k][-1:].isalpha():
            words[k] += words[k][-1] * (2 + b % 5)
        if ops[SWAP] and len(words) > 2:
            j = b % (len(words) - 1)
            words[j], words[j + 1] = words[j + 1], words[j]
        if ops[DROP] and len(words) > 3:
            del words[(a + b) % len(words)]
        text = " ".join(words)
    if ops[CASE]:
        text = (text.upper(), text.lower(), text.title())[b % 3]
    if ops[EMOJI_OP]:
        pick = (EMOJI + EMOTICONS)[a % (len(EMOJI) + len(EMOTICONS))]
        text = f"{pick} {text}" if b & 1 else f"{text} {pick}"
    if ops[TAG]:
        text = f"{text} {HASHTAGS[b % len(HASHTAGS)]}"
    if ops[MENTION]:
        text = f"@user{a % 5000} {text}"
    if ops[URL]:
        text = f"{text} http://t.co/{a:x}{b:x}"
    if ops[EXTRA]:
        text = f"{text}{PUNCT[b % len(PUNCT)]}"
    return text
