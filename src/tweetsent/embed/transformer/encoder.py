"""A transformer encoder over a tweet's pieces: word pieces in, hidden states per piece out.

    encoder = PieceEncoder.from_folder(folder, max_pieces=64, trainable=False)
    ids, mask, owner = encoder.encode(words)   # (B, S) word pieces, owner: piece index or -1
    batch = encoder.features(words)            # FeatureBatch (L, B, T, D) per classifier token

A tweet reaches the encoder as an `ElmoInput` (`text.align.encoder_input`): its pieces of raw
text cut at the classifier's token boundaries. The tokenizer splits each piece into word pieces
(between the model's own [CLS] ... [SEP] or <s> ... </s>, at most `max_pieces` in all); a
piece's vector is the mean of its word pieces' hidden states, and classifier token k takes the
vector of piece index[k], exactly as an ELMo biLM's pieces map to tokens. A piece cut off by
`max_pieces` gets zeros. Layers are the embeddings' output (0) and every transformer layer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tweetsent.data.features import FeatureBatch
from tweetsent.errors import DataError
from tweetsent.text.align import ElmoInput

FEATURE_DTYPE = torch.float16  # what the cache stores, and what on-the-fly features round to
# Byte-level BPE tokenizers mark a word start by a leading space: splitting into words needs it.
PREFIX_SPACE_TYPES = {"roberta", "longformer", "bart", "gpt2", "deberta", "mpnet"}


def _transformers():
    """`transformers`, imported offline and quiet (seconds: only when a model is loaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import transformers
    except ImportError:
        raise DataError(
            "embed.kind = 'transformer' needs the transformers library: "
            "pip install 'tweetsent[transformer]'"
        ) from None
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


def load_tokenizer(folder: Path) -> Any:
    lib = _transformers()
    config = lib.AutoConfig.from_pretrained(folder, local_files_only=True)
    extra = {"add_prefix_space": True} if config.model_type in PREFIX_SPACE_TYPES else {}
    try:
        return lib.AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load the tokenizer ({_first_line(exc)})", folder) from None


def load_model(folder: Path, pretrained: bool) -> nn.Module:
    """The bare encoder (no pooler: tweetsent pools itself): pretrained safetensors weights,
    or initialised from config.json (a saved run's weights are loaded over it)."""
    lib = _transformers()
    try:
        config = lib.AutoConfig.from_pretrained(folder, local_files_only=True)
        for extra in ({"add_pooling_layer": False}, {}):  # BERT/RoBERTa have a pooler
            try:
                if not pretrained:
                    return lib.AutoModel.from_config(config, **extra)
                return lib.AutoModel.from_pretrained(
                    folder, config=config, local_files_only=True, use_safetensors=True, **extra
                )
            except TypeError:
                if not extra:
                    raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise DataError(f"cannot load the transformer ({_first_line(exc)})", folder) from None
    raise AssertionError("unreachable")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PieceEncoder(nn.Module):
    """A Hugging Face encoder and its tokenizer, reading tweets as pieces (`ElmoInput`s)."""

    needs_words = True  # callers pass the pieces as words= (ensembles, serving)

    def __init__(self, model: nn.Module, tokenizer: Any, max_pieces: int, trainable: bool):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.max_pieces = max_pieces
        config: Any = model.config  # a transformers PretrainedConfig (typed as nn.Module's attr)
        self.num_output_layers = int(config.num_hidden_layers) + 1
        self.output_dim = int(config.hidden_size)
        self.trainable = trainable
        if not trainable:
            self.requires_grad_(False)
            self.eval()

    @classmethod
    def from_folder(
        cls, folder: Path, max_pieces: int, trainable: bool = False, pretrained: bool = True
    ) -> PieceEncoder:
        tokenizer = load_tokenizer(folder)
        model = load_model(folder, pretrained)
        return cls(model, tokenizer, max_pieces, trainable)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def encode(self, words: Sequence[ElmoInput]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Word-piece ids (B, S), attention mask (B, S) and each word piece's piece index
        (B, S; -1 for special tokens and padding), on the CPU."""
        pieces = [list(w.pieces) for w in words]
        if getattr(self.tokenizer, "is_fast", False):
            return self._encode_fast(pieces)
        return self._encode_slow(pieces)

    def _encode_fast(self, pieces: list[list[str]]):
        enc = self.tokenizer(
            pieces,
            is_split_into_words=True,
            truncation=True,
            max_length=self.max_pieces,
            padding=True,
            return_tensors="pt",
        )
        owner = torch.full(enc["input_ids"].shape, -1, dtype=torch.long)  # (B, S)
        for row in range(len(pieces)):
            ids = enc.word_ids(row)
            owner[row, : len(ids)] = torch.tensor([-1 if i is None else i for i in ids])
        return enc["input_ids"], enc["attention_mask"], owner

    def _encode_slow(self, pieces: list[list[str]]):
        """Tokenizers without word alignment (BERTweet's): one piece at a time."""
        tok = self.tokenizer
        rows, owners = [], []
        marked = tok("")["input_ids"]  # the tokenizer's own [start, end] (CLS SEP, <s> </s>)
        start, end = marked[:1], marked[1:]
        room = self.max_pieces - len(marked)
        for tweet in pieces:
            ids: list[int] = []
            owner: list[int] = []
            for k, piece in enumerate(tweet):
                part = tok.convert_tokens_to_ids(tok.tokenize(piece))
                ids += part
                owner += [k] * len(part)
            ids, owner = ids[:room], owner[:room]
            rows.append([*start, *ids, *end])
            owners.append([-1] * len(start) + owner + [-1] * len(end))
        width = max(map(len, rows))
        pad = tok.pad_token_id or 0
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        owner_t = torch.full((len(rows), width), -1, dtype=torch.long)
        for i, (row, own) in enumerate(zip(rows, owners, strict=True)):
            input_ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
            owner_t[i, : len(own)] = torch.tensor(own)
        return input_ids, mask, owner_t

    def hidden_states(
        self, words: Sequence[ElmoInput], all_layers: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The encoder over a batch: states (L, B, S, D) with `all_layers` else the last
        layer's (B, S, D); the attention mask (B, S) and piece owners (B, S), on its device."""
        ids, mask, owner = self.encode(words)
        device = self.device
        ids, mask, owner = ids.to(device), mask.to(device), owner.to(device)
        out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=all_layers)
        if all_layers:
            return torch.stack(tuple(out.hidden_states)), mask, owner
        return out.last_hidden_state, mask, owner

    @torch.no_grad()
    def features(self, words: Sequence[ElmoInput]) -> FeatureBatch:
        """Every layer per classifier token, (L, B, T, D) float16, and the (B, T) mask: what
        the feature cache stores and a frozen `TransformerEmbedder` mixes."""
        from tweetsent.embed.elmo.embedder import _to_tokens

        if not words:
            empty = torch.zeros(self.num_output_layers, 0, 0, self.output_dim)
            return FeatureBatch(empty.to(FEATURE_DTYPE), torch.zeros(0, 0, dtype=torch.bool))
        states, _, owner = self.hidden_states(words, all_layers=True)  # (L, B, S, D)
        width = max((len(w.pieces) for w in words), default=0)
        pieces = piece_means(states, owner, width)  # (L, B, P, D)
        layers, mask = _to_tokens(pieces, words)
        return FeatureBatch(layers.to(FEATURE_DTYPE), mask)


def piece_means(states: torch.Tensor, owner: torch.Tensor, width: int) -> torch.Tensor:
    """Per piece, the mean of its word pieces' states: (..., B, S, D) -> (..., B, P, D), P =
    `width`; zeros for a piece without word pieces (cut off by max_pieces)."""
    steps = torch.arange(width, device=owner.device)  # (P,)
    member = (owner[:, None, :] == steps[None, :, None]).to(states.dtype)  # (B, P, S)
    counts = member.sum(-1, keepdim=True).clamp_min(1)  # (B, P, 1)
    return torch.matmul(member / counts, states)  # (..., B, P, D)
