"""Peak memory of the pretraining corpus stream on a 1.2-million-tweet corpus (bench only).

    nice -n 10 python bench/elmo/pretrain_memory.py --tweets 1200000 --work /tmp/lm-mem

Writes a synthetic corpus (SemEval-like tweets: words of a 200k-word Zipfian lexicon plus a
per-line unique id token, so the count table is large) into --work, then runs the vocabulary
pass, the block index and one full epoch of training batches (no model: blocks of 4096
sentences visited in a seeded random order, 4 mixed at a time), and prints the peak RSS of each
phase.
The model's own memory is separate (see docs/elmo-pretrain.md).
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from pathlib import Path

from tweetsent.pretrain.data import CorpusSpec, build_vocab, corpus_blocks, iter_batches


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_corpus(path: Path, tweets: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    lexicon = [f"w{i}" for i in range(200_000)]
    weights = [1.0 / (i + 1) for i in range(len(lexicon))]
    with open(path, "w", encoding="utf-8") as handle:
        for start in range(0, tweets, 10_000):
            block = rng.choices(lexicon, weights, k=10_000 * 18)
            for j in range(min(10_000, tweets - start)):
                words = block[j * 18 : j * 18 + rng.randint(5, 18)]
                handle.write(f"@user{start + j} {' '.join(words)} #tag{(start + j) % 5000}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tweets", type=int, default=1_200_000)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = args.work / "corpus.txt"
    if not corpus.is_file():
        write_corpus(corpus, args.tweets)
    print(f"corpus {corpus.stat().st_size / 1e6:.0f} MB, start RSS {peak_mb():.0f} MB")
    spec = CorpusSpec((str(corpus),))
    start = time.perf_counter()
    vocab, stats = build_vocab(spec, max_size=50_000)
    print(
        f"vocabulary pass: {stats.sentences:,} sentences, {stats.distinct:,} distinct tokens, "
        f"{time.perf_counter() - start:.0f}s, peak RSS {peak_mb():.0f} MB"
    )
    start = time.perf_counter()
    blocks = corpus_blocks(spec, 4096)
    print(
        f"block index: {len(blocks):,} blocks, {time.perf_counter() - start:.0f}s, "
        f"peak RSS {peak_mb():.0f} MB"
    )
    start = time.perf_counter()
    batches = sum(1 for _ in iter_batches(spec, 32, 4096, seed=0, epoch=0, blocks=blocks))
    print(
        f"one epoch of batches: {batches:,}, {time.perf_counter() - start:.0f}s, "
        f"peak RSS {peak_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
