"""Ways of combining ensemble members, compared on validation only, from the probabilities
bench/transformer/member_probs.py keeps (no tweet is re-scored).

Each rule is fitted on one half of the validation split (twitter-2016dev-A) and scored on the
other (twitter-2016devtest-A), then the other way round; the mean of the two held-out AvgRecs
is the rule's figure, so a rule that merely fits its validation tweets harder (AvgRec-fitted
weights, class offsets) gains nothing here unless it generalises. With --test, the rule is also
fitted on the whole validation split and scored on twitter-2016test-A (reported, never used to
choose).

    python bench/transformer/combine.py --seeds 1 2 3 \\
        --members "recipe-s{seed}/members/finetuned" \\
        "runs/frozen-bilstm-s{seed}" "recipe-s{seed}/members/ngram" "recipe-s{seed}/members/bilstm"
    # two seeds of one member: {next} is the next of --seeds (the last's is the first)
    python bench/transformer/combine.py --seeds 1 2 3 --rules "linear, uniform" \
        --members "recipe-s{seed}/members/finetuned" "recipe-s{next}/members/finetuned"
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
from pathlib import Path

import numpy as np

from tweetsent.metrics import compute_metrics
from tweetsent.runs.ensemble import grid_steps, simplex_grid, weighted_nll

HERE = Path(__file__).resolve()
SPEC = importlib.util.spec_from_file_location("member_probs", HERE.parent / "member_probs.py")
mp = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(mp)
DEV = 1999  # twitter-2016dev-A's rows come first in the validation split, devtest-A's after


def avgrec(probs: np.ndarray, labels: np.ndarray) -> float:
    recalls = [(probs[labels == c].argmax(1) == c).mean() for c in range(probs.shape[1])]
    return float(np.mean(recalls))


def pooled(stack: np.ndarray, w: np.ndarray, pool: str) -> np.ndarray:
    """stack (M, n, C), w (M,) -> (n, C): linear (sum w p) or log-linear (normalised prod p^w)."""
    if pool == "linear":
        return np.tensordot(w, stack, axes=1)
    logs = np.tensordot(w, np.log(np.maximum(stack, 1e-12)), axes=1)
    logs -= logs.max(axis=1, keepdims=True)
    p = np.exp(logs)
    return p / p.sum(axis=1, keepdims=True)


def fit(stack: np.ndarray, labels: np.ndarray, pool: str, objective: str) -> np.ndarray:
    grid = simplex_grid(stack.shape[0], grid_steps(stack.shape[0]))
    best, best_w = None, grid[0]
    for w in grid:
        p = pooled(stack, w, pool)
        if objective == "nll":
            score = -weighted_nll(p[np.arange(len(labels)), labels][None], labels, p.shape[1])[0]
        else:
            score = avgrec(p, labels)
        if best is None or score > best:
            best, best_w = score, w
    return best_w


def offsets(p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-class additive log-probability offsets (first class's fixed at 0) on a grid that
    maximise AvgRec."""
    logs = np.log(np.maximum(p, 1e-12))
    steps = np.linspace(-1, 1, 21)
    best, best_b = avgrec(p, labels), np.zeros(p.shape[1])
    for a in steps:
        for b in steps:
            shift = np.array([0.0, a, b])
            score = avgrec(logs + shift, labels)
            if score > best + 1e-12:
                best, best_b = score, shift
    return best_b


RULES = {
    "linear, nll weights (the recipe)": ("linear", "nll", False),
    "linear, uniform": ("linear", "uniform", False),
    "linear, avgrec weights": ("linear", "avgrec", False),
    "log-linear, nll weights": ("log", "nll", False),
    "log-linear, uniform": ("log", "uniform", False),
    "linear, nll weights + class offsets": ("linear", "nll", True),
}


def apply_rule(rule, fit_stack, fit_labels, stack) -> np.ndarray:
    pool, objective, shift = RULES[rule]
    m = fit_stack.shape[0]
    w = np.full(m, 1 / m) if objective == "uniform" else fit(fit_stack, fit_labels, pool, objective)
    p = pooled(stack, w, pool)
    if shift:
        b = offsets(pooled(fit_stack, w, pool), fit_labels)
        p = np.log(np.maximum(p, 1e-12)) + b
    return p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--rules", nargs="+", choices=list(RULES), default=list(RULES))
    parser.add_argument("--test", action="store_true")
    parser.add_argument("--out", type=Path, default=mp.ROOT / "bench" / "out" / "transformer")
    args = parser.parse_args()
    table: dict[str, dict[str, list[float]]] = {r: {"cross": [], "test": []} for r in args.rules}
    for i, seed in enumerate(args.seeds):
        after = args.seeds[(i + 1) % len(args.seeds)]
        members = [m.format(seed=seed, next=after) for m in args.members]
        got = [mp.member_probs(args.out, m, "valid") for m in members]
        stack, labels = np.stack([g["probs"] for g in got]), got[0]["labels"]
        halves = [np.arange(DEV), np.arange(DEV, len(labels))]
        tested = [mp.member_probs(args.out, m, "test") for m in members] if args.test else None
        for rule in args.rules:
            cross = []
            for a, b in (halves, halves[::-1]):
                p = apply_rule(rule, stack[:, a], labels[a], stack[:, b])
                cross.append(avgrec(p, labels[b]))
            table[rule]["cross"].append(float(np.mean(cross)))
            if tested:
                tstack, tlabels = np.stack([t["probs"] for t in tested]), tested[0]["labels"]
                p = apply_rule(rule, stack, labels, tstack)
                names = [str(n) for n in tested[0]["names"]]
                table[rule]["test"].append(compute_metrics(tlabels, p.argmax(1), names)["avgrec"])
    print("| rule | seeds | valid AvgRec, fitted on one half, scored on the other | test AvgRec |")
    print("|---|---|---|---|")
    for rule, got in table.items():
        cells = []
        for key in ("cross", "test"):
            v = got[key]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            cells.append(f"{statistics.mean(v):.4f} ± {sd:.4f}" if v else "")
        print(f"| {rule} | {len(args.seeds)} | {cells[0]} | {cells[1]} |")
    print(json.dumps({"members": args.members, "seeds": args.seeds, "table": table}))


if __name__ == "__main__":
    main()
