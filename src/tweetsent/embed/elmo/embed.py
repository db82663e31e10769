"""Embed pre-tokenized sentences with the biLM: the API behind `tweetsent elmo embed`.

Input: UTF-8 text, one sentence a line, tokens separated by single spaces and used exactly as
given (no cleaning): "a  b" has three tokens, the middle one empty; an empty line is an empty
sentence. Output (.npz, written atomically):

    layers  float32 (num_output_layers, sentences, longest, 2 * projection_dim), zeros at padding
    mask    bool    (sentences, longest)

Sentences are batched by length (longest first); since every batch starts from a zero state,
the order does not change any vector. With `stateful=True` (allennlp's default behaviour, and
bilm-tf's for a continuous text) the sentences go in file order, `batch_size` at a time, and
each batch row starts from the final LSTM state of the same row of the batch before (the first
batch from zeros): a sentence's vectors then depend on the sentences before it.

Tokens are used as given: a literal `<S>` or `</S>` is encoded as its characters, never as the
biLM's sentence-boundary markers (which the biLM adds around every sentence itself).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tweetsent.embed.elmo.bilm import ElmoBiLm
from tweetsent.embed.elmo.chars import batch_to_ids
from tweetsent.embed.elmo.weights import load_bilm
from tweetsent.errors import ConfigError, DataError
from tweetsent.io import atomic_write


@dataclass
class EmbedSummary:
    output: Path
    sentences: int
    tokens: int
    longest: int
    seconds: float


def read_sentences(path: str | os.PathLike) -> list[list[str]]:
    """One sentence a line, split on single spaces; errors name the file and line."""
    sentences = []
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8").rstrip("\n").removesuffix("\r")
                except UnicodeDecodeError as exc:
                    raise DataError(f"not valid UTF-8 ({exc.reason})", path, number) from None
                sentences.append(line.split(" ") if line else [])
    except FileNotFoundError:
        raise DataError("no such input file", path) from None
    return sentences


def embed_sentences(
    bilm: ElmoBiLm, sentences: Sequence[Sequence[str]], batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """All layers for every sentence: (layers (L, N, T, D) float32, mask (N, T) bool).

    A stateful biLM (`load_bilm(..., stateful=True)`) starts from a zero state here and reads
    the sentences in order, so that batch k + 1 continues batch k row by row."""
    if batch_size < 1:
        raise ConfigError(f"batch_size: {batch_size} must be >= 1")
    longest = max((len(s) for s in sentences), default=0)
    layers = np.zeros(
        (bilm.num_output_layers, len(sentences), longest, bilm.output_dim), dtype=np.float32
    )
    mask = np.zeros((len(sentences), longest), dtype=bool)
    if bilm.stateful:
        bilm.reset_states()
        order = list(range(len(sentences)))
    else:
        order = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))
    device = next(bilm.parameters()).device
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids = batch_to_ids([sentences[i] for i in rows], bilm.options.max_chars)
            out = bilm(ids.to(device))
            width = out.mask.size(1)
            layers[:, rows, :width] = out.layers.float().cpu().numpy()
            mask[rows, :width] = out.mask.cpu().numpy()
    return layers, mask


def embed_file(
    options: str | os.PathLike,
    weights: str | os.PathLike,
    input_txt: str | os.PathLike,
    output_npz: str | os.PathLike,
    batch_size: int = 64,
    device: str = "cpu",
    stateful: bool = False,
) -> EmbedSummary:
    """Embed every line of `input_txt` and write `layers` and `mask` to `output_npz`
    (`stateful`: LSTM state carried from batch to batch, see the module docstring)."""
    started = time.perf_counter()
    try:
        torch_device = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device: {device!r} is not a torch device") from None
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {device!r} requested but CUDA is not available")
    sentences = read_sentences(input_txt)
    bilm = load_bilm(options, weights, device=torch_device, stateful=stateful)
    layers, mask = embed_sentences(bilm, sentences, batch_size=batch_size)
    with atomic_write(output_npz, "wb") as handle:
        np.savez(handle, layers=layers, mask=mask)
    return EmbedSummary(
        output=Path(output_npz),
        sentences=len(sentences),
        tokens=int(mask.sum()),
        longest=mask.shape[1],
        seconds=time.perf_counter() - started,
    )
