"""Why the paper's penalty breaks on tweets: a short look inside the first training steps.

On the SemEval training split of bench/attention_compare.py (seed 1, one thread), for each
(preset, penalty coefficient) it reports

  - tweet lengths n after cleaning and the penalty's floor: A A^T has rank <= n, so
    ||A A^T - I||_F^2 >= r - n whenever a tweet has fewer tokens than hops;
  - after --steps Adam steps of the training loop's recipe (lr 2e-3, clipping at 5, class
    weights), averaged over the last 30 steps: the cross-entropy, the penalty term, the mean
    largest attention weight of a hop, and the share of the MLP head's ReLU units that are
    active (> 0) on the batch. A share near 0 means the head has died: its output no longer
    depends on the tweet, and the cross-entropy stays near ln 3 = 1.10.

    nice -n 15 python bench/attention_pressure.py [--steps 150]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from tweetsent.config import RunConfig, attention_preset
from tweetsent.data.batching import bucketed_batches, pad_batch
from tweetsent.data.prepare import prepare
from tweetsent.models import build_model
from tweetsent.models.inputs import lengths_mask
from tweetsent.train.embeddings import initial_embeddings

CASES = (("study", 0.1), ("paper", 1.0), ("paper", 0.1), ("paper", 0.0))
WINDOW = 30


def short_run(preset: str, coefficient: float, train_files: list[str], steps: int) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(1)
    overrides = {**attention_preset(preset), "model.attention_penalty": coefficient}
    config = RunConfig().with_overrides(
        {**overrides, "data.train": train_files, "data.workers": 1, "out": "-"}
    )
    prepared = prepare(config, progress=False)
    matrix, _ = initial_embeddings(config, prepared, log=lambda _: None)
    counts = np.bincount(prepared.train.labels, minlength=len(prepared.labels))
    weights = counts.sum() / np.maximum(counts, 1)
    weights = (weights / weights.mean()).tolist()  # inverse frequency, mean 1, as train.loop
    model = build_model(config, len(prepared.vocab), len(prepared.labels), matrix, weights)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)
    lengths = prepared.train.lengths
    hops = config.model.attention_hops
    seen: dict[str, list[float]] = {"ce": [], "penalty": [], "max_weight": [], "alive": []}
    order = bucketed_batches(lengths, config.train.batch_size, True, seed=1)
    for _, index in zip(range(steps), order, strict=False):
        tokens, lens, labels = pad_batch(prepared.train, index)
        out = model(tokens, lens, labels)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.clip_norm)
        optimizer.step()
        with torch.no_grad():
            states = model.encoder(model.embedder(tokens), lens)  # (B, T, H)
            pooled = model.pooling(states, lengths_mask(lens, tokens.shape[1], tokens.device))[0]
            hidden = model.head[0](pooled)  # (B, mlp) before the ReLU
        seen["ce"].append(float((out.loss - out.penalty).detach()))
        seen["penalty"].append(float(out.penalty.detach()))
        seen["max_weight"].append(float(out.attention.max(dim=-1).values.mean()))
        seen["alive"].append(float((hidden > 0).float().mean()))
    return {
        "preset": preset,
        "hops": hops,
        "coefficient": coefficient,
        "median_tokens": float(np.median(lengths)),
        "share_shorter_than_r": float((lengths < hops).mean()),
        "mean_floor": float(np.maximum(hops - lengths, 0).mean()),
        **{key: float(np.mean(values[-WINDOW:])) for key, values in seen.items()},
        "alive_first": float(np.mean(seen["alive"][:10])),
    }


def markdown(rows: list[dict], steps: int) -> str:
    lines = [
        f"| preset | r | coefficient | tweets with n < r | mean floor (r - n)+ | CE | coef * P "
        f"| max weight of a hop | ReLUs active: first 10 / last {WINDOW} steps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['hops']} | {r['coefficient']} | "
            f"{100 * r['share_shorter_than_r']:.1f}% | {r['mean_floor']:.2f} | {r['ce']:.3f} | "
            f"{r['penalty']:.2f} | {r['max_weight']:.2f} | "
            f"{100 * r['alive_first']:.0f}% / {100 * r['alive']:.0f}% |"
        )
    return f"After {steps} training steps (means over the last {WINDOW}):\n\n" + "\n".join(lines)


def run(train_files: list[str], steps: int = 150) -> tuple[list[dict], str]:
    rows = [short_run(preset, c, train_files, steps) for preset, c in CASES]
    return rows, markdown(rows, steps)


def main() -> None:
    from attention_compare import SHARED, split_files

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    rows, table = run(split_files(SHARED)[0], args.steps)
    print(json.dumps(rows, indent=1))
    print(table)


if __name__ == "__main__":
    main()
