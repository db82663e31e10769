"""The torch backend: a run's model in this process, and the one scoring loop.

    scorer = TorchScorer(load_model(read_run("runs/default")), torch.device("cpu"))
    probs, counts = scorer.score(encoded)                 # EncodedSet -> scores

`run_model` is the scoring loop, shared by prediction and training (validation each epoch).
`TorchScorer` is the `runs.inference.Scorer` over it: in one call for most inputs, or, for
inputs of `PARALLEL_MIN_TEXTS` texts or more on the CPU, in forked worker processes that share
the loaded model (`inference.parallel_scores`; `workers`: 0 = every usable core, 1 = always in
this process). It is the only backend that gives attention weights (`attention`).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np
import torch

from tweetsent.data.batching import batch_inputs, length_batches, pad_batch
from tweetsent.data.prepare import EncodedSet
from tweetsent.parallel import can_fork, usable_cpus
from tweetsent.runs.inference import (
    PARALLEL_MIN_TEXTS,
    EncodeFn,
    OnPart,
    Scores,
    done,
    parallel_scores,
)
from tweetsent.runs.rundir import LoadedRun


@torch.inference_mode()
def run_model(
    model: torch.nn.Module,
    data: EncodedSet,
    batch_size: int,
    device: torch.device,
    with_attention: bool = False,
) -> tuple[np.ndarray, float, list[np.ndarray | None]]:
    """Class probabilities (n, C) in input order, mean loss where labels are known, attention.

    Rows are processed in length-grouped batches (most without padding, see `length_batches`)
    and put back in order.
    """
    model.eval()
    n = len(data)
    probs: np.ndarray | None = None
    attention: list[np.ndarray | None] = [None] * n
    total_loss, labelled = 0.0, 0
    for index in length_batches(data.lengths, batch_size):
        tokens, lengths, labels = pad_batch(data, index)
        known = bool((labels >= 0).all())
        targets = labels.to(device) if known else None
        out = model(tokens.to(device), lengths, targets, **batch_inputs(data, index))
        batch_probs = torch.softmax(out.logits.float(), dim=-1).cpu().numpy()
        if probs is None:
            probs = np.zeros((n, batch_probs.shape[1]), dtype=np.float32)
        probs[index] = batch_probs
        if known and out.loss is not None:
            total_loss += float(out.loss) * len(index)
            labelled += len(index)
        if with_attention and out.attention is not None:
            weights = out.attention.float().cpu().numpy()  # (B, hops, T)
            for row, i in enumerate(index):
                attention[i] = weights[row, :, : int(lengths[row])]
    if probs is None:
        probs = np.zeros((0, 0), dtype=np.float32)
    return probs, (total_loss / labelled if labelled else float("nan")), attention


class TorchScorer:
    """A loaded run's torch model in this process (module doc): the `runs.inference.Scorer`
    of the torch backend."""

    threads = 1
    queued = False  # `submit` scores before it returns
    slice_rows = 0  # not queued: its forked workers slice large inputs (`parallel_scores`)

    def __init__(
        self, run: LoadedRun, device: torch.device, batch_size: int = 512, workers: int = 0
    ) -> None:
        """`run`: a run with its model loaded (`runs.rundir.load_model`)."""
        assert run.model is not None, "TorchScorer needs the run's model loaded"
        self.model = run.model
        self.device = device
        self.batch_size = batch_size
        self.workers = workers
        self._labels = len(run.labels)

    def score(self, data: EncodedSet) -> Scores:
        """Probabilities (n, C) float32 and token counts (n,) of `data`, in its order."""
        if not len(data):
            return np.zeros((0, self._labels), dtype=np.float32), data.lengths
        return run_model(self.model, data, self.batch_size, self.device)[0], data.lengths

    def attention(self, data: EncodedSet) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """Probabilities and each row's attention weights (hops, tokens), or None without."""
        probs, _, weights = run_model(self.model, data, self.batch_size, self.device, True)
        return probs, weights

    def sliced(self, n: int) -> bool:
        """Whether n texts are scored by forked workers (else in one call, here)."""
        return self._fork_workers(n) > 0

    def score_slices(
        self, encode: EncodeFn, texts: Sequence[str], on_part: OnPart = None
    ) -> Scores:
        return parallel_scores(encode, self.score, texts, self._fork_workers(len(texts)), on_part)

    def submit(self, data: EncodedSet) -> Future:
        return done(self.score(data))

    def wait_ready(self) -> dict[str, Any]:
        return {"has_attention": bool(getattr(self.model, "has_attention", False))}

    def close(self) -> None:
        """Nothing to stop: the model stays usable."""

    def _fork_workers(self, n: int) -> int:
        """How many worker processes score n texts (0: none, this process scores them)."""
        workers = self.workers or usable_cpus()
        if workers > 1 and n >= PARALLEL_MIN_TEXTS and self.device.type == "cpu" and can_fork():
            return workers
        return 0
