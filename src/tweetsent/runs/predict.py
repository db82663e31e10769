"""Prediction: raw text in, labels and probabilities out. Imports no training code, and no
torch until a model is loaded in this process.

>>> predictor = Predictor.from_run("runs/default")
>>> predictor.predict(["I love this :)", "worst day ever"])

`Predictor` is a small facade: it turns texts into token ids (`runs.inference.IdEncoder`)
and hands them to one `runs.inference.Scorer`, chosen by `runs.backends.open_scorer` (which
reads the run directory once and decides the backend once: torch, ONNX Runtime, either in a
helper process). `Predictor.from_run(..., background=True)` (the `tweetsent predict` command)
loads the model in a helper process while this one, which then never imports torch, reads and
cleans the input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tweetsent.data.prepare import EncodedSet
from tweetsent.parallel import gc_paused
from tweetsent.runs.backends import BACKENDS, open_scorer, torch_scorer
from tweetsent.runs.inference import IdEncoder, PendingScores, Scorer, distinct, queue_scores
from tweetsent.runs.rundir import LoadedRun
from tweetsent.text import Normalizer

if TYPE_CHECKING:
    import torch

    from tweetsent.runs.torch_scorer import TorchScorer

__all__ = ["BACKENDS", "BatchPrediction", "Prediction", "Predictor", "QueuedPrediction"]


@dataclass
class Prediction:
    text: str
    label: str
    probs: dict[str, float]
    empty: bool = False  # nothing left after cleaning: the prediction is the model's prior
    tokens: list[str] | None = None
    attention: list[float] | None = None  # per token, averaged over hops
    attention_hops: list[list[float]] | None = field(default=None, repr=False)

    def to_dict(self, hops: bool = False) -> dict:
        out = {"text": self.text, "label": self.label, "probs": self.probs, "empty": self.empty}
        if self.attention is not None:
            out["tokens"] = self.tokens
            out["attention"] = self.attention
            if hops:
                out["attention_hops"] = self.attention_hops
        return out


@dataclass
class BatchPrediction:
    """Predictions of many texts as arrays, in input order (no object per tweet)."""

    names: list[str]  # the label names, column order of `probs`
    probs: np.ndarray  # (n, C) float32
    empty: np.ndarray  # (n,) bool: nothing left after cleaning (the model's prior)

    @property
    def label_ids(self) -> np.ndarray:
        return self.probs.argmax(axis=1)  # (n,)

    @property
    def labels(self) -> list[str]:
        names = self.names
        return [names[i] for i in self.label_ids.tolist()]


def _in_order(built: list[Prediction | None], inverse: np.ndarray) -> list[Prediction]:
    """The predictions of the distinct texts, put in input order; a repeated text gets a copy
    of its prediction (no two list items are one object)."""
    out = [built[i] for i in inverse.tolist()]
    first = np.zeros(len(inverse), dtype=bool)
    first[np.unique(inverse, return_index=True)[1]] = True
    for i in np.flatnonzero(~first).tolist():
        pred = out[i]
        out[i] = dataclasses.replace(pred, probs=dict(pred.probs))
    return out


def round6(probs: np.ndarray) -> list[list[float]]:
    """`[[round(float(p), 6) for p in row] for row in probs]`, 20x faster for float32 input:
    x * 1e6 is exact in float64 for a float32 x (24 + 14 significant bits), `rint` rounds half
    to even like `round`, and k / 1e6 is the float nearest to the decimal, as `round` returns."""
    if probs.dtype != np.float32:
        return [[round(p, 6) for p in row] for row in probs.tolist()]
    return (np.rint(probs.astype(np.float64) * 1e6) / 1e6).tolist()


class QueuedPrediction:
    """Scores on their way from a queued scorer (`Predictor.predict_arrays_queued`)."""

    def __init__(
        self,
        predictor: Predictor,
        pending: PendingScores | None,
        inverse: np.ndarray | None,
        ready: BatchPrediction | None = None,
    ) -> None:
        self._labels = list(predictor.labels)
        self._pending, self._inverse, self._ready = pending, inverse, ready

    def done(self) -> bool:
        """Whether `result()` would return without waiting."""
        return self._ready is not None or self._pending is None or self._pending.done()

    def result(self) -> BatchPrediction:
        if self._ready is None:
            assert self._pending is not None and self._inverse is not None
            probs, lengths = self._pending.result()
            probs, lengths = probs[self._inverse], lengths[self._inverse]
            self._ready = BatchPrediction(self._labels, probs, lengths == 0)
            self._pending = None
        return self._ready


class Predictor:
    """A read run with its normalizer and vocabulary, and the scorer of its model: raw tweets
    in, labels and probabilities out (the scikit-learn shape: `predict_proba`, `predict_labels`,
    plus `predict` with objects, `predict_arrays` and `predict_stream`).

    `scorer`: a `runs.inference.Scorer` of `run` (`runs.backends.open_scorer`); None, or one
    whose model lives elsewhere (ONNX Runtime, a helper process), leaves `run.model` None: the
    torch model is loaded here only if asked for (`model`, attention weights).
    """

    def __init__(
        self,
        run: LoadedRun,
        scorer: Scorer | None = None,
        device: torch.device | str = "cpu",
        batch_size: int = 512,
        workers: int = 0,
    ) -> None:
        self.run = run
        self._device = device  # a name until torch is needed here
        self.batch_size = batch_size
        self.workers = workers
        self.labels = run.labels
        self.normalizer = Normalizer(run.config.text)
        self.scorer = scorer
        self._local: TorchScorer | None = None  # the torch model here, when another scores
        self._ids = IdEncoder(self.normalizer, run.vocab)

    @classmethod
    def from_run(
        cls,
        path: str | Path | LoadedRun,
        device: str = "cpu",
        batch_size: int = 512,
        workers: int = 0,
        background: bool = False,
        backend: str = "torch",
        attention: bool = False,
    ) -> Predictor:
        """The run at `path`, ready to score: `runs.backends.open_scorer` reads it once and
        picks the backend once.

        `backend`: "torch" (the model in this process), "onnx" (ONNX Runtime, no torch: the RNN
        models over word vectors, on the CPU; any other run is a one-line error) or "auto"
        (onnx where it can score the run, else torch). Scores agree to float32 rounding.
        `background`: that backend in a helper process where that pays (`runs.helper`: CPU,
        torch not imported yet, fork available); this call then returns at once and the
        first scores wait for the load (a run whose weights cannot be loaded fails them with
        the load's one-line error). `attention`: predictions will carry attention weights,
        so the torch model scores in this process whatever `backend` says."""
        run, scorer = open_scorer(path, device, backend, batch_size, workers, background, attention)
        return cls(run, scorer, device, batch_size, workers)

    @property
    def device(self) -> torch.device:
        if isinstance(self._device, str):
            from tweetsent.device import resolve_device

            self._device = resolve_device(self._device)
        return self._device

    @property
    def model(self) -> torch.nn.Module:
        """The model in this process (loaded now if another backend scores)."""
        return self._torch().model

    @property
    def background(self) -> bool:
        """Whether scores come from a queued scorer (a helper process, ONNX Runtime's threads):
        `predict_arrays_queued` returns before they are computed."""
        return self.scorer is not None and self.scorer.queued

    @property
    def has_attention(self) -> bool:
        if self.scorer is not None:
            return bool(self.scorer.wait_ready()["has_attention"])
        return bool(self.model.has_attention)

    def close(self) -> None:
        """Stop the scorer, if it runs away from this thread (the Predictor can still score,
        with the torch model in this process)."""
        if self.scorer is not None and self.scorer.queued:
            self.scorer.close()
            self.scorer = None

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def encode(self, texts: Sequence[str]) -> tuple[list[list[str]], EncodedSet]:
        words = None
        if self.run.config.embed.needs_words:  # ELMo or a transformer reads the text
            embed = self.run.config.embed
            pairs = [self.normalizer.contextual(text, embed) for text in texts]
            token_lists, words = [p[0] for p in pairs], [p[1] for p in pairs]
        else:
            token_lists = [self.normalizer.tokenize(text) for text in texts]
        ids = [self.run.vocab.encode(tokens) for tokens in token_lists]
        data = EncodedSet.from_ids(ids, [-1] * len(ids))
        data.words = words
        return token_lists, data

    def predict_arrays(self, texts: Sequence[str]) -> BatchPrediction:
        """Probabilities, labels and empty flags of `texts` as arrays: the fastest path."""
        probs, lengths = self._scores(texts)
        return BatchPrediction(list(self.labels), probs, lengths == 0)

    def predict_arrays_queued(self, texts: Sequence[str]) -> QueuedPrediction:
        """`predict_arrays(texts)` in two steps: this call cleans and encodes the texts and, with
        a queued scorer, queues them to it and returns; `.result()` waits for their
        `BatchPrediction`. Meanwhile the caller can read and encode the next chunk or write the
        previous one (`runs.batch` does). Otherwise the texts are scored before this call
        returns."""
        scorer = self._scorer()
        if not scorer.queued or not len(texts):
            return QueuedPrediction(self, None, None, self.predict_arrays(texts))
        unique, inverse = distinct(texts)  # each distinct text is scored once
        return QueuedPrediction(self, queue_scores(self._inputs, unique, scorer), inverse)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, num_labels) probabilities, columns in `self.labels` order."""
        return self._scores(texts)[0]

    def predict_labels(self, texts: Sequence[str]) -> list[str]:
        """The predicted label of each text (raw text in, labels out)."""
        return self.predict_arrays(texts).labels

    def predict(self, texts: Sequence[str], attention: bool = False) -> list[Prediction]:
        if attention and self.has_attention:
            return self._predict_attention(texts)
        scorer = self._scorer()
        if not scorer.sliced(len(texts)):
            return self._predictions(texts, *scorer.score(self._inputs(texts)))
        # Slices of the distinct texts are scored elsewhere (worker processes, a helper
        # process, threads); this process builds the Prediction objects of each slice as it
        # arrives, while the others are scored.
        unique, inverse = distinct(texts)
        built: list[Prediction | None] = [None] * len(unique)

        def build(rows: np.ndarray, probs: np.ndarray, counts: np.ndarray) -> None:
            part = self._predictions([unique[i] for i in rows.tolist()], probs, counts)
            for row, pred in zip(rows.tolist(), part, strict=True):
                built[row] = pred

        scorer.score_slices(self._inputs, unique, build)
        return _in_order(built, inverse)

    def predict_stream(
        self, texts: Sequence[str], chunk: int = 100_000, attention: bool = False
    ) -> Iterator[Prediction]:
        """Predict in chunks, so a large file never needs all outputs in memory at once
        (at most 4,096 texts a chunk with attention weights, which are large)."""
        if attention and self.has_attention:
            chunk = min(chunk, 4096)
        for start in range(0, len(texts), chunk):
            yield from self.predict(texts[start : start + chunk], attention=attention)

    # -- internals ------------------------------------------------------------------------------

    def _scorer(self) -> Scorer:
        """The scorer (the torch model here, loaded now, once this Predictor was closed)."""
        return self.scorer if self.scorer is not None else self._torch()

    def _torch(self) -> TorchScorer:
        """The torch backend in this process (loaded now if another backend scores)."""
        from tweetsent.runs.torch_scorer import TorchScorer

        if isinstance(self.scorer, TorchScorer):
            return self.scorer
        if self._local is None:
            local = torch_scorer(self.run, str(self.device), self.batch_size, self.workers)
            self._local = local
            if self.scorer is None:
                self.scorer = local
            return local
        return self._local

    def _scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (n, C) float32 and token counts (n,) of `texts`, in order: in one
        call, or slices of the distinct texts (each scored once) where the scorer says so."""
        if not len(texts):
            return self._no_probs(), np.zeros(0, dtype=np.int64)
        scorer = self._scorer()
        if not scorer.sliced(len(texts)):
            return scorer.score(self._inputs(texts))
        unique, inverse = distinct(texts)
        probs, lengths = scorer.score_slices(self._inputs, unique)
        return probs[inverse], lengths[inverse]

    def _inputs(self, texts: Sequence[str]) -> EncodedSet:
        """The model's inputs: token ids (and the biLM's inputs for ELMo)."""
        if self.run.config.embed.needs_words:
            return self.encode(texts)[1]
        ids, offsets = self._ids.encode(texts)
        return EncodedSet(ids, offsets, np.full(len(offsets) - 1, -1, dtype=np.int64))

    def _no_probs(self) -> np.ndarray:
        return np.zeros((0, len(self.labels)), dtype=np.float32)

    def _predictions(
        self, texts: Sequence[str], probs: np.ndarray, lengths: np.ndarray
    ) -> list[Prediction]:
        """Prediction objects, built column-wise with the cyclic GC paused (~5x faster)."""
        if len(texts) != len(probs):
            raise ValueError(f"{len(probs)} scores for {len(texts)} texts")
        names = self.labels
        labels = [names[i] for i in probs.argmax(axis=1).tolist()]
        empty = (lengths == 0).tolist()
        with gc_paused():
            dicts = [dict(zip(names, row, strict=True)) for row in round6(probs)]
            return list(map(Prediction, texts, labels, dicts, empty))

    def _predict_attention(self, texts: Sequence[str]) -> list[Prediction]:
        token_lists, data = self.encode(texts)
        probs, weights = self._torch().attention(data)
        out = self._predictions(texts, probs, data.lengths) if len(texts) else []
        for pred, tokens, w in zip(out, token_lists, weights, strict=True):
            if w is not None:
                pred.tokens = tokens or [""]
                pred.attention_hops = w.tolist()
                pred.attention = w.mean(axis=0).tolist()
        return out
