"""Read speed of `tweetsent.data.read_examples`: the shared SemEval folder, and a generated
Sentiment140-sized CSV (1.6M rows, latin-1) and SemEval-style TSV.

    nice -n 10 python bench/data_read_speed.py [--rows 1600000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from tweetsent.data import apply_labels, read_examples

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"
WORDS = [
    "good",
    "bad",
    "day",
    "love",
    "hate",
    "the",
    "a",
    "my",
    "is",
    "so",
    "not",
    "really",
    "@user",
    "#tag",
    "http://t.co/x",
    "caf\u00e9",
    "na\u00efve",
    ":)",
    ":(",
]


def timed(label: str, paths: list[Path], fmt: str = "auto", repeat: int = 3) -> None:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        ex, report = read_examples(paths, format=fmt)
        apply_labels(ex, "3class")
        best = min(best, time.perf_counter() - start)
    mb = sum(p.stat().st_size for p in paths) / 1e6
    print(
        f"{label}: {len(ex):,} rows, {mb:.1f} MB, best of {repeat}: {best:.2f} s "
        f"({len(ex) / best:,.0f} rows/s, {mb / best:.1f} MB/s; read + labels)"
    )


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    rng = random.Random(0)
    csv_path, tsv_path = folder / "s140.csv", folder / "big.tsv"
    with open(csv_path, "w", encoding="latin-1") as c, open(tsv_path, "w", encoding="utf-8") as t:
        for i in range(rows):
            text = " ".join(rng.choices(WORDS, k=rng.randint(5, 20)))
            pol = rng.choice("04")
            c.write(f'"{pol}","{i}","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u{i}","{text}"\n')
            t.write(f"{i}\t{'negative' if pol == '0' else 'positive'}\t{text}\n")
    return csv_path, tsv_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_600_000)
    args = parser.parse_args()
    if SHARED.is_dir():
        timed("semeval folder", sorted(SHARED.glob("*.tsv")))
    else:
        print(f"{SHARED} not found: skipping the SemEval folder")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, tsv_path = generate(Path(tmp), args.rows)
        timed("sentiment140-like csv", [csv_path], repeat=1)
        timed("semeval-like tsv", [tsv_path], repeat=1)


if __name__ == "__main__":
    main()
