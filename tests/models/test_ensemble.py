"""EnsembleClassifier: the model contract over members with their own vocabularies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tweetsent.config import RunConfig
from tweetsent.models import build_model
from tweetsent.models.ensemble import EnsembleClassifier


def _member(vocab_size: int, **model) -> torch.nn.Module:
    config = RunConfig().with_overrides(
        {"embed.kind": "random", "embed.dim": 8, "model.hidden_size": 8}
        | {f"model.{k}": v for k, v in model.items()}
    )
    torch.manual_seed(vocab_size)
    return build_model(config, vocab_size, 3).eval()


@pytest.fixture
def parts():
    """Ensemble vocabulary of 12 ids; member 0 knows 12 tokens, member 1 only 7."""
    members = [_member(12, pooling="attention", attention_hops=2), _member(7, cell="gru")]
    remaps = [np.arange(12), np.array([0, 1, 2, 3, 4, 5, 6, 1, 1, 1, 1, 1])]
    tokens = torch.tensor([[2, 9, 11, 5], [3, 4, 0, 0], [7, 0, 0, 0]])
    lengths = torch.tensor([4, 2, 1])
    return members, remaps, tokens, lengths


def test_output_is_the_weighted_mixture(parts):
    members, remaps, tokens, lengths = parts
    model = EnsembleClassifier(members, 12, remaps, weights=[3.0, 1.0]).eval()
    labels = torch.tensor([0, 2, 1])
    with torch.no_grad():
        out = model(tokens, lengths, labels)
        p0 = F.softmax(members[0](tokens, lengths).logits, -1)
        p1 = F.softmax(members[1](torch.as_tensor(remaps[1])[tokens], lengths).logits, -1)
    expected = 0.75 * p0 + 0.25 * p1
    torch.testing.assert_close(F.softmax(out.logits, -1), expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(out.loss, F.nll_loss(expected.log(), labels), rtol=0, atol=1e-6)
    assert model.has_attention and out.attention.shape == (3, 2, 4)
    assert model.weights.tolist() == [0.75, 0.25]


def test_own_state_round_trip_and_strict_loading(parts):
    members, remaps, tokens, lengths = parts
    model = EnsembleClassifier(members, 12, remaps, [1.0, 2.0])
    state = model.own_state()
    assert sorted(state) == ["remap_0", "remap_1", "weights"]
    fresh = EnsembleClassifier(members, 12)  # zeros, uniform: to be filled
    fresh.load_own_state(state)
    with torch.no_grad():
        assert torch.equal(fresh(tokens, lengths).logits, model(tokens, lengths).logits)
    with pytest.raises(ValueError, match="missing"):
        fresh.load_own_state({"remap_0": state["remap_0"], "weights": state["weights"]})
    with pytest.raises(ValueError, match="unexpected"):
        fresh.load_own_state({**state, "members.0.head.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="not \\(12,\\)"):
        fresh.load_own_state({**state, "remap_1": torch.zeros(5, dtype=torch.int64)})


def test_float64_head_keeps_the_answer(parts):
    members, remaps, tokens, lengths = parts
    model = EnsembleClassifier(members, 12, remaps).eval()
    with torch.no_grad():
        before = F.softmax(model(tokens, lengths).logits, -1)
        model.float64_head()
        after = model(tokens, lengths).logits
    assert after.dtype == torch.float64
    torch.testing.assert_close(F.softmax(after, -1).float(), before, rtol=0, atol=1e-6)


def test_bad_arguments():
    member = _member(5)
    with pytest.raises(ValueError, match="at least 2"):
        EnsembleClassifier([member], 5)
    with pytest.raises(ValueError, match="not \\(5,\\)"):
        EnsembleClassifier([member, member], 5, [np.arange(5), np.arange(4)])
    with pytest.raises(ValueError, match=">= 0"):
        EnsembleClassifier([member, member], 5, weights=[1.0, -1.0])
