"""ELMo as a classifier's embedder: mixed biLM layers, optionally beside word vectors.

Peters et al. 2018, equation 1, with the classifier learning the mix:

    ELMo_k = gamma * sum_j s_j h_{k,j},   s = softmax(w)      over the chosen layers j
    e_k    = dropout(ELMo_k)                (;  [e_k ; word_vector(t_k)] with word vectors)

The biLM itself is frozen and not part of the classifier's state dict (a run directory stores
the mix and the word vectors only, and records the biLM files' checksums). Its layers reach
the embedder in one of two ways, through the classifier's `words=` argument:

- cached: a `FeatureBatch` of float16 layers read from the feature cache (training);
- on the fly: what the biLM reads, per tweet its tokens or an `ElmoInput` (raw pieces and
  each token's piece, `embed.elmo_input`); the biLM runs on them from a zero state (no state
  carried between batches, so a tweet's features do not depend on its neighbours) and its
  output is rounded to float16 exactly like the cache, so that training and serving see the
  same inputs.

Run in float64 (`model.double()`; the server's `mixed` and `float64` precisions do so), the
biLM's batch-size noise (1e-16) is far below float16 rounding, so a tweet gets bit-identical
features in any batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tweetsent.data.features import FeatureBatch
from tweetsent.embed.elmo.bilm import ElmoBiLm
from tweetsent.embed.elmo.chars import batch_to_ids
from tweetsent.embed.elmo.mix import ScalarMix
from tweetsent.embed.elmo.source import ElmoSource
from tweetsent.embed.words import WordEmbedder
from tweetsent.errors import ConfigError
from tweetsent.text.align import ElmoInput

FEATURE_DTYPE = torch.float16  # what the cache stores, and what on-the-fly features round to


class ElmoEmbedder(nn.Module):
    """tokens (B, T) + words (biLM inputs: token lists / `ElmoInput`s, or a `FeatureBatch`)
    -> (B, T, output_dim)."""

    needs_words = True  # callers pass words= (serve.precision runs such embedders in float64)

    def __init__(
        self,
        bilm: ElmoBiLm,
        layers: Sequence[int] | None = None,
        dropout: float = 0.5,
        words: WordEmbedder | None = None,
        source: ElmoSource | None = None,
    ) -> None:
        super().__init__()
        num = bilm.num_output_layers
        if layers is not None and any(not 0 <= i < num for i in layers):
            raise ConfigError(
                f"embed.elmo_layers: {list(layers)} must lie in 0..{num - 1} (this biLM has "
                f"{num} layers: the char CNN and {num - 1} LSTM layers)"
            )
        bilm.requires_grad_(False)
        self._frozen = (bilm.eval(),)  # a tuple: not a submodule, so not in the state dict
        self.source = source
        self.mix = ScalarMix(num, layers, dropout=dropout)
        self.words = words
        self.elmo_dim = bilm.output_dim
        self.output_dim = self.elmo_dim + (words.output_dim if words is not None else 0)

    @property
    def bilm(self) -> ElmoBiLm:
        return self._frozen[0]

    def _apply(self, fn, recurse=True):
        """`.to(device)`, `.double()`, ... also move the (unregistered) biLM.

        `nn.Module._apply(fn, recurse)` is private: the one method that `.to`, `.cuda`,
        `.double`, `.half`, ... all go through, so overriding it is the only way to move a
        module kept out of the state dict. torch is pinned exactly in pyproject.toml;
        tests/test_private_apis.py checks `.to` / `.double` still call it with (fn, recurse)."""
        super()._apply(fn, recurse)
        self.bilm._apply(fn, recurse)
        return self

    def to_meta(self) -> dict:
        """What a run directory records of this embedder: the biLM files (paths, SHA-256), its
        layers and dimension, and the layers mixed."""
        source = self.source.to_meta() if self.source is not None else {}
        bilm = self.bilm
        layers = {"layers": bilm.num_output_layers, "dim": bilm.output_dim}
        return {**source, **layers, "mixed_layers": self.mix.layers}

    def features(self, words: Sequence[Sequence[str] | ElmoInput]) -> FeatureBatch:
        """All biLM layers of a batch of tweets, rounded to float16 like the cache."""
        return bilm_features(self.bilm, words)

    def forward(
        self,
        tokens: torch.Tensor,
        words: Sequence[Sequence[str] | ElmoInput] | FeatureBatch | None = None,
    ) -> torch.Tensor:
        """tokens (B, T), 0 = padding -> (B, T, output_dim); zeros beyond each tweet's tokens
        in the ELMo part."""
        layers, mask, picked = self.held_layers(tokens, words)
        mixed = self.mix(layers, mask, picked=picked)  # (B, T, D_elmo)
        if self.words is None:
            return mixed
        return torch.cat([mixed, self.words(tokens)], dim=-1)  # (B, T, D_elmo + D_words)

    def held_layers(
        self,
        tokens: torch.Tensor,
        words: Sequence[Sequence[str] | ElmoInput] | FeatureBatch | None,
    ) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The float16 layers the mix reads for these tokens, (L, B, T, D) on the tokens'
        device, the (B, T) mask, and whether the layers are only the mix's (`picked`)."""
        if words is None:
            raise ValueError("ElmoEmbedder needs words=: the biLM's inputs or cached features")
        batch = words if isinstance(words, FeatureBatch) else self.features(words)
        width = tokens.shape[1]
        layers = _fit_width(batch.layers, width, dim=2).to(tokens.device)  # float16 across
        # (L, B, T, D) float16: the mix converts only the layers it reads to its dtype
        mask = _fit_width(batch.mask, width, dim=1).to(tokens.device)  # (B, T)
        every = tuple(range(self.mix.num_layers))
        held = tuple(batch.picked) if batch.picked is not None else every
        picked = held != every  # only some layers: they must be the ones the mix reads
        if picked and list(held) != self.mix.layers:
            raise ValueError(
                f"cached features hold layers {list(held)}, the mix reads {self.mix.layers}"
            )
        count = len(self.mix.layers) if picked else self.mix.num_layers
        if layers.shape[:3] != (count, tokens.shape[0], width):
            raise ValueError(
                f"ELMo features {tuple(layers.shape)} do not fit {count} layers "
                f"x tokens {tuple(tokens.shape)}"
            )
        return layers, mask, picked


@torch.no_grad()
def bilm_features(bilm: ElmoBiLm, words: Sequence[Sequence[str] | ElmoInput]) -> FeatureBatch:
    """The biLM's layers for a batch of tweets, from a zero state, rounded to float16: the one
    function behind both the cache and on-the-fly features.

    A tweet is its token list (the biLM reads the tokens) or an `ElmoInput` (the biLM reads
    its pieces; classifier token k gets the vectors of piece index[k]). Either way the result
    has one position per classifier token: (L, B, T, D), T = most tokens in the batch."""
    device = bilm.char_encoder.projection.weight.device
    inputs = [w.pieces if isinstance(w, ElmoInput) else w for w in words]
    out = bilm.eval()(batch_to_ids(inputs, bilm.options.max_chars).to(device))
    layers, mask = out.layers, out.mask  # (L, B, P, D), (B, P) over the biLM's pieces
    if any(isinstance(w, ElmoInput) for w in words):
        layers, mask = _to_tokens(layers, words)
    return FeatureBatch(layers.to(FEATURE_DTYPE), mask)  # (L, B, T, D), (B, T)


def _to_tokens(
    layers: torch.Tensor, words: Sequence[Sequence[str] | ElmoInput]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Piece vectors (L, B, P, D) -> token vectors (L, B, T, D) by each tweet's index, zeros
    at padding; and the (B, T) mask."""
    width = max((len(w) for w in words), default=0)
    index = torch.zeros(len(words), width, dtype=torch.long)  # (B, T)
    for row, w in enumerate(words):
        count = len(w)
        if count:
            index[row, :count] = torch.tensor(
                w.index if isinstance(w, ElmoInput) else range(count), dtype=torch.long
            )
    lengths = torch.tensor([len(w) for w in words], dtype=torch.long)
    mask = (torch.arange(width)[None, :] < lengths[:, None]).to(layers.device)  # (B, T)
    num, _, _, dim = layers.shape
    if layers.shape[2] == 0:  # no pieces at all: every tweet has no tokens either
        return layers.new_zeros(num, len(words), width, dim), mask
    gather = index.to(layers.device)[None, :, :, None].expand(num, -1, -1, dim)
    tokens = layers.gather(2, gather)  # (L, B, T, D)
    return tokens * mask[None, :, :, None].to(tokens.dtype), mask


def _fit_width(x: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """Cut or zero-pad x along `dim` to `width` (an all-empty batch has ELMo width 0)."""
    have = x.shape[dim]
    if have > width:
        return x.narrow(dim, 0, width)
    if have < width:
        shape = list(x.shape)
        shape[dim] = width - have
        return torch.cat([x, x.new_zeros(shape)], dim=dim)
    return x
