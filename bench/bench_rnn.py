"""Forward + backward throughput of the RNN classifier on random tweets (CPU).

    nice -n 10 python bench/bench_rnn.py                      # about a minute
    nice -n 10 python bench/bench_rnn.py --lengths 4-40 --unbucketed
    nice -n 10 python bench/bench_rnn.py --dry-run            # one batch per variant

Target: a BiLSTM(64) over 50-d embeddings trains 1.2M tweets per epoch in <= 5 minutes on two
cores, i.e. >= 4000 tweets/s. Variants, all with the model's embedder, pooling and head:

    model           the model as built: exact without packing (rows reversed within their
                    lengths for the backward direction)
    model+adam      the same plus an Adam step (the whole 50k x 50 embedding is updated)
    packed          a torch bidirectional nn.LSTM over pack_padded_sequence (exact)
    padded          that nn.LSTM over the padded batch (inexact: a speed bound only)

By default each batch's lengths are close together, as the trainer's length-bucketed batches
are; `--unbucketed` draws every tweet's length independently.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tweetsent.config import EmbedConfig, ModelConfig, RunConfig
from tweetsent.models import build_model


def random_batches(n: int, args: argparse.Namespace, seed: int = 0) -> list:
    """n batches of (tokens (B, T), lengths (B,), labels (B,))."""
    gen = torch.Generator().manual_seed(seed)
    lo, hi = map(int, args.lengths.split("-"))
    out = []
    for i in range(n):
        if args.unbucketed:
            lengths = torch.randint(lo, hi + 1, (args.batch,), generator=gen)
        else:  # one bucket: lengths within 1 of each other, buckets spread over lo..hi
            base = lo + (hi - lo) * i // max(n - 1, 1)
            lengths = base + torch.randint(0, 2, (args.batch,), generator=gen)
        width = int(lengths.max())
        tokens = torch.randint(1, args.vocab, (args.batch, width), generator=gen)
        tokens[torch.arange(width)[None, :] >= lengths[:, None]] = 0  # (B, T)
        out.append((tokens, lengths, torch.randint(0, 3, (args.batch,), generator=gen)))
    return out


class TorchBiRNN(nn.Module):
    """A standard bidirectional nn.LSTM, packed (exact) or over the padded batch (not)."""

    def __init__(self, input_dim: int, hidden: int, packed: bool) -> None:
        super().__init__()
        self.rnn = nn.LSTM(input_dim, hidden, batch_first=True, bidirectional=True)
        self.packed = packed

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.packed:
            return self.rnn(x)[0]  # (B, T, 2H)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(self.rnn(packed)[0], batch_first=True)[0]  # (B, T, 2H)


def loss_with(model: nn.Module, encoder: nn.Module, tokens, lengths, labels) -> torch.Tensor:
    """The model's computation with another encoder in place of its own."""
    states = encoder(model.embedder(tokens), lengths)  # (B, T, 2H)
    mask = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]  # (B, T)
    pooled, _, _ = model.pooling(states, mask, lengths)
    return nn.functional.cross_entropy(model.head(pooled), labels)


def throughput(steps: dict, batches: list, rounds: int) -> tuple[dict, dict]:
    """Wall-clock and CPU-time tweets/s of each step function, per round; rounds interleaved
    so that load from other processes hits every variant alike."""
    for step in steps.values():
        step(*batches[0])  # warm-up
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    tweets = sum(len(b[1]) for b in batches)
    for _ in range(rounds):
        for name, step in steps.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                step(*batch)
            wall[name].append(tweets / (time.perf_counter() - start))
            cpu[name].append(tweets / (time.process_time() - start_cpu))
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=50_000)
    parser.add_argument("--lengths", default="10-28", help="tokens per tweet, lo-hi")
    parser.add_argument("--unbucketed", action="store_true")
    parser.add_argument("--pooling", default="max")
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model_config = ModelConfig(cell=args.cell, hidden_size=64, pooling=args.pooling)
    config = RunConfig(embed=EmbedConfig(kind="random", dim=50), model=model_config)
    model = build_model(config, args.vocab, 3).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = random_batches(1 if args.dry_run else 8, args)

    def own(tokens, lengths, labels, update=False):
        model.zero_grad(set_to_none=True)
        model(tokens, lengths, labels).loss.backward()
        if update:
            optimizer.step()

    def other(encoder):
        def step(tokens, lengths, labels):
            model.zero_grad(set_to_none=True)
            encoder.zero_grad(set_to_none=True)
            loss_with(model, encoder, tokens, lengths, labels).backward()

        return step

    steps = {"model": own, "model+adam": lambda *b: own(*b, update=True)}
    if args.cell == "lstm":
        steps["packed"] = other(TorchBiRNN(50, 64, packed=True))
        steps["padded"] = other(TorchBiRNN(50, 64, packed=False))
    kind = "unbucketed" if args.unbucketed else "bucketed"
    print(
        f"threads={args.threads} batch={args.batch} lengths={args.lengths} ({kind}) "
        f"vocab={args.vocab} bi-{args.cell} 64 pooling={args.pooling}"
    )
    wall, cpu = throughput(steps, batches, 1 if args.dry_run else args.rounds)
    for name in steps:
        rate, best = statistics.median(wall[name]), max(wall[name])
        print(
            f"{name:11s} wall: median {rate:5.0f} best {best:5.0f} tweets/s "
            f"({1.2e6 / rate / 60:4.1f} min per 1.2M)   per CPU-second: "
            f"{statistics.median(cpu[name]):5.0f}"
        )


if __name__ == "__main__":
    main()
