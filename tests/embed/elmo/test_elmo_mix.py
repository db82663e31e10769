"""ScalarMix: gamma * sum softmax(w)_j h_j over chosen layers, optional layer norm, dropout."""

from __future__ import annotations

import pytest
import torch

from tweetsent.embed.elmo import ScalarMix
from tweetsent.errors import ConfigError


def _layers() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    layers = torch.randn(3, 2, 3, 4) * mask[None, :, :, None]  # (L, B, T, D), zero padding
    return layers, mask


def test_initial_mix_is_the_mean_and_gamma_scales() -> None:
    layers, mask = _layers()
    mix = ScalarMix(3, dropout=0.0)
    torch.testing.assert_close(mix(layers, mask), layers.mean(dim=0))
    with torch.no_grad():
        mix.gamma.fill_(2.0)
        mix.scalars.copy_(torch.tensor([0.0, 0.0, 50.0]))  # softmax ~ (0, 0, 1)
    torch.testing.assert_close(mix(layers, mask), 2.0 * layers[2], atol=1e-5, rtol=0)
    assert mix.weights().sum().item() == pytest.approx(1.0)


def test_layer_selection() -> None:
    layers, mask = _layers()
    mix = ScalarMix(3, layers=[1, 2], dropout=0.0)
    torch.testing.assert_close(mix(layers, mask), layers[1:].mean(dim=0))
    top = ScalarMix(3, layers=[2], dropout=0.0)
    torch.testing.assert_close(top(layers), layers[2])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": [3]}, "0..2"),
        ({"layers": []}, "non-empty"),
        ({"layers": [1, 1]}, "distinct"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_settings(kwargs, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ScalarMix(3, **kwargs)


def test_layer_norm_uses_only_unmasked_positions() -> None:
    layers, mask = _layers()
    mix = ScalarMix(3, layers=[0], dropout=0.0, layer_norm=True)
    out = mix(layers, mask)
    real = out[mask]  # (tokens, D)
    assert real.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert real.pow(2).mean().item() == pytest.approx(1.0, abs=1e-4)
    assert (out[~mask] == 0).all()
    with pytest.raises(ValueError, match="mask"):
        mix(layers)


def test_dropout_train_vs_eval_and_gradients() -> None:
    layers, mask = _layers()
    mix = ScalarMix(3, dropout=0.5)
    mix.eval()
    torch.testing.assert_close(mix(layers, mask), layers.mean(dim=0))
    mix.train()
    torch.manual_seed(1)
    out = mix(layers, mask)
    kept = out[mask] != 0
    assert 0 < kept.float().mean() < 1  # some values dropped, the rest scaled by 2
    out.sum().backward()
    assert mix.scalars.grad is not None and mix.gamma.grad is not None


def test_float16_cache_input_is_mixed_in_float32() -> None:
    layers, mask = _layers()
    out = ScalarMix(3, dropout=0.0)(layers.half(), mask)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, layers.mean(dim=0), atol=2e-3, rtol=0)
    with pytest.raises(ValueError, match=r"expected layers \(3, B, T, D\)"):
        ScalarMix(3)(layers[:2])


def test_wide_dropout_drops_p_and_keeps_the_mean() -> None:
    from tweetsent.embed.elmo.mix import WideDropout

    drop = WideDropout(0.3)
    x = torch.ones(64, 50, 100)
    torch.manual_seed(3)
    out = drop(x)
    assert (out == 0).float().mean().item() == pytest.approx(0.3, abs=0.005)
    assert out.mean().item() == pytest.approx(1.0, abs=0.02)  # kept ones scaled by 1 / 0.7
    assert out.unique().tolist() == [0.0, pytest.approx(1 / 0.7, rel=1e-4)]  # p to 2^-16
    torch.manual_seed(3)
    assert torch.equal(drop(x), out)  # seeded like nn.Dropout
    assert not torch.equal(drop(x), out)  # and a fresh mask each call
    drop.eval()
    assert torch.equal(drop(x), x)


def test_wide_dropout_zeroes_padding_and_passes_gradients() -> None:
    from tweetsent.embed.elmo.mix import WideDropout

    mask = torch.tensor([[True, True, False], [True, False, False]])
    x = torch.randn(2, 3, 4000, requires_grad=True)
    for p in (0.0, 0.5):
        out = WideDropout(p)(x, mask)
        assert (out[~mask] == 0).all() and (out[mask] != 0).any()
        out.sum().backward()
        assert x.grad is not None and (x.grad[~mask] == 0).all()
        dropped = (out[mask] == 0) & (x[mask] != 0)
        assert (x.grad[mask][dropped] == 0).all()
        x.grad = None
    with pytest.raises(ConfigError, match="dropout"):
        WideDropout(1.0)
