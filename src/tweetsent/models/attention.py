"""Structured self-attention pooling (Lin et al. 2017, "A Structured Self-attentive Sentence
Embedding", ICLR 2017, https://arxiv.org/abs/1703.03130).

For a tweet's RNN states H (n x 2u, one row per token):

    A = softmax(W_s2 tanh(W_s1 H^T))        W_s1: d_a x 2u, W_s2: r x d_a, no biases  (r x n)
    M = A H                                  the sentence matrix                       (r x 2u)
    P = || A A^T - I ||_F^2                  penalization term, mean over the batch

Each of the r rows of A ("hops") is a distribution over the tokens, softmax taken over the real
tokens only: padding gets a score of -inf, hence a weight of exactly 0. M is flattened into the
classifier's MLP head, and `coefficient * P` is added to the loss: it pushes the hops towards
different tokens (A A^T -> I) and each hop towards few tokens. With r = 1, the pooling is the
common single-hop attention (as in the DataStories SemEval-2017 system), where P would only
sharpen the one distribution: the `single` preset (config.ATTENTION_PRESETS) sets it to 0.
"""

from __future__ import annotations

import torch
from torch import nn


def attention_penalty(attention: torch.Tensor) -> torch.Tensor:
    """P = mean over the batch of ||A A^T - I||_F^2, for A (B, r, T) -> a scalar.

    Padding columns of A are 0, so they do not change A A^T.
    """
    gram = attention @ attention.transpose(1, 2)  # (B, r, r)
    identity = torch.eye(gram.shape[-1], device=gram.device, dtype=gram.dtype)  # (r, r)
    return ((gram - identity) ** 2).sum(dim=(1, 2)).mean()  # ()


class SelfAttentionPooling(nn.Module):
    """r hops of attention over the states; pooled = flatten(M), size r * 2u.

    `forward(states (B, T, 2u), mask (B, T), lengths=None)` returns (pooled (B, r * 2u),
    A (B, r, T), coefficient * P); the penalty is a tensor even when the coefficient is 0, so
    that it can be logged the same way for every setting. `lengths` is not used (the pooling
    contract, `models.pooling`).
    """

    def __init__(
        self, input_dim: int, attention_dim: int = 10, hops: int = 5, coefficient: float = 0.1
    ) -> None:
        super().__init__()
        if input_dim < 1 or attention_dim < 1 or hops < 1:
            raise ValueError(
                f"need input_dim, attention_dim, hops >= 1: {input_dim}, {attention_dim}, {hops}"
            )
        if coefficient < 0:
            raise ValueError(f"the penalty coefficient must be >= 0, got {coefficient}")
        self.ws1 = nn.Linear(input_dim, attention_dim, bias=False)  # W_s1: d_a x 2u
        self.ws2 = nn.Linear(attention_dim, hops, bias=False)  # W_s2: r x d_a
        self.hops = hops
        self.coefficient = coefficient
        self.output_dim = hops * input_dim

    def forward(
        self, states: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        scores = self.ws2(torch.tanh(self.ws1(states)))  # (B, T, r) = (W_s2 tanh(W_s1 H^T))^T
        scores = scores.transpose(1, 2)  # (B, r, T)
        keep = mask.unsqueeze(1)  # (B, 1, T)
        weights = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)  # (B, r, T)
        weights = weights.masked_fill(~keep, 0.0)  # a row without tokens: NaN -> 0 (no weight)
        sentence = weights @ states  # (B, r, 2u): M = A H
        pooled = sentence.flatten(start_dim=1)  # (B, r * 2u), hop after hop
        penalty = self.coefficient * attention_penalty(weights)  # ()
        return pooled, weights, penalty
