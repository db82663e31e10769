"""Structured self-attention (Lin et al. 2017): shapes, masking, penalty, classifiers, reload."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tweetsent.config import ATTENTION_PRESETS, EmbedConfig, ModelConfig, RunConfig
from tweetsent.config import attention_preset as preset_overrides
from tweetsent.errors import ConfigError
from tweetsent.models import build_model, build_pooling
from tweetsent.models.attention import SelfAttentionPooling, attention_penalty

LENGTHS = torch.tensor([4, 1, 6, 2])


def states_and_mask(hidden: int = 6, width: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    mask = torch.arange(width)[None, :] < LENGTHS[:, None]  # (B, T)
    states = torch.randn(len(LENGTHS), width, hidden)  # (B, T, H), padding NOT zeroed on purpose
    return states, mask


def test_shapes_and_rows_of_a_sum_to_one_over_real_tokens() -> None:
    pool = SelfAttentionPooling(6, attention_dim=4, hops=3, coefficient=0.5)
    states, mask = states_and_mask()
    pooled, attention, penalty = pool(states, mask)
    assert pool.output_dim == 18
    assert pooled.shape == (4, 18) and attention.shape == (4, 3, 6) and penalty.shape == ()
    torch.testing.assert_close(attention.sum(-1), torch.ones(4, 3))
    assert (attention[~mask.unsqueeze(1).expand_as(attention)] == 0).all()  # exactly 0
    assert (attention[mask.unsqueeze(1).expand_as(attention)] > 0).all()
    assert torch.equal(attention[1, :, 0], torch.ones(3))  # one token takes all the weight
    # M = A H, flattened hop after hop
    torch.testing.assert_close(pooled.view(4, 3, 6), attention @ states)


def test_padding_changes_nothing() -> None:
    pool = SelfAttentionPooling(6, attention_dim=4, hops=3)
    states, mask = states_and_mask()
    pooled, attention, _ = pool(states, mask)
    noisy = states.masked_fill(~mask.unsqueeze(-1), 1e3)  # any values at padding
    again, attention_again, _ = pool(noisy, mask)
    torch.testing.assert_close(again, pooled)
    torch.testing.assert_close(attention_again, attention)
    alone, attention_alone, _ = pool(states[2:3, :6], mask[2:3, :6])
    torch.testing.assert_close(alone[0], pooled[2])


def test_a_row_without_tokens_gets_no_weight_and_no_nan() -> None:
    pool = SelfAttentionPooling(6, attention_dim=4, hops=2)
    states = torch.randn(2, 3, 6, requires_grad=True)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    pooled, attention, penalty = pool(states, mask)
    assert torch.equal(attention[1], torch.zeros(2, 3)) and torch.equal(pooled[1], torch.zeros(12))
    (pooled.sum() + penalty).backward()
    assert torch.isfinite(states.grad).all() and torch.isfinite(pool.ws1.weight.grad).all()


def test_the_formula_with_the_papers_no_bias_projections() -> None:
    pool = SelfAttentionPooling(6, attention_dim=4, hops=3)
    assert pool.ws1.bias is None and pool.ws2.bias is None
    assert pool.ws1.weight.shape == (4, 6) and pool.ws2.weight.shape == (3, 4)  # d_a x 2u, r x d_a
    states, mask = states_and_mask()
    _, attention, _ = pool(states, mask)
    h = states[0, :4]  # (n, 2u), the 4 real tokens of tweet 0
    expected = torch.softmax(pool.ws2.weight @ torch.tanh(pool.ws1.weight @ h.T), dim=-1)  # (r, n)
    torch.testing.assert_close(attention[0, :, :4], expected)


def test_penalty_by_hand() -> None:
    # Two hops over three tokens: A = [[1, 0, 0], [0.5, 0.5, 0]].
    # A A^T = [[1, 0.5], [0.5, 0.5]]; minus I: [[0, 0.5], [0.5, -0.5]]; squared sum = 0.75.
    a = torch.tensor([[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]])
    assert float(attention_penalty(a)) == pytest.approx(0.75)
    # The mean over the batch: with a second tweet of uniform hops over two tokens,
    # A A^T = [[.5, .5], [.5, .5]] -> (0.25 + 0.25 + 0.25 + 0.25) = 1.0; mean (0.75 + 1) / 2.
    b = torch.tensor([[[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]])
    assert float(attention_penalty(torch.cat([a, b]))) == pytest.approx(0.875)


def test_penalty_is_zero_for_orthogonal_one_hot_hops() -> None:
    a = torch.eye(4)[[2, 0, 3]].unsqueeze(0)  # (1, 3, 4): three hops on three different tokens
    assert float(attention_penalty(a)) == 0.0


def test_penalty_is_scaled_by_the_coefficient_and_added_to_the_loss() -> None:
    states, mask = states_and_mask()
    torch.manual_seed(3)
    pool = SelfAttentionPooling(6, attention_dim=4, hops=3, coefficient=0.25)
    _, attention, penalty = pool(states, mask)
    torch.testing.assert_close(penalty, 0.25 * attention_penalty(attention))
    net = build_model(config(attention_penalty=0.25), 20, 3)
    tokens = torch.randint(1, 20, (4, 6)).masked_fill(~mask, 0)
    labels = torch.tensor([0, 1, 2, 0])
    out = net.eval()(tokens, LENGTHS, labels)
    ce = torch.nn.functional.cross_entropy(out.logits, labels)
    torch.testing.assert_close(out.loss, ce + out.penalty)
    torch.testing.assert_close(out.penalty, 0.25 * attention_penalty(out.attention))


def config(**model) -> RunConfig:
    fields = {"pooling": "attention", "hidden_size": 5, "attention_da": 4, "attention_hops": 3}
    fields |= {"attention_mlp": 7}
    return RunConfig(embed=EmbedConfig(kind="random", dim=6), model=ModelConfig(**fields | model))


GRID = list(itertools.product(["lstm", "gru"], [False, True], [1, 2]))


@pytest.mark.parametrize(("cell", "bidirectional", "layers"), GRID)
def test_classifier_contract_and_save_reload(
    cell: str, bidirectional: bool, layers: int, tmp_path: Path
) -> None:
    cfg = config(cell=cell, bidirectional=bidirectional, num_layers=layers)
    torch.manual_seed(0)
    net = build_model(cfg, 20, 3).eval()
    width = 10 if bidirectional else 5
    assert net.pooling.output_dim == 3 * width
    assert net.head[0].in_features == 3 * width and net.head[0].out_features == 7  # MLP head
    tokens = torch.tensor([[3, 4, 5, 0], [6, 0, 0, 0], [7, 8, 9, 10]])
    lengths = torch.tensor([3, 1, 4])
    out = net(tokens, lengths, torch.tensor([0, 1, 2]))
    assert out.logits.shape == (3, 3) and out.attention.shape == (3, 3, 4)
    assert out.penalty.ndim == 0 and out.loss.ndim == 0
    out.loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "w.st"))
    torch.manual_seed(99)
    rebuilt = build_model(cfg, 20, 3).eval()
    rebuilt.load_state_dict(load_file(str(tmp_path / "w.st")), strict=True)
    with torch.no_grad():
        first, second = net(tokens, lengths), rebuilt(tokens, lengths)
    assert torch.equal(first.attention, second.attention)
    assert torch.equal(first.logits, second.logits)


def test_linear_head_and_single_hop() -> None:
    net = build_model(config(attention_mlp=0, attention_hops=1), 20, 3)
    assert isinstance(net.head[-1], torch.nn.Linear) and net.head[-1].in_features == 10
    out = net(torch.tensor([[3, 4, 0]]), torch.tensor([2]))
    assert out.attention.shape == (1, 1, 3)


def test_config_validation_and_presets() -> None:
    with pytest.raises(ConfigError, match="model.attention_hops"):
        ModelConfig(attention_hops=0)
    with pytest.raises(ConfigError, match="model.attention_penalty"):
        ModelConfig(attention_penalty=-1.0)
    with pytest.raises(ConfigError, match="model.pooling"):
        ModelConfig(pooling="attn")
    study = RunConfig().with_overrides(preset_overrides("study")).model
    default = ModelConfig()
    assert (study.attention_da, study.attention_hops) == (10, 5)
    assert (default.attention_da, default.attention_hops) == (10, 5)
    assert study.attention_penalty == default.attention_penalty
    paper = RunConfig().with_overrides(preset_overrides("paper")).model
    assert (paper.pooling, paper.attention_da, paper.attention_hops) == ("attention", 350, 30)
    assert paper.attention_penalty == 1.0
    assert ATTENTION_PRESETS["single"]["attention_hops"] == 1
    with pytest.raises(ConfigError, match="attention preset 'huge'"):
        preset_overrides("huge")


def test_factory_builds_attention() -> None:
    pool = build_pooling("attention", 8, attention_dim=3, hops=2, penalty=0.0)
    assert isinstance(pool, SelfAttentionPooling) and pool.output_dim == 16
    with pytest.raises(ValueError, match="coefficient"):
        SelfAttentionPooling(8, coefficient=-0.1)


def test_the_paper_setting_is_one_flag_away() -> None:
    from tweetsent.cli import build_parser, config_from_args

    args = build_parser().parse_args(["train", "--attention-preset", "paper"])
    model = config_from_args(args).model
    assert (model.pooling, model.attention_da, model.attention_hops) == ("attention", 350, 30)
    assert model.attention_penalty == 1.0
    args = build_parser().parse_args(
        ["train", "--attention-preset", "paper", "--attention-hops", "7"]
    )
    assert config_from_args(args).model.attention_hops == 7  # flags override the preset
    args = build_parser().parse_args(["train", "--attention-preset", "single"])
    assert config_from_args(args).model.attention_hops == 1
