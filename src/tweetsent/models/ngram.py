"""The sparse n-gram classifier: a fastText-style bag of hashed n-grams with lexicon features.

Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification" (fastText): a tweet is
the mean of the embeddings of its features, then a linear layer. The features are those of
the strongest pre-neural SemEval systems (Mohammad et al. 2013, NRC-Canada):

    x = mean_t U[w_t, neg_t]                  word unigrams, a separate row in negated contexts
      + mean_t B[h(w_t, w_t+1) mod buckets]   hashed word bigrams
      + mean_{t, g} C[g]                      hashed character 2-5 grams of each word
      + mean_{t, p} K[cluster_p(w_t)]         Twitter word clusters (path and its prefixes)
      + W_f BN(f)                             tweet-level lexicon features (`TweetLexiconFeatures`)
    logits = head(dropout(x))                 head: linear, or one ReLU hidden layer

Every feature is computed inside the model from the token ids of the standard contract
(`forward(tokens, lengths, labels=None)`), from tables over the vocabulary that are buffers
(saved in model.safetensors): the model trains, predicts, serves and exports to ONNX like the
recurrent ones, and prediction needs no lexicon or cluster file. Trains in seconds an epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from tweetsent.models.inputs import checked_inputs, lengths_mask
from tweetsent.models.lexfeatures import TweetLexiconFeatures, batch_norm
from tweetsent.models.outputs import ClassifierOutput, classifier_output

BIGRAM_PRIME = 1_000_003  # h(a, b) = (a * P + b) mod buckets


class NGramClassifier(nn.Module):
    """See the module docstring. `chars` (V, M) from `tables.char_ngram_table` (None: zeros
    of `char_width` columns for a saved model to fill; 0 columns: no character n-grams);
    `clusters` (V, P) from `tables.cluster_ids`, 0 = none (None: zeros of `cluster_width`
    columns when `num_clusters`, else no clusters); `lexicon` the tweet-level features."""

    def __init__(
        self,
        vocab_size: int,
        num_labels: int,
        *,
        dim: int = 16,
        buckets: int = 2**18,
        chars: np.ndarray | None = None,
        char_width: int = 0,
        clusters: np.ndarray | None = None,
        cluster_width: int = 0,
        num_clusters: int = 0,
        lexicon: TweetLexiconFeatures | None = None,
        hidden: int = 0,
        dropout: float = 0.0,
        class_weights: Sequence[float] | torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.buckets = buckets
        self.unigrams = _bag_table(2 * vocab_size, dim)  # row v + V: v in a negated context
        self.bigrams = _bag_table(buckets, dim)
        width = char_width if chars is None else int(chars.shape[1])
        self.chars: torch.Tensor | None
        self.register_buffer("chars", _table(chars, (vocab_size, width), torch.int32))
        self.char_grams = _bag_table(buckets, dim) if width else None
        self.clusters: torch.Tensor | None
        width = cluster_width if clusters is None else int(clusters.shape[1])
        shape = (vocab_size, width)
        self.register_buffer("clusters", _table(clusters, shape, torch.int64, num_clusters))
        self.cluster_bag = _bag_table(num_clusters + 1, dim) if num_clusters else None
        self.lexicon = lexicon
        if lexicon is not None:
            self.lexicon_norm = nn.BatchNorm1d(lexicon.output_dim)
            self.lexicon_proj = nn.Linear(lexicon.output_dim, dim)
        self.dropout = nn.Dropout(dropout)
        self._caches: dict[str, tuple] = {}  # prediction: per-word bag sums (not saved)
        if hidden:
            self.head = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout))
            self.head.append(nn.Linear(hidden, num_labels))
        else:
            self.head = nn.Sequential(nn.Linear(dim, num_labels))
        weights = None if class_weights is None else torch.as_tensor(class_weights).float()
        self.class_weights: torch.Tensor | None
        self.register_buffer("class_weights", weights, persistent=False)

    @property
    def has_attention(self) -> bool:
        return False

    def float64_head(self) -> None:
        """Serving's mixed precision: the head in float64 (the bag means are order-free)."""
        self.head.double()
        self.head.register_forward_pre_hook(lambda module, args: (args[0].double(),))

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        labels: torch.Tensor | None = None,
        **_: object,
    ) -> ClassifierOutput:
        """tokens (B, T) with 0 = padding, lengths (B,), labels (B,) -> ClassifierOutput."""
        tokens, lengths = checked_inputs(tokens, lengths)
        mask = lengths_mask(lengths, tokens.shape[1], tokens.device)  # (B, T) bool
        weight = mask.float()  # (B, T)
        negated = None
        if self.lexicon is not None:
            negated = self.lexicon.negated(tokens, weight)
            unigrams = tokens + self.vocab_size * negated.long()  # (B, T)
        else:
            unigrams = tokens
        x = _mean(self.unigrams(unigrams), weight)  # (B, D)
        pairs = (tokens[:, :-1] * BIGRAM_PRIME + tokens[:, 1:]) % self.buckets  # (B, T - 1)
        x = x + _mean(self.bigrams(pairs), weight[:, 1:])
        if self.char_grams is not None and self.chars is not None:
            x = x + self._word_bags("chars", self.char_grams, self.chars, tokens, weight)
        if self.cluster_bag is not None and self.clusters is not None:
            x = x + self._word_bags("clusters", self.cluster_bag, self.clusters, tokens, weight)
        if self.lexicon is not None:
            features = self.lexicon(tokens, weight, negated)  # (B, 16 K)
            x = x + self.lexicon_proj(batch_norm(self.lexicon_norm, features))
        logits = self.head(self.dropout(x))  # (B, C)
        return classifier_output(logits, labels, self.class_weights)

    def train(self, mode: bool = True) -> NGramClassifier:
        """Switching to evaluation fills the prediction caches now, so that forked scoring
        workers inherit them instead of each building its own."""
        super().train(mode)
        if not mode:
            if self.char_grams is not None and self.chars is not None:
                self._word_cache("chars", self.char_grams, self.chars)
            if self.cluster_bag is not None and self.clusters is not None:
                self._word_cache("clusters", self.cluster_bag, self.clusters)
        return self

    def _word_bags(
        self,
        name: str,
        table: nn.Embedding,
        ids: torch.Tensor,
        tokens: torch.Tensor,
        weight: torch.Tensor,
    ) -> torch.Tensor:
        """Mean of `table` over the ids (V, M) of every real token of each tweet -> (B, D).

        Training (and export, which traces) gathers the (B, T, M) ids. Prediction reads each word's
        sum and count from a per-vocabulary cache (V, D), rebuilt whenever the table's weights
        change (their version counter): the same mean, a fraction of the work."""
        if self.training or torch.jit.is_tracing():  # ONNX export traces too (dynamo=False)
            grams = ids[tokens].long()  # (B, T, M)
            present = (grams > 0).to(weight.dtype) * weight[:, :, None]  # (B, T, M)
            return _mean(table(grams).flatten(1, 2), present.flatten(1))
        sums, counts = self._word_cache(name, table, ids)  # (V, D), (V,)
        total = (nn.functional.embedding(tokens, sums) * weight[:, :, None]).sum(dim=1)  # (B, D)
        count = counts.index_select(0, tokens.reshape(-1)).view(tokens.shape)  # (B, T)
        count = (count * weight).sum(dim=1, keepdim=True)  # (B, 1)
        return total / count.clamp(min=1.0)

    def _word_cache(
        self, name: str, table: nn.Embedding, ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # Tensor._version is private: the counter torch bumps on every in-place change (an
        # optimizer step, load_state_dict's copy_), the one cheap signal that the weights changed
        # (hashing them would cost what the cache saves). torch is pinned exactly in
        # pyproject.toml; tests/test_private_apis.py checks the counter moves on in-place writes.
        key = (table.weight.data_ptr(), table.weight._version, ids.data_ptr(), ids._version)
        cached = self._caches.get(name)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        with torch.no_grad():
            rows = []
            for start in range(0, ids.shape[0], 8192):  # (8192, M, D) at a time
                chunk = ids[start : start + 8192].long()  # (n, M)
                present = (chunk > 0).to(table.weight.dtype)
                rows.append((table(chunk) * present[:, :, None]).sum(dim=1))  # (n, D)
            sums = torch.cat(rows)  # (V, D)
            counts = (ids > 0).to(table.weight.dtype).sum(dim=1)  # (V,)
        self._caches[name] = (key, sums, counts)
        return sums, counts


def _bag_table(rows: int, dim: int) -> nn.Embedding:
    """An embedding table initialised as fastText does, uniform in +-1/dim."""
    table = nn.Embedding(rows, dim)
    nn.init.uniform_(table.weight, -1.0 / dim, 1.0 / dim)
    return table


def _table(
    values: np.ndarray | None, shape: tuple[int, ...], dtype: torch.dtype, size: int = 1
) -> torch.Tensor | None:
    """A buffer of the given shape from `values` (zeros when None); None when empty."""
    if not size or 0 in shape:
        return None
    if values is None:
        return torch.zeros(shape, dtype=dtype)
    tensor = torch.as_tensor(np.asarray(values)).to(dtype)
    if tuple(tensor.shape) != shape:
        raise ValueError(f"table is {tuple(tensor.shape)}, expected {shape}")
    return tensor


def _mean(vectors: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """vectors (B, N, D), weight (B, N) 0/1 -> (B, D) mean over the weighted rows."""
    total = (vectors * weight[:, :, None]).sum(dim=1)  # (B, D)
    return total / weight.sum(dim=1, keepdim=True).clamp(min=1.0)
