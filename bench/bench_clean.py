"""Cleaning benchmark: normalizer speed on one core, and `tokenize_corpus` on a synthetic corpus
(first run: clean + tokenize + write the cache; second run: cache hit).

    nice -n 10 python bench/bench_clean.py [--n 1200000] [--workers 0] [--dry-run]

Target: >= 15,000 tweets/s on one core; 1.2 million tweets in <= 60 s on two cores, the cached
second call in a few seconds. `run(n, workers)` returns the numbers as a dict.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from tweetsent.config import TextConfig
from tweetsent.parallel import usable_cpus
from tweetsent.text import Normalizer, tokenize_corpus
from tweetsent.text.normalize import MEMO_SIZE

try:
    from synth import make_corpus
except ImportError:  # imported as bench.bench_clean
    from bench.synth import make_corpus

SAMPLE = 50_000  # tweets for the one-core measurement


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def one_core(texts: list[str], config: TextConfig) -> dict[str, float]:
    """Tweets per CPU-second of one normalizer: fresh (memo filling up) and without memo.

    CPU time, not wall time, so that other work on a shared machine does not count."""
    sample = texts[:SAMPLE]
    rates = {}
    for name, memo_size in (("per_core_tweets_s", MEMO_SIZE), ("per_core_no_memo_tweets_s", 0)):
        normalizer = Normalizer(config, memo_size=memo_size)
        start = time.process_time()
        for text in sample:
            normalizer.tokenize(text)
        rates[name] = len(sample) / (time.process_time() - start)
    return rates


def run(
    n: int = 1_200_000, workers: int = 0, seed: int = 0, cache_dir: str | Path | None = None
) -> dict:
    """Generate `n` tweets, tokenize them twice through the cache; timings in seconds."""
    config = TextConfig()
    start = time.perf_counter()
    texts, _ = make_corpus(n, seed=seed)
    result: dict = {
        "n": n,
        "workers": workers or usable_cpus(),
        "synth_s": time.perf_counter() - start,
    }
    result.update(one_core(texts, config))
    with tempfile.TemporaryDirectory(prefix="tweetsent-bench-") as tmp:
        folder = Path(cache_dir) if cache_dir else Path(tmp)
        start, cpu = time.perf_counter(), cpu_seconds()
        tokens = tokenize_corpus(texts, config, workers=workers, progress=False, cache_dir=folder)
        result["first_s"] = time.perf_counter() - start
        result["first_cpu_s"] = cpu_seconds() - cpu
        start = time.perf_counter()
        again = tokenize_corpus(texts, config, workers=workers, progress=False, cache_dir=folder)
        result["cached_s"] = time.perf_counter() - start
        result["cache_mb"] = sum(p.stat().st_size for p in folder.rglob("*.npz")) / 1e6
    result["tokens"] = sum(map(len, tokens))
    result["same_after_cache"] = tokens == again
    result["first_tweets_s"] = n / result["first_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_200_000)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="20,000 tweets only")
    args = parser.parse_args()
    r = run(20_000 if args.dry_run else args.n, args.workers, args.seed)
    rows = [
        ("tweets", f"{r['n']:,}"),
        ("workers", r["workers"]),
        ("synthetic corpus", f"{r['synth_s']:.1f} s"),
        ("one core, fresh normalizer", f"{r['per_core_tweets_s']:,.0f} tweets/CPU-s"),
        ("one core, no memo (worst case)", f"{r['per_core_no_memo_tweets_s']:,.0f} tweets/CPU-s"),
        (
            "first run (clean+tokenize+cache)",
            f"{r['first_s']:.1f} s  ({r['first_tweets_s']:,.0f} tweets/s)",
        ),
        ("first run, CPU time (all processes)", f"{r['first_cpu_s']:.1f} s"),
        ("second run (cache hit)", f"{r['cached_s']:.1f} s"),
        ("cache file", f"{r['cache_mb']:.0f} MB"),
        ("tokens", f"{r['tokens']:,}"),
        ("cache hit equals first run", r["same_after_cache"]),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
