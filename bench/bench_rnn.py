"""Forward + backward throughput of the RNN classifier on random tweets (CPU).

    nice -n 10 python bench/bench_rnn.py --threads 2          # ~1 minute
    nice -n 10 python bench/bench_rnn.py --dry-run            # one batch per variant

Target: a BiLSTM(64) over 50-d embeddings trains 1.2M tweets per epoch in <= 5 minutes on two
cores, i.e. >= 4000 tweets/s. Variants:

    packed   the model as built (pack_padded_sequence; padding never read)
    masked   the same LSTM run over the padded batch, the backward direction on per-row
             reversed sequences (also exact, no packing)
    padded   the same LSTM over the padded batch, backward direction reading padding first
             (wrong for bidirectional models; a lower bound on what packing costs)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from tweetsent.config import EmbedConfig, ModelConfig, RunConfig
from tweetsent.models import build_model


def random_batches(n: int, batch: int, vocab: int, lo: int, hi: int, seed: int = 0) -> list:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        lengths = torch.randint(lo, hi + 1, (batch,), generator=gen)
        width = int(lengths.max())
        tokens = torch.randint(1, vocab, (batch, width), generator=gen)
        tokens[torch.arange(width)[None, :] >= lengths[:, None]] = 0  # (B, T)
        labels = torch.randint(0, 3, (batch,), generator=gen)
        out.append((tokens, lengths, labels))
    return out


def reverse_rows(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first `length` steps, leaving padding in place: x (B, T, D)."""
    steps = torch.arange(x.shape[1])[None, :]  # (1, T)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)  # (B, T)
    return x.gather(1, index[:, :, None].expand_as(x))


class MaskedBiLSTM(nn.Module):
    """Two one-direction LSTMs over the padded batch; the backward one reads each row reversed
    within its length, so padding only ever comes after a row's real steps (exact)."""

    def __init__(self, input_dim: int, hidden: int) -> None:
        super().__init__()
        self.fwd = nn.LSTM(input_dim, hidden, batch_first=True)
        self.bwd = nn.LSTM(input_dim, hidden, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        forward, _ = self.fwd(x)  # (B, T, H)
        backward, _ = self.bwd(reverse_rows(x, lengths))  # (B, T, H), row-reversed
        return torch.cat([forward, reverse_rows(backward, lengths)], dim=-1)  # (B, T, 2H)


class Padded(nn.Module):
    """The model's bidirectional LSTM over the padded batch (not exact; for comparison)."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]  # (B, T, 2H)


def unpacked_loss(model: nn.Module, rnn: nn.Module, tokens, lengths, labels) -> torch.Tensor:
    """The model's computation with `rnn(x, lengths)` instead of its packed encoder."""
    states = rnn(model.embedder(tokens), lengths)  # (B, T, 2H)
    mask = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]  # (B, T)
    pooled, _, _ = model.pooling(states, mask)
    return nn.functional.cross_entropy(model.head(pooled), labels)


def throughput(steps: dict, batches: list, rounds: int) -> tuple[dict, dict]:
    """Wall-clock and CPU-time tweets/s of each step function, per round; rounds interleaved
    so that load from other processes hits every variant alike. CPU time (all threads) is the
    steadier number on a shared machine; with one thread it bounds the wall-clock rate."""
    for step in steps.values():
        step(*batches[0])  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in steps}
    cpu_rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start, cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                step(*batch)
            tweets = sum(len(b[1]) for b in batches)
            rates[name].append(tweets / (time.perf_counter() - start))
            cpu_rates[name].append(tweets / (time.process_time() - cpu))
    return rates, cpu_rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=50_000)
    parser.add_argument("--lengths", default="8-30", help="tokens per tweet, lo-hi (uniform)")
    parser.add_argument("--pooling", default="max")
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = RunConfig(
        embed=EmbedConfig(kind="random", dim=50),
        model=ModelConfig(cell=args.cell, hidden_size=64, pooling=args.pooling),
    )
    model = build_model(config, args.vocab, 3).train()
    lo, hi = map(int, args.lengths.split("-"))
    batches = random_batches(1 if args.dry_run else 8, args.batch, args.vocab, lo, hi)
    rounds = 1 if args.dry_run else args.rounds
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def packed(tokens, lengths, labels, update=False):
        model.zero_grad(set_to_none=True)
        model(tokens, lengths, labels).loss.backward()
        if update:
            optimizer.step()

    masked = MaskedBiLSTM(50, 64)
    plain = model.encoder.rnn

    def variant(rnn):
        def step(tokens, lengths, labels):
            model.zero_grad(set_to_none=True)
            rnn.zero_grad(set_to_none=True)
            unpacked_loss(model, rnn, tokens, lengths, labels).backward()

        return step

    print(
        f"threads={args.threads} batch={args.batch} lengths={lo}-{hi} vocab={args.vocab} "
        f"{args.cell} bi 64 pooling={args.pooling}"
    )
    results = {"packed fwd+bwd": packed}
    if args.cell == "lstm":
        results["masked fwd+bwd"] = variant(masked)
        results["padded fwd+bwd"] = variant(Padded(plain))
    results["packed fwd+bwd+adam"] = lambda *b: packed(*b, update=True)
    wall, cpu = throughput(results, batches, rounds)
    for name in results:
        rate, best = statistics.median(wall[name]), max(wall[name])
        print(
            f"{name:20s} wall: median {rate:5.0f} best {best:5.0f} tweets/s "
            f"({1.2e6 / best / 60:4.1f} min per 1.2M)   per CPU-second: "
            f"{statistics.median(cpu[name]):5.0f}"
        )


if __name__ == "__main__":
    main()
