"""Every classifier: output contract, padding invariance, save -> rebuild -> identical logits."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from tweetsent.config import EmbedConfig, ModelConfig, RunConfig
from tweetsent.errors import ConfigError
from tweetsent.models import (
    ClassifierOutput,
    FeedForwardClassifier,
    SequenceClassifier,
    build_model,
)
from tweetsent.models import pooling as pooling_module
from tweetsent.models import rnn as rnn_module
from tweetsent.models.cnn import CNNEncoder
from tweetsent.models.inputs import unpadded

VOCAB, LABELS, DIM = 30, 3, 6

RNN_GRID = [
    {"cell": c, "bidirectional": b, "pooling": p, "num_layers": n}
    for c, b, p, n in itertools.product(
        ["lstm", "gru"], [False, True], ["last", "mean", "max"], [1, 2]
    )
]
CNN_GRID = [
    {"kind": "cnn", "cnn_filters": 4, "cnn_widths": widths, "pooling": p}
    for widths, p in [([1, 2, 3, 4], "max"), ([3], "mean"), ([2, 5], "last")]
]
GRID = RNN_GRID + CNN_GRID + [{"kind": "feedforward"}]


def grid_id(model: dict) -> str:
    if model.get("kind") == "feedforward":
        return "feedforward"
    if model.get("kind") == "cnn":
        return f"cnn-{'-'.join(map(str, model['cnn_widths']))}-{model['pooling']}"
    direction = "bi" if model["bidirectional"] else "uni"
    return f"{model['cell']}-{direction}-{model['pooling']}-{model['num_layers']}"


def config(**model) -> RunConfig:
    fields = {"hidden_size": 8, "mlp_hidden": 8, "layer_dropout": 0.2, "output_dropout": 0.3}
    return RunConfig(
        embed=EmbedConfig(kind="random", dim=DIM, dropout=0.1), model=ModelConfig(**fields | model)
    )


def make(model: dict, seed: int = 0, **kwargs) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(config(**model), VOCAB, LABELS, **kwargs)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([3, 7, 1, 5])
    tokens = torch.randint(1, VOCAB, (4, 7), generator=torch.Generator().manual_seed(1))
    tokens[torch.arange(7)[None, :] >= lengths[:, None]] = 0
    return tokens, lengths


@pytest.mark.parametrize("model", GRID, ids=grid_id)
def test_output_contract(model: dict) -> None:
    net = make(model)
    tokens, lengths = batch()
    out = net(tokens, lengths)
    assert isinstance(out, ClassifierOutput)
    assert out.logits.shape == (4, LABELS)
    assert out.loss is None and out.attention is None and out.penalty is None
    labels = torch.tensor([0, 1, 2, 1])
    out = net(tokens, lengths, labels)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)


@pytest.mark.parametrize("model", GRID, ids=grid_id)
def test_padding_does_not_change_a_tweets_logits(model: dict) -> None:
    net = make(model).eval()
    tokens, lengths = batch()
    with torch.no_grad():
        together = net(tokens, lengths).logits
        for row in range(4):
            n = int(lengths[row])
            alone = net(tokens[row : row + 1, :n], lengths[row : row + 1]).logits
            torch.testing.assert_close(alone[0], together[row], rtol=0, atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_unpadded_fast_paths_are_chosen_from_cpu_lengths(monkeypatch, bidirectional) -> None:
    """The encoder and max pooling decide "no padding" from the CPU lengths (no device value
    read on CUDA); the unpadded batch gives the logits of the same rows padded."""
    seen: list[tuple[torch.Tensor, int]] = []

    def spy(lengths: torch.Tensor, width: int) -> bool:
        seen.append((lengths, width))
        return unpadded(lengths, width)

    monkeypatch.setattr(rnn_module, "unpadded", spy)
    monkeypatch.setattr(pooling_module, "unpadded", spy)
    net = make({"cell": "lstm", "bidirectional": bidirectional, "pooling": "max"}).eval()
    tokens = torch.randint(1, VOCAB, (3, 5), generator=torch.Generator().manual_seed(2))
    padded = torch.cat([tokens, torch.zeros(3, 2, dtype=torch.long)], dim=1)  # (3, 7)
    with torch.no_grad():
        full = net(tokens, [5, 5, 5]).logits
        torch.testing.assert_close(net(padded, [5, 5, 5]).logits, full, rtol=0, atol=1e-6)
    assert [width for _, width in seen] == [5, 5, 7, 7]  # encoder, pooling; per batch
    for lengths, _ in seen:
        assert lengths.device.type == "cpu" and lengths.dtype == torch.int64
        assert lengths.tolist() == [5, 5, 5]


@pytest.mark.parametrize("model", GRID, ids=grid_id)
def test_save_rebuild_load_gives_identical_logits(model: dict, tmp_path: Path) -> None:
    matrix = np.random.default_rng(0).normal(size=(VOCAB, DIM)).astype(np.float32)
    net = make(model, embedding_matrix=matrix, class_weights=[1.0, 2.0, 0.5]).eval()
    state = net.state_dict()
    assert "class_weights" not in state and "embedder.embedding.weight" in state
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    rebuilt = make(model, seed=99).eval()  # random embedding: the weights come from the file
    rebuilt.load_state_dict(load_file(str(tmp_path / "model.safetensors")), strict=True)
    tokens, lengths = batch()
    with torch.no_grad():
        assert torch.equal(net(tokens, lengths).logits, rebuilt(tokens, lengths).logits)


def test_class_weights_weigh_the_loss() -> None:
    net = make(RNN_GRID[0], class_weights=[1.0, 2.0, 0.5]).eval()
    tokens, lengths = batch()
    labels = torch.tensor([0, 1, 2, 1])
    out = net(tokens, lengths, labels)
    expected = F.cross_entropy(out.logits, labels, weight=torch.tensor([1.0, 2.0, 0.5]))
    torch.testing.assert_close(out.loss, expected)


def test_composition_and_empty_tweets() -> None:
    net = make({"cell": "gru", "pooling": "max"}).eval()
    assert isinstance(net, SequenceClassifier) and net.encoder.output_dim == 16
    assert isinstance(make({"kind": "feedforward"}), FeedForwardClassifier)
    cnn = make({"kind": "cnn", "cnn_filters": 5, "cnn_widths": [2, 3]})
    assert isinstance(cnn.encoder, CNNEncoder) and cnn.encoder.output_dim == 10
    tokens = torch.tensor([[0, 0], [4, 5]])
    logits = net(tokens, torch.tensor([0, 2])).logits  # an empty tweet reads one padding token
    assert torch.isfinite(logits).all()
    with pytest.raises(ValueError, match="a length of 3 exceeds the 2 token columns"):
        net(tokens, torch.tensor([3, 2]))
    with pytest.raises(ValueError, match=r"\(3,\) lengths for 2 tweets"):
        net(tokens, torch.tensor([1, 2, 2]))
    empty = net(torch.zeros(2, 0, dtype=torch.long), torch.tensor([0, 0])).logits
    assert empty.shape == (2, LABELS) and torch.isfinite(empty).all()


def test_words_are_passed_to_embedders_that_take_them() -> None:
    net = make(RNN_GRID[0]).eval()
    seen = []
    original = net.embedder.forward
    net.embedder.forward = lambda tokens, words=None: seen.append(words) or original(tokens)
    tokens, lengths = batch()
    net(tokens, lengths)
    net(tokens, lengths, words=[["a"]] * 4)
    assert seen == [None, [["a"]] * 4]


def test_build_checks_sizes_and_names_the_field() -> None:
    with pytest.raises(ConfigError, match="embed.dim: 6 but the embedding matrix has 4 columns"):
        make(RNN_GRID[0], embedding_matrix=np.zeros((VOCAB, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="has 5 rows for a vocabulary of 30"):
        make(RNN_GRID[0], embedding_matrix=np.zeros((5, DIM), dtype=np.float32))
    with pytest.raises(ValueError, match="2 class weights for 3 labels"):
        make(RNN_GRID[0], class_weights=[1.0, 1.0])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cell", "rnn"),
        ("pooling", "sum"),
        ("kind", "bert"),  # "transformer" is a kind now (a fine-tuned encoder)
        ("num_layers", 0),
        ("hidden_size", 0),
        ("layer_dropout", 1.0),
        ("output_dropout", -0.1),
        ("mlp_hidden", 0),
        ("cnn_filters", 0),
        ("cnn_widths", []),
        ("cnn_widths", [0, 2]),
        ("cnn_widths", [3.5]),
    ],
)
def test_model_config_errors_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"^model\.{field}: "):
        ModelConfig(**{field: value})


@pytest.mark.parametrize(("field", "value"), [("kind", "elmo2"), ("dim", 0), ("dropout", 0.99)])
def test_embed_config_errors_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"^embed\.{field}: "):
        EmbedConfig(**{field: value})


def test_embed_config_vectors_need_a_path() -> None:
    with pytest.raises(ConfigError, match=r"^embed\.path: "):
        EmbedConfig(kind="vectors")


@pytest.mark.parametrize("model", [*GRID, {"pooling": "attention"}], ids=str)
def test_models_say_whether_they_give_attention(model: dict) -> None:
    assert make(model).has_attention == (model.get("pooling") == "attention")


def test_float64_head_puts_pooling_and_head_in_float64_only() -> None:
    model = make({"pooling": "attention"}).eval()
    tokens, lengths = batch()
    before = model(tokens, lengths).logits
    model.float64_head()
    assert model.head[-1].weight.dtype == torch.float64
    assert model.encoder.forward_layers[0].weight_ih_l0.dtype == torch.float32
    after = model(tokens, lengths).logits
    assert after.dtype == torch.float64
    torch.testing.assert_close(after.float(), before, rtol=1e-5, atol=1e-6)


def test_cnn_states_are_windows_of_the_real_tokens_only() -> None:
    """Width 3 at position t reads tokens t-1, t, t+1; outside the tweet it reads zeros,
    padding included, and states at padding are zero."""
    torch.manual_seed(0)
    encoder = CNNEncoder(input_dim=2, filters=1, widths=[3])
    with torch.no_grad():
        encoder.convs[0].weight.copy_(torch.tensor([[[1.0, 10.0, 100.0], [0.0, 0.0, 0.0]]]))
        encoder.convs[0].bias.zero_()
    x = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [9.0, 0.0]]])  # (1, 4, 2)
    states = encoder(x, torch.tensor([3]))[0, :, 0]  # length 3: the 9 is padding
    # t=0: 0*1 + 1*10 + 2*100; t=1: 1 + 20 + 300; t=2: 2 + 30 + 0 (not 900); t=3 padding
    assert states.tolist() == [210.0, 321.0, 32.0, 0.0]
