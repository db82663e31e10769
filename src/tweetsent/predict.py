"""Prediction: raw text in, labels and probabilities out. Imports no training code.

>>> predictor = Predictor.from_run("runs/default")
>>> predictor.predict(["I love this :)", "worst day ever"])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tweetsent.data.batching import batch_inputs, bucketed_batches, pad_batch
from tweetsent.data.prepare import EncodedSet
from tweetsent.rundir import LoadedRun, load_run
from tweetsent.text import Normalizer


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


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when available; an unavailable CUDA device is a clear error."""
    from tweetsent.errors import ConfigError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r}: CUDA is not available on this machine")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)


@torch.inference_mode()
def run_model(
    model: torch.nn.Module,
    data: EncodedSet,
    batch_size: int,
    device: torch.device,
    with_attention: bool = False,
) -> tuple[np.ndarray, float, list[np.ndarray | None]]:
    """Class probabilities (n, C) in input order, mean loss where labels are known, attention.

    Rows are processed in length-sorted batches (less padding) and put back in order.
    """
    model.eval()
    n = len(data)
    probs: np.ndarray | None = None
    attention: list[np.ndarray | None] = [None] * n
    total_loss, labelled = 0.0, 0
    for index in bucketed_batches(data.lengths, batch_size, shuffle=False):
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


class Predictor:
    """A trained model with its normalizer and vocabulary, ready for raw tweets."""

    def __init__(self, run: LoadedRun, device: torch.device, batch_size: int = 256) -> None:
        self.run = run
        self.device = device
        self.batch_size = batch_size
        self.labels = run.labels
        self.normalizer = Normalizer(run.config.text)
        self.model = run.model

    @classmethod
    def from_run(cls, path: str | Path, device: str = "cpu", batch_size: int = 256) -> Predictor:
        dev = resolve_device(device)
        return cls(load_run(path, dev), dev, batch_size)

    @property
    def has_attention(self) -> bool:
        return self.run.config.model.pooling == "attention"

    def encode(self, texts: Sequence[str]) -> tuple[list[list[str]], EncodedSet]:
        token_lists = [self.normalizer.tokenize(text) for text in texts]
        ids = [self.run.vocab.encode(tokens) for tokens in token_lists]
        data = EncodedSet.from_ids(ids, [-1] * len(ids))
        if self.run.config.embed.needs_words:  # ELMo runs on the token strings
            data.words = token_lists
        return token_lists, data

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, num_labels) probabilities, columns in `self.labels` order."""
        _, data = self.encode(texts)
        return run_model(self.model, data, self.batch_size, self.device)[0]

    def predict(self, texts: Sequence[str], attention: bool = False) -> list[Prediction]:
        token_lists, data = self.encode(texts)
        want = attention and self.has_attention
        probs, _, weights = run_model(self.model, data, self.batch_size, self.device, want)
        out = []
        for i, text in enumerate(texts):
            row = probs[i]
            pred = Prediction(
                text=text,
                label=self.labels[int(row.argmax())],
                probs={name: round(float(p), 6) for name, p in zip(self.labels, row, strict=True)},
                empty=len(data.ids[data.offsets[i] : data.offsets[i + 1]]) == 0,
            )
            if want and weights[i] is not None:
                pred.tokens = token_lists[i] or [""]
                pred.attention_hops = weights[i].tolist()
                pred.attention = weights[i].mean(axis=0).tolist()
            out.append(pred)
        return out

    def predict_stream(
        self, texts: Sequence[str], chunk: int = 4096, attention: bool = False
    ) -> Iterator[Prediction]:
        """Predict in chunks, so a large file never needs all outputs in memory at once."""
        for start in range(0, len(texts), chunk):
            yield from self.predict(texts[start : start + chunk], attention=attention)


def predict_file(
    predictor: Predictor,
    input_path: str | Path,
    output_path: str | Path | None,
    fmt: str = "auto",
    text_col: str = "text",
    attention: bool = False,
    hops: bool = False,
    progress: bool = True,
) -> int:
    """Label every tweet of a file; write JSONL (or CSV/TSV keeping the input columns).

    The output keeps the input order and is written atomically; malformed input rows are
    skipped and reported on stderr with their line numbers. Returns the number of predictions.
    """
    import csv
    import json
    import sys

    from tqdm.auto import tqdm

    from tweetsent.data.readers import read_texts
    from tweetsent.io import atomic_write

    rows = read_texts(input_path, format=fmt, text_col=text_col)
    if rows.report.skipped:
        print(rows.report.summary(), file=sys.stderr)
    suffix = Path(output_path).suffix.lower() if output_path else ".jsonl"
    table = suffix in (".csv", ".tsv")
    stream = predictor.predict_stream(rows.texts, attention=attention)
    bar = tqdm(stream, total=len(rows.texts), unit="tweet", disable=not progress or not output_path)

    def write(handle) -> None:
        if table:
            prob_cols = [f"prob_{label}" for label in predictor.labels]
            fields = [*rows.columns, "label", *prob_cols, "empty"]
            writer = csv.DictWriter(
                handle,
                fieldnames=fields,
                extrasaction="ignore",
                delimiter="\t" if suffix == ".tsv" else ",",
            )
            writer.writeheader()
            for row, pred in zip(rows.rows, bar, strict=True):
                probs = {f"prob_{k}": v for k, v in pred.probs.items()}
                writer.writerow({**row, "label": pred.label, **probs, "empty": pred.empty})
        else:
            for pred in bar:
                handle.write(json.dumps(pred.to_dict(hops=hops), ensure_ascii=False) + "\n")

    if output_path is None:
        write(sys.stdout)
    else:
        with atomic_write(output_path, "w", encoding="utf-8", newline="") as handle:
            write(handle)
    return len(rows.texts)
