"""Each member run's probabilities on the validation split (twitter-2016dev-A + devtest-A) or
on twitter-2016test-A, computed once and kept in OUT/probs/ (NumPy .npz: probs, labels, the
run's label names), so that ways of combining members can be compared without re-scoring the
tweets (bench/transformer/combine.py). A kept file is reused only while its run's weights
are unchanged (their SHA-256 is in the file).

    python bench/transformer/member_probs.py --split valid --members "runs/frozen-bilstm-s{seed}" \\
        --seeds 1 2 3 [--threads 1] [--out bench/out/transformer]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
SPLITS = {
    "valid": ["twitter-2016dev-A.tsv", "twitter-2016devtest-A.tsv"],
    "test": ["twitter-2016test-A.tsv"],
}


def probs_path(out: Path, member: str, split: str) -> Path:
    return out / "probs" / f"{member.replace('/', '--')}.{split}.npz"


def weights_hash(run: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "config.json"):
        path = run / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def member_probs(out: Path, member: str, split: str) -> dict[str, np.ndarray]:
    """{"probs": (n, C), "labels": (n,) ids, "names": (C,)}, computed or read back."""
    from tweetsent.data import read_examples
    from tweetsent.runs.predict import Predictor

    run = out / member
    path = probs_path(out, member, split)
    key = weights_hash(run)
    if path.exists():
        with np.load(path) as kept:
            if str(kept["key"]) == key:
                return {k: kept[k] for k in ("probs", "labels", "names")}
    examples, _ = read_examples([str(DATA / f) for f in SPLITS[split]])
    predictor = Predictor.from_run(run)
    probs = predictor.predict_proba(examples.texts).astype(np.float64)
    names = list(predictor.labels)
    labels = np.array([names.index(label) for label in examples.labels])
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(handle)
    np.savez(temp, probs=probs, labels=labels, names=np.array(names), key=np.array(key))
    os.replace(temp, path)
    return {"probs": probs, "labels": labels, "names": np.array(names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--split", choices=sorted(SPLITS), default="valid")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "transformer")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    for seed in args.seeds:
        for pattern in args.members:
            member = pattern.format(seed=seed)
            got = member_probs(args.out, member, args.split)
            right = float((got["probs"].argmax(1) == got["labels"]).mean())
            print(
                json.dumps({"member": member, "split": args.split, "accuracy": right}), flush=True
            )


if __name__ == "__main__":
    main()
