"""Raw tweets to model inputs and class probabilities, fast (the machinery under `Predictor`).

- `Scorer`: the one scoring interface (encoded ids in, probabilities out) of every backend;
  `QueuedScorer`, what the backends away from the caller's thread share.

- `IdEncoder`: text -> vocabulary ids in one pass, memoised per whitespace chunk, so a known
  chunk costs one dictionary look-up instead of cleaning, tokenizing and a look-up per token.
  Its ids are exactly `vocab.encode(normalizer.tokenize(text))`.
- `parallel_scores`: the (distinct) texts of a large input are cut into slices; this process
  encodes them (one warm memo, no chunk cleaned twice) while forked worker processes, one torch
  thread each, run the model on them; results are put back in input order. On 2 cores this
  beats one process with two torch threads: cleaning is pure Python (one core), and oneDNN's
  LSTM gains only ~1.6x from a second thread.

Workers are forked (Linux; `parallel.worker_pool`) so that they share the loaded model without
pickling it; each slice travels as a few arrays (ids, offsets) and comes back as two
(probabilities, counts). A worker that dies fails the call (`BrokenProcessPool`) instead of
hanging it. Elsewhere, outside the main thread (e.g. in the server's model thread) or in a
daemon process, inputs are scored in-process (`parallel.can_fork`).

Measured on the 2-core development machine (BiLSTM(64), GloVe 50d, max pooling, 100k synthetic
tweets, `bench/bench_core.py` step 3, docs/benchmarks.md): 1.13-1.45x VADER's speed on the same
tweets on a first call (median ~1.28x), ~1.45x once the memo is warm; 0.52x before this module.
The LSTM itself (~3.8 CPU-s per 100k tweets, near the cores' float32 peak) is most of the cost;
cleaning, ~1.5 CPU-s cold. With one core taken by another job it is slower than VADER.
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from tweetsent.data.prepare import EncodedSet
from tweetsent.parallel import gc_paused, shared, worker_pool
from tweetsent.text import Normalizer, Vocabulary

if TYPE_CHECKING:
    from tweetsent.config import RunConfig

PARALLEL_MIN_TEXTS = 20_000  # fewer texts than this are scored in-process
MEMO_SIZE = 200_000  # chunks memoised per encoder (cleared when full)
_SLICE_FIRST, _SLICE_MAX, _SLICE_DIV = 3_000, 25_000, 4
SLICE_ROWS = 2_000  # the fewest rows of a slice: the RNN runs score tens of thousands a second
CONTEXTUAL_SLICE_ROWS = 64  # a transformer or ELMo run: tens of tweets a second

# Scores of a list of texts: probabilities (n, C) float32 and token counts (n,) int64.
Scores = tuple[np.ndarray, np.ndarray]
EncodeFn = Callable[[list[str]], EncodedSet]  # texts -> model inputs (runs in the parent)
ScoreFn = Callable[[EncodedSet], Scores]  # the model (runs in a worker)
OnPart = Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None  # (rows, probs, counts)


class Scorer(Protocol):
    """Encoded tweets in, class probabilities out: the one interface of every backend, picked
    by `runs.backends.open_scorer` (which reads the run once and decides once).

    Backends: `runs.torch_scorer.TorchScorer` (the torch model in this process, forked workers
    for large inputs), `runs.onnxrt.OnnxScorer` (ONNX Runtime on threads of this process) and
    `runs.helper.HelperScorer` (either of them in a helper process). Scores are probabilities
    (n, C) float32 and token counts (n,), in input order."""

    threads: int  # how many slices it scores at once
    queued: bool  # whether `submit` returns before the scores are computed (slices queue up)
    slice_rows: int  # the fewest rows of a queued slice (`slice_rows_for`; 0: SLICE_ROWS)

    def score(self, data: EncodedSet) -> Scores: ...  # scored now, in one call

    def sliced(self, n: int) -> bool: ...  # whether n texts are scored in slices

    def score_slices(
        self, encode: EncodeFn, texts: Sequence[str], on_part: OnPart = None
    ) -> Scores:
        """Scores of `texts`: this process encodes slices of them, the backend scores them."""
        ...

    def submit(self, data: EncodedSet) -> Future: ...  # Future of Scores

    def wait_ready(self) -> dict[str, Any]: ...  # the loaded model's facts: has_attention

    def close(self) -> None: ...


class QueuedScorer:
    """What a scorer away from the caller's thread (a helper process, ONNX Runtime's threads)
    does with its `submit` and `threads`: every input is scored in slices, queued to it."""

    threads: int = 1
    queued = True
    slice_rows: int = 0  # SLICE_ROWS

    def submit(self, data: EncodedSet) -> Future:
        raise NotImplementedError

    def wait_ready(self) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def score(self, data: EncodedSet) -> Scores:
        return self.submit(data).result()

    def sliced(self, n: int) -> bool:
        return True

    def score_slices(
        self, encode: EncodeFn, texts: Sequence[str], on_part: OnPart = None
    ) -> Scores:
        return queue_scores(encode, texts, self).result(on_part)


class IdEncoder:
    """Text -> token ids under one normalizer and vocabulary, memoised per chunk: the
    normalizer's own chunk loop and `max_tokens` cap (`Normalizer.map_chunks`), with chunk ->
    ids in place of chunk -> tokens."""

    def __init__(
        self, normalizer: Normalizer, vocab: Vocabulary, memo_size: int = MEMO_SIZE
    ) -> None:
        self.normalizer = normalizer
        self.vocab = vocab
        self._memo: dict[str, tuple[int, ...]] = {}
        self._memo_size = memo_size

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Flat ids (total,) int32 and offsets (n + 1,) int64 of `texts`, in order."""
        flat: list[int] = []
        with gc_paused():
            lengths = self.normalizer.map_chunks(
                texts, self._chunk_ids, self._memo, self._memo_size, flat
            )
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return np.asarray(flat, dtype=np.int32), offsets

    def _chunk_ids(self, chunk: str) -> tuple[int, ...]:
        return tuple(self.vocab.encode(self.normalizer.chunk_tokens(chunk)))  # one id per token


def distinct(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts, in first-seen order, and each text's index among them (n,)."""
    index: dict[str, int] = {}
    inverse = np.fromiter(
        (index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts)
    )
    return list(index), inverse


def parallel_scores(
    encode: EncodeFn, score: ScoreFn, texts: Sequence[str], workers: int, on_part: OnPart = None
) -> Scores:
    """Scores of `texts`, in order: this process encodes slices of them (`encode`: text -> ids,
    with its warm memo) while `workers` forked processes score them (`score`: the model).
    In-process when there is a single slice.

    Slices follow the texts ordered by character length, longest first: a slice's tweets have
    similar token counts, so the model's length-grouped batches need (almost) no padding, and
    the last slices to finish are the shortest. `on_part(rows, probs, counts)` is called
    here as each slice's scores arrive (rows: their positions in `texts`), e.g. to build
    outputs while the workers finish.
    """
    order = _longest_first(texts)
    bounds = _slices(len(texts), workers)
    with worker_pool(
        min(workers, len(bounds)), shared=score, initializer=_init_worker, fork_only=True
    ) as pool:

        def submit(data: EncodedSet) -> Future:
            return done(score(data)) if pool is None else pool.submit(_score, data)

        return PendingScores(encode, submit, texts, order, bounds).result(on_part)


def queue_scores(encode: EncodeFn, texts: Sequence[str], scorer: Scorer) -> PendingScores:
    """Encode `texts` here, slice by slice, and queue the slices to a queued `scorer`;
    returns at once with their pending scores, so that the caller can go on (read and encode
    the next chunk, write the previous one) while they are scored."""
    bounds = _slices(len(texts), scorer.threads, scorer.slice_rows)
    return PendingScores(encode, scorer.submit, texts, _longest_first(texts), bounds)


class PendingScores:
    """The scores of texts whose slices were encoded and submitted (all at once: encoding runs
    ahead of the scoring); `result()` collects them in input order as they arrive."""

    def __init__(
        self,
        encode: EncodeFn,
        submit: Callable[[EncodedSet], Future],
        texts: Sequence[str],
        order: np.ndarray,
        bounds: list[tuple[int, int]],
    ) -> None:
        self.n = len(texts)
        self.jobs: dict[Future, np.ndarray] = {}  # scores of the texts at these positions
        for start, end in bounds:
            rows = order[start:end]
            self.jobs[submit(encode([texts[i] for i in rows.tolist()]))] = rows

    def done(self) -> bool:
        """Whether every slice's scores (or failure) have arrived."""
        return all(job.done() for job in self.jobs)

    def result(self, on_part: OnPart = None) -> Scores:
        """Probabilities (n, C) and token counts (n,) in input order (waits for them)."""
        probs = np.zeros((self.n, 0), dtype=np.float32)
        lengths = np.zeros(self.n, dtype=np.int64)
        for job in as_completed(self.jobs):
            part, counts = job.result()  # a worker that died raises BrokenProcessPool
            if probs.shape[1] != part.shape[1]:
                probs = np.zeros((self.n, part.shape[1]), dtype=part.dtype)
            rows = self.jobs[job]
            probs[rows], lengths[rows] = part, counts
            if on_part is not None:
                on_part(rows, part, counts)
        return probs, lengths


def _longest_first(texts: Sequence[str]) -> np.ndarray:
    """Positions of `texts` by character length, longest first (stable)."""
    chars = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return np.argsort(-chars, kind="stable")  # (n,)


def slice_rows_for(config: RunConfig) -> int:
    """The fewest rows of a queued slice for a run: SLICE_ROWS, or CONTEXTUAL_SLICE_ROWS for
    a run that reads a contextual embedder (a transformer or ELMo: milliseconds a tweet, so
    2,000 tweets are many seconds of work that one slice would leave to one thread)."""
    return CONTEXTUAL_SLICE_ROWS if config.embed.needs_words else SLICE_ROWS


def _slices(n: int, workers: int, least: int = 0) -> list[tuple[int, int]]:
    """Slice bounds over n rows: steady slices of about n / (workers * _SLICE_DIV) rows (at
    least `least`), with a ramp of small slices at both ends, so that every worker starts soon
    (the first slices are encoded quickly) and they finish together (the last ones are short).
    `least` 0: SLICE_ROWS."""
    steady = max(least or SLICE_ROWS, min(_SLICE_MAX, -(-n // (workers * _SLICE_DIV))))
    ramp: list[int] = []
    size = _SLICE_FIRST
    while size < steady:
        ramp += [size] * workers
        size *= 2
    rest = n - 2 * sum(ramp)
    if rest < steady:  # too small for a ramp
        ramp, rest = [], n
    middle = [steady] * (rest // steady) or [0]
    middle[-1] += rest % steady  # the remainder joins the last steady slice
    sizes = [size for size in ramp + middle + ramp[::-1] if size]
    ends = np.cumsum(sizes, dtype=np.int64).tolist()
    return list(zip([0, *ends], ends, strict=False))


def done(value: Scores) -> Future:
    """A result computed in-process, read like a worker's."""
    future: Future = Future()
    future.set_result(value)
    return future


def _score(data: EncodedSet) -> Scores:
    score = shared()  # the score function, inherited from the parent by the fork
    assert score is not None, "worker was not forked from parallel_scores"
    return score(data)


def _init_worker() -> None:
    import torch  # already imported: the workers share the parent's loaded model

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's (see cli `predict`)
    torch.set_num_threads(1)  # one process per core; also keeps OpenMP out of the fork
    gc.freeze()  # the collector leaves the inherited objects alone (no copy-on-write)
