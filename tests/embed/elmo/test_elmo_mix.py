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
