"""The README's main job: get the SemEval-2017 4A data, train the default model, evaluate it.

    python -m tweetsent.demo [--out runs/demo] [--epochs N] [--dry-run]

Data: imported from ../shared/data/semeval2017-task4a when that folder exists (offline), else
downloaded from the public mirror with checksums verified. Trains on every file but
twitter-2016test-A.tsv (a stratified 10% held out for validation), reports on twitter-2016test-A.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tweetsent.config import RunConfig
from tweetsent.errors import TweetsentError

SHARED = Path("../shared/data/semeval2017-task4a")
EXAMPLES = [
    "I love this new phone, best purchase ever :)",
    "worst customer service I've ever had. never again",
    "The meeting is moved to 3pm on Tuesday",
    "not bad at all, actually pretty good!",
    "@united lost my bag again... thanks a lot #fail",
]


def get_data() -> tuple[list[str], list[str]]:
    from tweetsent.data import registry

    name = "semeval2017-4a"
    if not all(p.is_file() for p in registry.dataset_files(name)):
        if SHARED.is_dir():
            print(f"importing {name} from {SHARED}")
            registry.import_local(name, SHARED)
        else:
            print(f"downloading {name}")
            registry.fetch(name)
    train = [str(p) for p in registry.dataset_files(name, "train")]
    test = [str(p) for p in registry.dataset_files(name, "test")]
    return train, test


def run(out: str, epochs: int | None, dry_run: bool, progress: bool) -> dict:
    from tweetsent.runs.evaluate import evaluate
    from tweetsent.runs.predict import Predictor
    from tweetsent.train import train

    train_files, test_files = get_data()
    config = RunConfig().with_overrides(
        {
            "data.train": train_files,
            "out": out,
            "train.epochs": epochs,
            "train.dry_run": dry_run or None,
            "train.progress": progress,
        }
    )
    result = train(config)
    predictor = Predictor.from_run(result.run_dir)
    test = evaluate(predictor, test_files, out=Path(out) / "test_metrics.json")
    print(f"\ntest ({', '.join(Path(f).name for f in test_files)}, {test.examples:,} tweets):")
    print(test.table())
    print("\nexample predictions:")
    for pred in predictor.predict(EXAMPLES):
        probs = " ".join(f"{k}={v:.2f}" for k, v in pred.probs.items())
        print(f"  {pred.label:>8}  [{probs}]  {pred.text}")
    return test.metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tweetsent.demo", description=__doc__)
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        metrics = run(args.out, args.epochs, args.dry_run, not args.no_progress)
    except TweetsentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: round(v, 4) for k, v in metrics.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
