"""Accuracy on SemEval-2017 Task 4A: tweetsent models against classic baselines.

Trains on every shared file but twitter-2016test-A.tsv (10% stratified hold-out for validation),
reports AvgRec, F1-PN and accuracy on twitter-2016test-A.tsv for:

  (a) the default model (`RunConfig()` as shipped), over --seeds seeds; the same model with
      VADER lexicon word features (`embed.lexicon = "vader"`); the hyperparameter search's
      choice (configs/search-best.toml, chosen under the 2016 protocol of docs/search.md)
  (b) the study's feed-forward baseline (mean GloVe embeddings -> MLP)
  (c) TF-IDF (word 1-2 grams) + logistic regression
  (d) VADER (lexicon; compound >= 0.05 positive, <= -0.05 negative, else neutral)

    python bench/accuracy.py [--seeds 3] [--out bench/out/accuracy] [--markdown docs/results.md]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tweetsent.config import RunConfig
from tweetsent.data import read_examples
from tweetsent.data.labels import apply_labels
from tweetsent.metrics import compute_metrics
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.train import train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"
BEST = Path(__file__).resolve().parents[1] / "configs" / "search-best.toml"
TEST = "twitter-2016test-A.tsv"
LABELS = ["negative", "neutral", "positive"]
KEYS = ("avgrec", "f1_pn", "accuracy")


def split_files(folder: Path) -> tuple[list[str], list[str]]:
    files = sorted(folder.glob("twitter-*-A.tsv"))
    return [str(f) for f in files if f.name != TEST], [str(folder / TEST)]


def labelled(paths: list[str]) -> tuple[list[str], list[int]]:
    examples, _ = read_examples(paths)
    examples, _ = apply_labels(examples, "3class")
    return examples.texts, [LABELS.index(label) for label in examples.labels]


def tweetsent_model(name: str, overrides: dict, train_files, test_files, out: Path, seed: int):
    base = overrides.pop("config", None)
    config = (RunConfig.from_toml(base) if base else RunConfig()).with_overrides(
        {
            "data.train": train_files,
            "out": str(out / f"{name}-seed{seed}"),
            "train.seed": seed,
            "train.progress": False,
            "train.threads": 1,  # one thread: many times faster on a busy 2-core machine
            **overrides,
        }
    )
    start = time.perf_counter()
    result = train(config, log=lambda line: print(f"  [{name} seed {seed}] {line}"))
    seconds = time.perf_counter() - start
    test = evaluate(Predictor.from_run(result.run_dir), test_files)
    return {**test.metrics, "seconds": seconds, "best_epoch": result.best_epoch}


def tfidf_logreg(train_files, test_files) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    x_train, y_train = labelled(train_files)
    x_test, y_test = labelled(test_files)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(max_iter=2000, C=1.0, class_weight="balanced")
    model.fit(vectorizer.fit_transform(x_train), y_train)
    return compute_metrics(y_test, model.predict(vectorizer.transform(x_test)), LABELS)


def vader(test_files) -> dict:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    texts, truth = labelled(test_files)
    pred = [vader_label(analyzer.polarity_scores(t)["compound"]) for t in texts]
    return compute_metrics(truth, pred, LABELS)


def vader_label(compound: float) -> int:
    return 2 if compound >= 0.05 else 0 if compound <= -0.05 else 1


def summarise(runs: list[dict]) -> dict:
    out = {}
    for key in (*KEYS, "best_epoch", "seconds"):
        values = [r[key] for r in runs]
        out[key] = statistics.mean(values)
        out[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
    out["n"] = len(runs)
    return out


def markdown(rows: dict[str, dict]) -> str:
    lines = [
        "| model | AvgRec | F1-PN | accuracy | seeds | train time |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        cells = [
            f"{r[k]:.4f}" + (f" ± {r[k + '_sd']:.4f}" if r.get("n", 1) > 1 else "") for k in KEYS
        ]
        seconds = f"{r['seconds']:.0f} s" if "seconds" in r else "-"
        lines.append(f"| {name} | {' | '.join(cells)} | {r.get('n', '-')} | {seconds} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out/accuracy"))
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} not found: this benchmark needs the SemEval files")
    train_files, test_files = split_files(args.data)
    rows: dict[str, dict] = {}
    models = {
        "default model (BiLSTM)": {},
        "default+lexicon (VADER word scores)": {"embed.lexicon": "vader"},
        "search-best (configs/search-best.toml)": {"config": str(BEST)},
        "feed-forward baseline": {"model.kind": "feedforward"},
    }
    for name, overrides in models.items():
        runs = [
            tweetsent_model(name.split()[0], dict(overrides), train_files, test_files, args.out, s)
            for s in range(1, args.seeds + 1)
        ]
        rows[name] = summarise(runs)
    rows["TF-IDF + logistic regression"] = tfidf_logreg(train_files, test_files)
    rows["VADER"] = vader(test_files)
    table = markdown(rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.json").write_text(json.dumps(rows, indent=2))
    (args.out / "accuracy.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
