"""Files written by `tweetsent elmo pretrain` load in allennlp 2.10.1's reference unchanged.

    tweetsent elmo pretrain --corpus C --out DIR ...                       (main venv)
    PYTHONPATH=src nice -n 10 /work/scratch/allennlp-venv/bin/python \\
        bench/elmo/pretrain_parity.py DIR [DIR ...]                        (scratch venv)

For every pretraining output folder: tweetsent's `load_bilm` and allennlp's `_ElmoBiLm` read
the same `options.json` + `weights.hdf5` and embed the same sentences (those of `parity.py`:
emoji, accents, a token longer than 50 bytes, an empty sentence, lengths 0-40, plus words of
the folder's own vocabulary), fresh state per batch. Prints the max absolute difference per
layer and exits 1 if any exceeds 1e-5.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import parity
import reference
import torch


def vocab_sentences(folder: Path, count: int, seed: int = 3) -> list[list[str]]:
    words = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")[3:]
    words = [w for w in words if w] or ["x"]
    rng = random.Random(seed)
    return [[rng.choice(words) for _ in range(rng.randint(1, 30))] for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="`elmo pretrain --out` folders")
    parser.add_argument("--sentences", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ref_lib = reference.load()
    print(f"allennlp {ref_lib.version} ({ref_lib.source}), torch {torch.__version__}\n")
    print("| model folder | layer | max abs diff | max abs value |")
    print("|---|---|---|---|")
    worst = 0.0
    for folder in args.folders:
        data = parity.sentences(args.sentences) + vocab_sentences(folder, args.sentences)
        size = args.batch_size
        batches = [data[i : i + size] for i in range(0, len(data), size)]
        files = (folder / "options.json", folder / "weights.hdf5")
        rows = parity.compare(ref_lib, files, batches, False, torch.float32)
        for k, (diff, peak) in enumerate(rows):
            label = "0 (char CNN)" if k == 0 else f"{k} (LSTM {k})"
            print(f"| {folder.name} | {label} | {diff:.2e} | {peak:.2f} |")
            worst = max(worst, diff)
    print(f"\nworst difference {worst:.2e} ({'within' if worst <= 1e-5 else 'ABOVE'} 1e-5)")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
