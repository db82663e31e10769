"""What an epoch costs over cached frozen transformer features against GloVe, same head.

The 2016 protocol's data (bench/transformer/accuracy.py), the default BiLSTM(64) max-pooling
head, batch 128, 2 epochs each (features cached beforehand: the first run of a frozen row fills
the cache, so run it once before measuring); the rows alternate --rounds times so a change in
the machine's load hits each alike. Reported: the best second-epoch seconds (training +
validation scoring, as history.csv records them), wall-clock and CPU (`cpu_seconds`: this
process's threads, what the epoch computes, less sensitive than wall time to other jobs on
the machine), and their ratios to GloVe.

    python bench/transformer/epoch_cost.py [--rounds 2] [--threads 2] [--rows glove ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
from pathlib import Path

from tweetsent.config import RunConfig
from tweetsent.train import train

HERE = Path(__file__).resolve()
SPEC = importlib.util.spec_from_file_location("accuracy", HERE.parent / "accuracy.py")
acc = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(acc)

TF = {"embed.kind": "transformer", "embed.transformer": str(acc.MODEL)}
ROWS = {
    "glove": {},
    "frozen all layers": TF,
    "frozen last layer": {**TF, "embed.transformer_layers": "6"},
    "frozen all layers, proj 64": {**TF, "embed.transformer_proj": 64},
    "frozen last layer, proj 64": {
        **TF,
        "embed.transformer_layers": "6",
        "embed.transformer_proj": 64,
    },
    "frozen layer 3, proj 64": {
        **TF,
        "embed.transformer_layers": "3",
        "embed.transformer_proj": 64,
    },
}


def epoch_seconds(name: str, out: Path, threads: int) -> tuple[float, float]:
    overrides = {
        **ROWS[name],
        "data.train": [str(acc.DATA / f) for f in acc.TRAIN],
        "data.valid": [str(acc.DATA / f) for f in acc.VALID],
        "data.cache_dir": str(out / "cache"),
        "train.epochs": 2,
        "train.batch_size": 128,
        "train.early_stopping": "",
        "train.threads": threads,
        "train.progress": False,
        "out": str(out / "epoch-cost" / name.replace(" ", "-").replace(",", "")),
    }
    result = train(RunConfig().with_overrides(overrides), log=lambda _: None, resume=False)
    last = result.history[-1]
    return float(last["seconds"]), float(last["cpu_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--out", type=Path, default=acc.ROOT / "bench" / "out" / "transformer")
    args = parser.parse_args()
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        for name in args.rows:
            shutil.rmtree(args.out / "epoch-cost", ignore_errors=True)
            wall, cpu = epoch_seconds(name, args.out, args.threads)
            had = best.get(name, (wall, cpu))
            best[name] = (min(had[0], wall), min(had[1], cpu))
            print(json.dumps({"row": name, "seconds": wall, "cpu_seconds": cpu}), flush=True)
    base = best.get("glove")
    print("| head input | epoch s (best) | vs GloVe | CPU s (best) | vs GloVe |")
    print("|---|---|---|---|---|")
    for name, (wall, cpu) in best.items():
        ratios = (f"{wall / base[0]:.2f}x", f"{cpu / base[1]:.2f}x") if base else ("", "")
        print(f"| {name} | {wall:.1f} | {ratios[0]} | {cpu:.1f} | {ratios[1]} |")


if __name__ == "__main__":
    main()
