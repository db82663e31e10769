"""An ensemble of classifiers as one model: a weighted mean of the members' probabilities.

    p(y | x) = sum_m w_m softmax(f_m(x))_y,     w_m >= 0, sum_m w_m = 1

The members read one shared vocabulary: each keeps its own ids, reached through a lookup
table `remap_m[ensemble id] = member id` (a word a member never saw is its `<unk>`), so one
tokenisation and one id encoding serve every member, and the ensemble is a model like the
others: `forward(tokens, lengths, labels=None)`, saved as safetensors, served, exported.
The logits it returns are log p, so softmax gives back the mixture; the loss is its negative
log-likelihood. Attention, when asked for, is the first attention member's (every member
reads the same token positions).

Only the ensemble's own buffers (`remap_*`, `weights`) are its weights (`own_state`): each
member keeps its weights in its own run directory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tweetsent.models.inputs import checked_inputs
from tweetsent.models.outputs import ClassifierOutput

MEMBERS_PREFIX = "members."  # state-dict keys of the members' own weights


class EnsembleClassifier(nn.Module):
    """`members` (each a classifier of the model contract), `remaps` (one (V,) int array per
    member: ensemble id -> member id; None builds zeros for a saved state to fill),
    `weights` (one per member, normalised to sum 1; None = uniform; a buffer, saved)."""

    weights: torch.Tensor  # a buffer (register_buffer below), declared for the type checker

    def __init__(
        self,
        members: Sequence[nn.Module],
        vocab_size: int,
        remaps: Sequence[np.ndarray] | None = None,
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        if remaps is not None and len(remaps) != len(members):
            raise ValueError(f"{len(remaps)} remaps for {len(members)} members")
        self.members = nn.ModuleList(members)
        for index in range(len(members)):
            remap = torch.zeros(vocab_size, dtype=torch.int64)
            if remaps is not None:
                remap = torch.as_tensor(np.asarray(remaps[index], dtype=np.int64))
                if tuple(remap.shape) != (vocab_size,):
                    raise ValueError(f"remap {index} is {tuple(remap.shape)}, not ({vocab_size},)")
            self.register_buffer(f"remap_{index}", remap)
        self.register_buffer("weights", normalised_weights(weights, len(members)))
        # ELMo members read the token strings; the others only their ids
        self._words = [_needs_words(member) for member in members]

    @property
    def has_attention(self) -> bool:
        return any(bool(getattr(member, "has_attention", False)) for member in self.members)

    def float64_head(self) -> None:
        """Serving's mixed precision, member by member (a member without its own float64
        head runs wholly in float64); the mixture is then computed in float64 too."""
        for member in self.members:
            own = getattr(member, "float64_head", None)
            if own is not None:
                own()
            else:
                member.double()

    def own_state(self) -> dict[str, torch.Tensor]:
        """The ensemble's own buffers (remaps, weights), without the members' weights."""
        return {
            key: value.detach().cpu().contiguous()
            for key, value in self.state_dict().items()
            if not key.startswith(MEMBERS_PREFIX)
        }

    def load_own_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load `own_state()` output strictly: every own buffer, nothing else, same shapes."""
        own = self.own_state()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
            raise ValueError(f"ensemble weights do not fit ({what})")
        for key, value in state.items():
            if tuple(value.shape) != tuple(own[key].shape):
                raise ValueError(
                    f"ensemble weight {key} is {tuple(value.shape)}, not {tuple(own[key].shape)}"
                )
        self.load_state_dict(state, strict=False)

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        words: Sequence[Sequence[str]] | None = None,
    ) -> ClassifierOutput:
        """tokens (B, T) ensemble ids, lengths (B,) -> logits = log of the mixed probabilities."""
        tokens, lengths = checked_inputs(tokens, lengths)
        mixed = None
        attention = None
        for index, member in enumerate(self.members):
            remap = getattr(self, f"remap_{index}")
            extra = {"words": words} if words is not None and self._words[index] else {}
            ids = remap.index_select(0, tokens.reshape(-1)).view(tokens.shape)  # member ids
            output = member(ids, lengths, **extra)  # (B, T) in, (B, C) out
            probs = F.softmax(output.logits, dim=-1) * self.weights[index]  # (B, C)
            mixed = probs if mixed is None else mixed + probs
            if attention is None and output.attention is not None:
                attention = output.attention  # (B, hops, T)
        assert mixed is not None  # an ensemble has at least 2 members (checked at __init__)
        logits = torch.log(mixed.clamp_min(torch.finfo(mixed.dtype).tiny))  # (B, C)
        loss = None
        if labels is not None:
            loss = F.nll_loss(logits.float(), labels.to(logits.device))
        return ClassifierOutput(logits=logits, loss=loss, attention=attention)


def _needs_words(member: nn.Module) -> bool:
    return bool(getattr(getattr(member, "embedder", None), "needs_words", False))


def normalised_weights(weights: Sequence[float] | None, count: int) -> torch.Tensor:
    """(count,) float32 summing to 1; uniform when None. Negative or all-zero weights fail."""
    if weights is None:
        return torch.full((count,), 1.0 / count)
    values = torch.as_tensor(list(weights), dtype=torch.float64)
    if values.shape != (count,):
        raise ValueError(f"{values.numel()} weights for {count} members")
    if bool((values < 0).any()) or not bool(torch.isfinite(values).all()) or values.sum() <= 0:
        raise ValueError(f"ensemble weights must be finite, >= 0, not all 0: {values.tolist()}")
    return (values / values.sum()).float()
