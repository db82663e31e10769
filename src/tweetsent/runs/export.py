"""Export a run's classifier to TorchScript or ONNX, with a parity check against PyTorch.

    tweetsent export runs/bilstm --format onnx     # -> runs/bilstm/model.onnx (+ .json)

The exported graph maps `tokens` (B, T) int64 (0 = padding, real tokens first) and `lengths`
(B,) int64 to class probabilities `probs` (B, C) float32, columns in the run's label order;
batch size and width are dynamic. Turning text into ids stays with the consumer: the run's
`vocab.json` and `config.json` [text] settings say how (`tweetsent.text.Normalizer`).

The RNN encoder reads padded batches without packed sequences (the backward direction reads
each row reversed within its length), so the model traces as it is, and the traced graph is
the same function for any batch size and width. Weights become constants of the graph. The
parity check runs the exported file (TorchScript via `torch.jit.load`, ONNX via onnxruntime)
and the PyTorch model on sample batches of several shapes, empty tweets included, and writes
nothing unless max |p_exported - p_pytorch| <= 1e-5. ELMo models are not exported (their
character CNN input is not a token id), nor heads over a frozen transformer's features.

A fine-tuned transformer (`model.kind = "transformer"`) exports the encoder, pooling and head:
`input_ids` (B, S) int64 and `attention_mask` (B, S) int64 (the run's tokenizer, in
`encoder/`, over the pieces `Normalizer.contextual` gives) -> `probs` (B, C); its parity
batches are random word-piece ids between the tokenizer's own start and end tokens.

TorchScript files are TorchScript archives (`torch.jit.load` reads them without Python
pickling of arbitrary objects); ONNX files are protobuf, exported with opset 17 by PyTorch's
TorchScript-based exporter; they need `pip install 'tweetsent[export]'` (onnx; onnxruntime is
a dependency).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tweetsent.embed import WordEmbedder
from tweetsent.errors import TweetsentError
from tweetsent.io import atomic_path, write_json
from tweetsent.models.ensemble import EnsembleClassifier
from tweetsent.models.feedforward import FeedForwardClassifier
from tweetsent.models.ngram import NGramClassifier
from tweetsent.models.sequence import SequenceClassifier
from tweetsent.models.transformer import TransformerClassifier
from tweetsent.runs.rundir import LoadedRun, load_run

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}
TOLERANCE = 1e-5
SAMPLE_SHAPES = ((1, 1), (3, 7), (16, 33), (5, 64))  # (batch, width) of the parity batches


@dataclass
class ExportResult:
    path: Path
    format: str
    max_diff: float  # max |p_exported - p_pytorch| over the sample batches


class ExportableClassifier(nn.Module):
    """(tokens (B, T), lengths (B,)) -> probs (B, C): softmax(model logits), export-friendly."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        parts = list(model.members) if isinstance(model, EnsembleClassifier) else [model]
        for part in parts:  # an ensemble exports when each of its members does
            if isinstance(part, NGramClassifier):
                continue  # reads token ids only
            if not isinstance(part, SequenceClassifier | FeedForwardClassifier):
                raise TweetsentError(f"export: {type(part).__name__} models are not supported")
            if not isinstance(part.embedder, WordEmbedder):
                raise TweetsentError(
                    f"export: {type(part.embedder).__name__} embeddings are not supported "
                    "(word-level embeddings only)"
                )
        for param in model.parameters():
            param.requires_grad_(False)
        # Held outside the module tree on purpose: the weights are then constants of the traced
        # graph. As a registered submodule, the legacy ONNX exporter (torch 2.13) mis-wired the
        # per-direction LSTM weights (probabilities off by ~0.1; the parity check caught it).
        self._model = (model.eval(),)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self._model[0](tokens, lengths).logits, dim=-1)  # (B, C)


def sample_batches(vocab_size: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Token batches of several shapes with varied lengths, an empty row among them."""
    rng = np.random.default_rng(seed)
    batches = []
    for batch, width in SAMPLE_SHAPES:
        lengths = rng.integers(1, width + 1, size=batch)
        lengths[0] = width  # the widest row fills the width
        if batch > 2:
            lengths[-1] = 0  # an empty tweet
        tokens = np.zeros((batch, width), dtype=np.int64)
        for row, n in enumerate(lengths):
            tokens[row, :n] = rng.integers(1, max(vocab_size, 2), size=n)
        batches.append((torch.from_numpy(tokens), torch.from_numpy(lengths.astype(np.int64))))
    return batches


def export_run(run_dir: str | Path, fmt: str, out: str | Path | None = None) -> ExportResult:
    """Export the run's best model; write `out` (default RUN/model.pt or RUN/model.onnx) and a
    JSON sidecar describing inputs, outputs and labels, only if the parity check passes."""
    if fmt not in FORMATS:
        raise TweetsentError(f"export: format {fmt!r} is not one of {', '.join(FORMATS)}")
    run = load_run(run_dir, "cpu")
    assert run.model is not None  # load_run loads the weights
    model = run.model.float().eval()
    path = Path(out) if out else run.path / f"model{FORMATS[fmt]}"
    if isinstance(model, TransformerClassifier):
        if model.tweet_features is not None:
            raise TweetsentError(
                "export: a fine-tuned transformer whose head reads tweet features "
                "(model.tweet_features) is not exported (its graph reads word pieces only); "
                "predict, evaluate and serve take the run as it is"
            )
        wrapper: nn.Module = ExportableTransformer(model)
        batches = piece_batches(model)
        names = ("input_ids", "attention_mask")
    else:
        wrapper = ExportableClassifier(model)
        batches = sample_batches(len(run.vocab))
        names = ("tokens", "lengths")
    with atomic_path(path) as tmp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer and exporter notes; parity decides
                if fmt == "torchscript":
                    run_exported = _torchscript(wrapper, batches[1], tmp)
                else:
                    run_exported = _onnx(wrapper, batches[1], tmp, names)
                max_diff = parity(wrapper, run_exported, batches)
        except TweetsentError:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise TweetsentError(f"export: {fmt} failed ({type(exc).__name__}: {first})") from exc
        if not max_diff <= TOLERANCE:
            raise TweetsentError(
                f"export: {fmt} model differs from PyTorch by {max_diff:.2e} > {TOLERANCE:g} "
                "(nothing written)"
            )
    sidecar = _sidecar(run, fmt, path, max_diff)
    if isinstance(model, TransformerClassifier):
        sidecar["inputs"] = {
            "input_ids": "int64 (batch, pieces): the tokenizer in encoder/ over the pieces of "
            "tweetsent.text.Normalizer.contextual, with its start and end tokens",
            "attention_mask": "int64 (batch, pieces): 1 at word pieces, 0 at padding",
        }
        sidecar["vocab"] = "encoder/"
    write_json(path.with_name(path.name + ".json"), sidecar)
    return ExportResult(path, fmt, max_diff)


class ExportableTransformer(nn.Module):
    """(input_ids (B, S), attention_mask (B, S)) -> probs (B, C) of a fine-tuned transformer."""

    def __init__(self, model: TransformerClassifier) -> None:
        super().__init__()
        for param in model.parameters():
            param.requires_grad_(False)
        self._model = (model.eval(),)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self._model[0].piece_logits(ids, mask), dim=-1)  # (B, C)


def piece_batches(
    model: TransformerClassifier, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Word-piece batches of several shapes: [start] random pieces [end], then padding."""
    tokenizer = model.embedder.tokenizer
    rng = np.random.default_rng(seed)
    marked = tokenizer("")["input_ids"]  # [start, end]
    start, end = marked[0], marked[-1]
    pad = tokenizer.pad_token_id or 0
    config: Any = model.embedder.model.config  # a transformers PretrainedConfig
    vocab = int(config.vocab_size)
    batches = []
    for batch, width in ((1, 3), (3, 9), (8, 33), (4, 64)):
        lengths = rng.integers(3, width + 1, size=batch)
        lengths[0] = width
        ids = np.full((batch, width), pad, dtype=np.int64)
        mask = np.zeros((batch, width), dtype=np.int64)
        for row, n in enumerate(lengths):
            ids[row, :n] = [start, *rng.integers(5, vocab, size=n - 2), end]
            mask[row, :n] = 1
        batches.append((torch.from_numpy(ids), torch.from_numpy(mask)))
    return batches


def parity(wrapper: nn.Module, run_exported, batches) -> float:
    """max |p_exported - p_pytorch| over the sample batches."""
    worst = 0.0
    for tokens, lengths in batches:
        ours = np.asarray(run_exported(tokens, lengths), dtype=np.float64)
        with torch.inference_mode():
            theirs = wrapper(tokens, lengths).float().numpy().astype(np.float64)
        if ours.shape != theirs.shape:
            raise TweetsentError(f"export: output shape {ours.shape}, expected {theirs.shape}")
        worst = max(worst, float(np.abs(ours - theirs).max()))
    return worst


def _torchscript(wrapper: nn.Module, example, path: Path):
    with torch.inference_mode(False), torch.no_grad():
        traced = torch.jit.trace(wrapper, example, check_trace=False)
    torch.jit.save(traced, str(path))
    loaded = torch.jit.load(str(path), map_location="cpu")

    def run_exported(tokens: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return loaded(tokens, lengths).numpy()

    return run_exported


def _onnx(wrapper: nn.Module, example, path: Path, names=("tokens", "lengths")):
    try:
        import onnxruntime
    except ImportError:
        raise TweetsentError(
            "export: ONNX needs onnx and onnxruntime (pip install 'tweetsent[export]')"
        ) from None
    first, second = names
    dynamic = {first: {0: "batch", 1: "time"}, second: {0: "batch"}, "probs": {0: "batch"}}
    if second == "attention_mask":
        dynamic[second] = {0: "batch", 1: "time"}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            example,
            str(path),
            input_names=list(names),
            output_names=["probs"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run_exported(tokens: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
        feed = {first: tokens.numpy(), second: lengths.numpy()}
        return session.run(["probs"], feed)[0]

    return run_exported


def _sidecar(run: LoadedRun, fmt: str, path: Path, max_diff: float) -> dict:
    return {
        "format": fmt,
        "file": path.name,
        "inputs": {
            "tokens": "int64 (batch, time): vocab.json ids, 0 = padding, real tokens first",
            "lengths": "int64 (batch,): real tokens per row (0 is read as 1)",
        },
        "outputs": {"probs": "float32 (batch, labels): class probabilities"},
        "labels": run.labels,
        "vocab": "vocab.json",
        "text": run.config.text.__dict__,
        "parity": {"max_abs_diff": max_diff, "tolerance": TOLERANCE, "shapes": SAMPLE_SHAPES},
        "torch": torch.__version__,
    }
