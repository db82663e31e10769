"""Tweet-level lexicon features computed inside a model, from token ids.

The same numbers as `tweetsent.lexicons.tweet_features` (NRC-Canada, Mohammad et al. 2013: per
lexicon and per context, affirmative or negated, the count of positive and of negative terms,
their sums, the max, the min, the last term's score and the total), from per-vocabulary
arrays (`lexicons.vocab_arrays`) kept as buffers: the scores travel in the model's weights, so
prediction needs no lexicon file, and the model exports to ONNX like any other.

Negation scope, as a batch operation: with c[t] the number of clause ends up to t,

    negated[t] = not negator[t] and not clause_end[t]
                 and  sum_{s < t} negator[s] [c[s] = c[t]] > 0

(a negator earlier in the same clause), an (B, T, T) product that ONNX can express.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tweetsent.lexicons import FEATURES_PER_LEXICON

ARRAYS = ("scores", "present", "hashtag_scores", "hashtag_present")


class TweetLexiconFeatures(nn.Module):
    """tokens (B, T), mask (B, T) -> (B, 16 K) features of K lexicons (see the module doc).

    `arrays`: `lexicons.vocab_arrays(vocab.tokens, lexicons)`; None builds zeros of
    `vocab_size` x `num_lexicons` for a saved model's state dict to fill. `hashtag_id`: the
    vocabulary id of `<hashtag>` (-1: none), saved as a buffer too.
    """

    # buffers (register_buffer below), declared for the type checker
    scores: torch.Tensor
    present: torch.Tensor
    hashtag_scores: torch.Tensor
    hashtag_present: torch.Tensor
    negator: torch.Tensor
    clause_end: torch.Tensor
    hashtag_id: torch.Tensor

    def __init__(
        self,
        vocab_size: int,
        num_lexicons: int,
        arrays: dict[str, np.ndarray] | None = None,
        hashtag_id: int = -1,
    ) -> None:
        super().__init__()
        if num_lexicons < 1:
            raise ValueError("tweet lexicon features need at least one lexicon")
        shapes: dict[str, tuple[int, ...]] = {key: (vocab_size, num_lexicons) for key in ARRAYS}
        shapes.update(negator=(vocab_size,), clause_end=(vocab_size,))
        for key, shape in shapes.items():
            value = torch.zeros(shape)
            if arrays is not None:
                value = torch.as_tensor(np.asarray(arrays[key], dtype=np.float32))
                if tuple(value.shape) != shape:
                    raise ValueError(f"lexicon array {key} is {tuple(value.shape)}, not {shape}")
            self.register_buffer(key, value)
        self.register_buffer("hashtag_id", torch.tensor([hashtag_id], dtype=torch.int64))
        self.num_lexicons = num_lexicons
        self.output_dim = FEATURES_PER_LEXICON * num_lexicons

    def negated(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T) bool: the token is in a negated context."""
        negator = _lookup(self.negator, tokens) * mask  # (B, T)
        ends = _lookup(self.clause_end, tokens)  # (B, T)
        clause = torch.cumsum(ends, dim=1)  # (B, T) clause index of each token
        same = clause[:, :, None] == clause[:, None, :]  # (B, T, S): same clause
        width = tokens.shape[1]
        earlier = torch.ones(width, width, device=tokens.device).tril(-1).bool()  # s < t
        before = (same & earlier).to(negator.dtype) @ negator[:, :, None]  # (B, T, 1)
        return (before[:, :, 0] > 0) & (ends == 0) & (negator == 0) & mask.bool()

    def forward(
        self, tokens: torch.Tensor, mask: torch.Tensor, negated: torch.Tensor | None = None
    ) -> torch.Tensor:
        if negated is None:
            negated = self.negated(tokens, mask)
        # (B, K, T) from here on: the reductions run over the contiguous last axis
        previous = nn.functional.pad(tokens[:, :-1], (1, 0))  # (B, T)
        after_tag = (previous == self.hashtag_id)[:, None, :]  # (B, 1, T)
        use_tag = after_tag & (_by_lexicon(self.hashtag_present, tokens) > 0)  # (B, K, T)
        tagged = _by_lexicon(self.hashtag_scores, tokens)
        scores = torch.where(use_tag, tagged, _by_lexicon(self.scores, tokens))  # (B, K, T)
        present = use_tag | (_by_lexicon(self.present, tokens) > 0)  # (B, K, T)
        present = present & mask.bool()[:, None, :]
        negated = negated[:, None, :]  # (B, 1, T)
        stats = [_stats(scores, present & ~negated), _stats(scores, present & negated)]
        features = torch.stack(stats, dim=2)  # (B, K, 2, 8)
        return features.flatten(1)  # (B, 16 K)


def _lookup(table: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """(V,) table read at tokens (B, T) -> (B, T); index_select is the fast gather on CPU."""
    return table.index_select(0, tokens.reshape(-1)).view(tokens.shape)


def _by_lexicon(table: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """(V, K) table read at tokens (B, T) -> (B, K, T), contiguous."""
    return nn.functional.embedding(tokens, table).transpose(1, 2).contiguous()


def _stats(scores: torch.Tensor, member: torch.Tensor) -> torch.Tensor:
    """scores (B, K, T), member (B, K, T) bool -> (B, K, 8) in `lexicons.STATS` order."""
    zero = torch.zeros_like(scores)
    values = torch.where(member, scores, zero)  # (B, K, T)
    positive, negative = member & (scores > 0), member & (scores < 0)
    big = torch.full_like(scores, float("inf"))
    largest = torch.where(member, scores, -big).amax(dim=-1)  # (B, K)
    smallest = torch.where(member, scores, big).amin(dim=-1)
    width = scores.shape[-1]
    position = torch.arange(1, width + 1, device=scores.device, dtype=scores.dtype)
    last_plus_one = (member.to(scores.dtype) * position).amax(dim=-1)  # (B, K), 0: none
    found = last_plus_one > 0  # (B, K)
    last_at = (last_plus_one - 1).clamp(min=0).long()  # (B, K)
    last = torch.gather(values, 2, last_at[:, :, None])[:, :, 0]  # (B, K)
    no = torch.zeros_like(largest)
    out = [
        positive.sum(dim=-1).to(scores.dtype),
        negative.sum(dim=-1).to(scores.dtype),
        torch.where(positive, scores, zero).sum(dim=-1),
        torch.where(negative, scores, zero).sum(dim=-1),
        torch.where(found, largest, no),
        torch.where(found, smallest, no),
        last,
        values.sum(dim=-1),
    ]
    return torch.stack(out, dim=2)  # (B, K, 8)


class NormalizedTweetFeatures(nn.Module):
    """`TweetLexiconFeatures` followed by batch normalisation: what a head reads beside its
    pooled vector (counts and sums have very different scales). tokens, mask -> (B, F)."""

    def __init__(self, features: TweetLexiconFeatures) -> None:
        super().__init__()
        self.features = features
        self.norm = nn.BatchNorm1d(features.output_dim)
        self.output_dim = features.output_dim

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return batch_norm(self.norm, self.features(tokens, mask.to(self.features.scores.dtype)))


def batch_norm(norm: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """norm(x) (B, F); a training batch of one tweet (an epoch's last batch can be one) is
    normalised with the running statistics, which batch statistics of one row cannot replace."""
    if norm.training and x.shape[0] == 1:
        return nn.functional.batch_norm(
            x, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps
        )
    return norm(x)
