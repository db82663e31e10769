"""The biLM as a language model: `ElmoBiLm` + one softmax shared by both directions.

Peters et al. 2018, eq. 1: jointly maximise the forward and backward log likelihoods

    sum_k  log p(t_k | t_1..t_k-1; Θ_x, →Θ_LSTM, Θ_s) + log p(t_k | t_k+1..t_N; Θ_x, ←Θ_LSTM, Θ_s)

with the token representation Θ_x (character CNN, highway, projection) and the softmax Θ_s
shared, separate LSTMs per direction. Each sentence is `<S> t_1..t_N </S>`: the forward LM
reads the top layer at positions 0..N and predicts tokens 1..N+1, the backward LM reads
positions 1..N+1 and predicts 0..N. Every batch starts from a zero LSTM state, as tweetsent's
biLM runs at inference.

Softmax: full, p(w | h) = softmax(W h + b), or sampled (Jean et al. 2015) with a log-uniform
proposal over the frequency-ranked vocabulary, Q(k) = log((k+2)/(k+1)) / log(V+1): S ids are
drawn per batch (data-parallel ranks draw the same S ids for their shares of one global
batch: `sample_generator`), every logit gets `- log(S Q(k))` (the expected-count correction of
TensorFlow's `sampled_softmax_loss`) and a sampled id equal to the target is masked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from tweetsent.embed.elmo.bilm import ElmoBiLm
from tweetsent.embed.elmo.options import ElmoOptions


@dataclass
class LmLoss:
    """Summed negative log likelihoods of one batch, per direction, and the token count."""

    forward: torch.Tensor  # scalar, sum over predicted tokens
    backward: torch.Tensor
    tokens: int  # predictions per direction (words + one sentence marker per sentence)

    @property
    def mean(self) -> torch.Tensor:
        """The training objective: mean per-token NLL of both directions, averaged."""
        return (self.forward + self.backward) / (2 * max(self.tokens, 1))


def log_uniform_probs(vocab_size: int) -> torch.Tensor:
    """Q(k) = log((k+2)/(k+1)) / log(V+1) for k = 0..V-1 (sums to 1)."""
    k = torch.arange(vocab_size, dtype=torch.float64)
    return (torch.log1p(1.0 / (k + 1.0)) / math.log(vocab_size + 1.0)).float()  # (V,)


class BiLmLanguageModel(nn.Module):
    """Forward and backward LM losses of `bilm` over a word vocabulary of `vocab_size`."""

    _log_q: torch.Tensor  # a buffer (register_buffer below), declared for the type checker

    def __init__(
        self,
        options: ElmoOptions,
        vocab_size: int,
        dropout: float = 0.1,
        n_samples: int = 0,  # 0: full softmax
    ) -> None:
        super().__init__()
        self.bilm = ElmoBiLm(options)
        self.softmax_weight = nn.Parameter(
            torch.randn(vocab_size, options.projection_dim) * options.projection_dim**-0.5
        )
        self.softmax_bias = nn.Parameter(torch.zeros(vocab_size))
        self.dropout = nn.Dropout(dropout)
        self.n_samples = min(n_samples, vocab_size - 1) if n_samples > 0 else 0
        self.register_buffer("_log_q", torch.log(log_uniform_probs(vocab_size)), persistent=False)
        # Where the sampled ids come from: None is torch's global generator (one process);
        # data-parallel ranks share one generator of their own, so they draw the same ids.
        self.sample_generator: torch.Generator | None = None

    @property
    def vocab_size(self) -> int:
        return self.softmax_weight.size(0)

    def hidden(self, char_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Top-layer states at every position of `<S> sentence </S>`.

        char_ids (B, T, C) without markers -> forward (B, T+2, P), backward (B, T+2, P),
        mask (B, T+2). Uses the biLM's own boundary, token and LSTM steps, so the trained
        network is exactly the one `ElmoBiLm.forward` runs.
        """
        bilm = self.bilm
        mask = (char_ids > 0).any(dim=-1)  # (B, T)
        ids, full_mask = bilm.add_boundaries(char_ids, mask)  # (B, T+2, C), (B, T+2)
        tokens = self.dropout(bilm.token_vectors(ids, full_mask))  # (B, T+2, P)
        top = self.dropout(bilm.run_lstms(tokens, full_mask.sum(dim=1))[-1])  # (B, T+2, 2P)
        proj = bilm.options.projection_dim
        return top[..., :proj], top[..., proj:], full_mask

    def forward(self, char_ids: torch.Tensor, targets: torch.Tensor, full: bool = False) -> LmLoss:
        """targets (B, T+2): ids of `<S> words </S>`, anything at padding. `full`: exact softmax."""
        forward_h, backward_h, mask = self.hidden(char_ids)
        valid = mask[:, 1:]  # (B, T+1): a prediction per direction at each of these
        f_h, f_y = forward_h[:, :-1][valid], targets[:, 1:][valid]  # (N, P), (N,)
        b_h, b_y = backward_h[:, 1:][valid], targets[:, :-1][valid]
        count = int(f_y.numel())
        if full or not self.n_samples or not self.training:
            return LmLoss(self._full_nll(f_h, f_y), self._full_nll(b_h, b_y), count)
        sampled = self._draw(char_ids.device)  # one draw shared by both directions
        return LmLoss(self._sampled(f_h, f_y, sampled), self._sampled(b_h, b_y, sampled), count)

    def _full_nll(self, h: torch.Tensor, y: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """Exact summed NLL, `chunk` tokens at a time (the logits are tokens x V)."""
        total = h.new_zeros(())
        for start in range(0, h.size(0), chunk):
            logits = F.linear(h[start : start + chunk], self.softmax_weight, self.softmax_bias)
            total = total + F.cross_entropy(logits, y[start : start + chunk], reduction="sum")
        return total

    def _draw(self, device: torch.device) -> torch.Tensor:
        """S ids from the log-uniform proposal (inverse CDF: floor(exp(u log(V+1))) - 1)."""
        u = torch.rand(self.n_samples, dtype=torch.float64, generator=self.sample_generator)
        ids = torch.floor(torch.exp(u * math.log(self.vocab_size + 1.0))).long() - 1
        return ids.clamp_(0, self.vocab_size - 1).to(device)  # (S,)

    def _sampled(self, h: torch.Tensor, y: torch.Tensor, sampled: torch.Tensor) -> torch.Tensor:
        """Sampled-softmax summed NLL with the log expected-count correction."""
        log_count = self._log_q + math.log(self.n_samples)  # log(S Q(k)), (V,)
        true = (h * self.softmax_weight[y]).sum(-1) + self.softmax_bias[y] - log_count[y]  # (N,)
        other = F.linear(h, self.softmax_weight[sampled], self.softmax_bias[sampled])  # (N, S)
        other = other - log_count[sampled]
        other = other.masked_fill(sampled[None, :] == y[:, None], float("-inf"))
        logits = torch.cat([true[:, None], other], dim=1)  # (N, 1 + S), the target is column 0
        return F.cross_entropy(logits, torch.zeros_like(y), reduction="sum")
