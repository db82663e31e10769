"""Tokens per second: tweetsent's ELMo biLM vs allennlp 2.10.1's `_ElmoBiLm`, same sentences.

    PYTHONPATH=src nice -n 10 /work/scratch/allennlp-venv/bin/python bench/elmo/speed.py

Random weights at the dimensions of the official "original" model (char CNN 2048 filters,
2 highways, LSTM 4096 cells projected to 512, 2 layers), written once in the official layout
and loaded by both. Both run the same batches (in the same order, fresh state per batch,
character ids prepared beforehand, `torch.inference_mode`, a small warm-up batch not timed); the
last row also lets tweetsent sort sentences by length first, as `embed_sentences` does.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import reference
import torch

from tweetsent.embed.elmo import ElmoBiLm, ElmoOptions, batch_to_ids, load_bilm, save_hdf5

ORIGINAL = ElmoOptions(
    filters=((1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024)),
    char_embed_dim=16,
    n_highway=2,
    activation="relu",
    lstm_dim=4096,
    projection_dim=512,
    n_layers=2,
    cell_clip=3.0,
    proj_clip=3.0,
)
TEXT = (
    "i love this new phone :) the battery is awful today #fail @friend lol !!! so tired of "
    "waiting for the bus again , can't believe it 🙂 😂 great game last night http://t.co/x"
)
WORDS = TEXT.split()


def tweets(count: int, seed: int = 3) -> list[list[str]]:
    rng = random.Random(seed)
    return [[rng.choice(WORDS) for _ in range(rng.randint(4, 30))] for _ in range(count)]


def timed(run, batches) -> float:
    with torch.inference_mode():
        run(batches[0][:2])  # warm-up on two sentences
        start = time.perf_counter()
        for batch in batches:
            run(batch)
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ref_lib = reference.load()
    data = tweets(args.sentences)
    tokens = sum(len(s) for s in data)
    chunks = [data[i : i + args.batch_size] for i in range(0, len(data), args.batch_size)]
    batches = [batch_to_ids(chunk) for chunk in chunks]
    by_length = sorted(data, key=len, reverse=True)
    sorted_batches = [
        batch_to_ids(by_length[i : i + args.batch_size])
        for i in range(0, len(data), args.batch_size)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        files = (Path(tmp, "options.json"), Path(tmp, "weights.hdf5"))
        torch.manual_seed(0)
        ORIGINAL.save(files[0])
        save_hdf5(ElmoBiLm(ORIGINAL), files[1])
        ours = load_bilm(*files)
        theirs = ref_lib.ElmoBiLm(*map(str, files)).eval()

    def run_theirs(ids: torch.Tensor) -> None:
        theirs._elmo_lstm.reset_states()  # fresh state per batch, like ours
        theirs(ids)

    with torch.inference_mode():
        check = batches[0][:4]
        theirs._elmo_lstm.reset_states()
        ref_out = theirs(check)
        ref_top = ref_lib.remove_sentence_boundaries(ref_out["activations"][-1], ref_out["mask"])
        diff = (ref_top[0] - ours(check).layers[-1]).abs().max().item()
    results = [
        ("allennlp 2.10.1 _ElmoBiLm", timed(run_theirs, batches)),
        ("tweetsent ElmoBiLm", timed(ours, batches)),
        ("tweetsent ElmoBiLm, length-sorted batches", timed(ours, sorted_batches)),
    ]
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {len(data)} sentences, {tokens} tokens, "
        f"batches of {args.batch_size}; top-layer max abs diff on a check batch {diff:.1e}\n"
    )
    print("| implementation | seconds | tokens/s | vs allennlp |")
    print("|---|---|---|---|")
    for name, seconds in results:
        speedup = results[0][1] / seconds
        print(f"| {name} | {seconds:.1f} | {tokens / seconds:.0f} | {speedup:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
