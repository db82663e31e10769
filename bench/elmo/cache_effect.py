"""The training-time effect of the ELMo feature cache (issue 4), in one run on this machine:
epoch time with cached ELMo features vs ELMo recomputed in every batch, and with 50-d GloVe
for reference.

    PYTHONPATH=src nice -n 15 python bench/elmo/cache_effect.py [--tweets 3000] [--epochs 2]

A biLM with the shape of the official "small" model (2048 char-CNN filters, 1 highway, LSTM
1024 cells projected to 128, 2 layers; random weights written in the official HDF5 layout),
the first N tweets of SemEval 2016 train (10% held out for validation), the default classifier
(BiLSTM(64), max pooling, batch 128), one torch thread. Each setting trains through the real
`train(config)`; an epoch's time is the loop's own (training + the validation pass). Random
256-d word vectors with dropout 0.5 show what ELMo's wider input and its usual dropout cost
without ELMo. (The weights are random, so the scores mean nothing and are not shown.)
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

from tweetsent.config import RunConfig
from tweetsent.embed.elmo import ElmoBiLm, save_hdf5
from tweetsent.embed.elmo.registry import official_options
from tweetsent.train import train

SEMEVAL = Path(__file__).resolve().parents[3] / "shared/data/semeval2017-task4a"


def write_model(folder: Path) -> tuple[Path, Path]:
    options = official_options(lstm_dim=1024, projection_dim=128, n_highway=1)  # "small"
    torch.manual_seed(0)
    options.save(folder / "options.json")
    save_hdf5(ElmoBiLm(options), folder / "weights.hdf5")
    return folder / "options.json", folder / "weights.hdf5"


def write_tweets(source: Path, dest: Path, count: int) -> int:
    lines = source.read_text(encoding="utf-8").splitlines()[:count]
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def run(name: str, overrides: dict, base: dict, work: Path) -> dict:
    lines: list[str] = []
    started = time.perf_counter()
    config = RunConfig().with_overrides({**base, **overrides, "out": str(work / name)})
    result = train(config, log=lines.append)
    total = time.perf_counter() - started
    epochs = [row["seconds"] for row in result.history]
    cached = overrides.get("embed.kind") == "elmo" and overrides.get("embed.elmo_cache", True)
    done = [m for line in lines if (m := re.match(r"elmo: .* computed in ([\d.]+)s", line))]
    cache_s = float(done[0].group(1)) if done else None
    folders = list((work / "cache" / "elmo-features").glob("*"))
    disk = sum(p.stat().st_size for f in folders for p in f.iterdir())
    return {
        "name": name,
        "epochs": epochs,
        "cache_s": cache_s if cached else None,
        "disk_mb": disk / 1e6 if cached else None,
        "total_s": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not SEMEVAL.is_dir():
        sys.exit(f"{SEMEVAL} not found")
    with tempfile.TemporaryDirectory(prefix="tweetsent-elmo-cache-") as tmp:
        work = Path(tmp)
        options, weights = write_model(work)
        n = write_tweets(SEMEVAL / "twitter-2016train-A.tsv", work / "tweets.tsv", args.tweets)
        base = {
            "data.train": [str(work / "tweets.tsv")],
            "data.workers": 1,
            "data.cache_dir": str(work / "cache"),
            "train.epochs": args.epochs,
            "train.threads": args.threads,
            "train.progress": False,
            "train.early_stopping": "",
        }
        elmo = {
            "embed.kind": "elmo",
            "embed.elmo_options": str(options),
            "embed.elmo_weights": str(weights),
        }
        rows = [
            run("glove-kumo 50d", {"embed.kind": "glove-kumo"}, base, work),
            run(
                "random 256d, dropout 0.5 (the ELMo's width and dropout)",
                {"embed.kind": "random", "embed.dim": 256, "embed.dropout": 0.5},
                base,
                work,
            ),
            run("elmo, cached", elmo, base, work),
            run("elmo, cached (cache already built)", elmo, base, work),
            run("elmo, recomputed every batch", {**elmo, "embed.elmo_cache": False}, base, work),
        ]
    print(
        f"{n} SemEval 2016 train tweets, {args.epochs} epochs, {args.threads} torch thread(s), "
        f"torch {torch.__version__}, {platform.machine()}"
    )
    print("| input | epoch 1 s | epoch 2.. s (mean) | one-off cache s | cache on disk |")
    print("|---|---|---|---|---|")
    for row in rows:
        later = row["epochs"][1:] or row["epochs"]
        cache = "" if row["cache_s"] is None else f"{row['cache_s']:.1f}"
        disk = "" if row["disk_mb"] is None else f"{row['disk_mb']:.0f} MB"
        print(
            f"| {row['name']} | {row['epochs'][0]:.1f} | {sum(later) / len(later):.1f} | "
            f"{cache} | {disk} |"
        )


if __name__ == "__main__":
    main()
