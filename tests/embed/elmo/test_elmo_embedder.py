"""ElmoEmbedder: mixed biLM layers (+ word vectors), cached or on the fly; EmbedConfig for ELMo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tweetsent.config import ELMO_MODELS, EmbedConfig, RunConfig
from tweetsent.data.features import FeatureBatch
from tweetsent.embed import WordEmbedder
from tweetsent.embed.elmo import ElmoEmbedder, ElmoSource, bilm_features, load_bilm
from tweetsent.embed.elmo.registry import MODELS
from tweetsent.errors import ConfigError
from tweetsent.models import build_model

SENTENCES = [["what", "a", "day"], ["ok"], [], ["café", "🙂", "x", "y", "z"]]


def ids_for(sentences) -> torch.Tensor:
    width = max(max(len(s) for s in sentences), 1)
    tokens = torch.zeros(len(sentences), width, dtype=torch.long)
    for row, words in enumerate(sentences):
        tokens[row, : len(words)] = torch.arange(2, 2 + len(words))
    return tokens


def test_output_is_the_scalar_mix_beside_word_vectors(tiny_files) -> None:
    bilm = load_bilm(*tiny_files)
    words = WordEmbedder(20, 5)
    embedder = ElmoEmbedder(bilm, layers=[1, 2], dropout=0.0, words=words).eval()
    assert embedder.output_dim == 16 + 5
    tokens = ids_for(SENTENCES)
    out = embedder(tokens, words=SENTENCES)  # (B, T, 21)
    assert out.shape == (4, 5, 21)
    layers = bilm_features(bilm, SENTENCES).layers.float()  # (3, 4, 5, 16)
    s = torch.softmax(embedder.mix.scalars, 0)
    want = embedder.mix.gamma * (s[0] * layers[1] + s[1] * layers[2])
    torch.testing.assert_close(out[..., :16], want)
    torch.testing.assert_close(out[..., 16:], words(tokens))
    assert not out[2, :, :16].any()  # the empty tweet


def test_the_bilm_is_frozen_outside_the_state_dict_but_moves(tiny_files) -> None:
    embedder = ElmoEmbedder(load_bilm(*tiny_files), dropout=0.0)
    assert sorted(embedder.state_dict()) == ["mix.gamma", "mix.scalars"]
    assert all(p.requires_grad for p in embedder.parameters())
    assert not any(p.requires_grad for p in embedder.bilm.parameters())
    embedder.double()
    assert embedder.bilm.char_encoder.projection.weight.dtype == torch.float64
    out = embedder(ids_for(SENTENCES), words=SENTENCES)
    assert out.dtype == torch.float64


def test_cached_batch_and_strings_give_the_same_vectors(tiny_files) -> None:
    bilm = load_bilm(*tiny_files)
    embedder = ElmoEmbedder(bilm, dropout=0.0).eval()
    tokens = ids_for(SENTENCES)
    cached = bilm_features(bilm, SENTENCES)
    torch.testing.assert_close(embedder(tokens, words=cached), embedder(tokens, words=SENTENCES))
    with pytest.raises(ValueError, match="needs words="):
        embedder(tokens)


def test_a_batch_of_the_picked_layers_mixes_like_all_layers(tiny_files) -> None:
    """Cached rows picked to the mix's layers (what training reads) give the same vectors as
    all layers; a batch holding other layers than the mix reads is refused."""
    bilm = load_bilm(*tiny_files)
    embedder = ElmoEmbedder(bilm, layers=[2, 0], dropout=0.0).eval()
    with torch.no_grad():
        embedder.mix.scalars.copy_(torch.tensor([0.3, -0.2]))
    tokens = ids_for(SENTENCES)
    full = bilm_features(bilm, SENTENCES)
    picked = FeatureBatch(full.layers[[2, 0]], full.mask, (2, 0))
    torch.testing.assert_close(embedder(tokens, words=picked), embedder(tokens, words=full))
    with pytest.raises(ValueError, match=r"hold layers \[0, 2\], the mix reads \[2, 0\]"):
        embedder(tokens, words=FeatureBatch(full.layers[[0, 2]], full.mask, (0, 2)))


def test_float64_features_do_not_depend_on_the_batch(tiny_files) -> None:
    bilm = load_bilm(*tiny_files).double()
    alone = bilm_features(bilm, [SENTENCES[0]]).layers[:, 0, :3]
    for batch in (SENTENCES, SENTENCES[::-1], SENTENCES[:1] * 7 + [["x"] * 30]):
        row = batch.index(SENTENCES[0])
        assert torch.equal(bilm_features(bilm, batch).layers[:, row, :3], alone)


def test_layer_choice_is_checked_against_the_model(tiny_files) -> None:
    with pytest.raises(ConfigError, match=r"embed.elmo_layers: \[0, 3\] must lie in 0..2"):
        ElmoEmbedder(load_bilm(*tiny_files), layers=[0, 3])


def elmo_config(files: tuple[Path, Path], **fields) -> RunConfig:
    embed = {"kind": "elmo", "elmo_options": str(files[0]), "elmo_weights": str(files[1])}
    return RunConfig.from_dict({"embed": {**embed, **fields}, "model": {"hidden_size": 8}})


def test_build_model_with_elmo_alone_or_concatenated(tiny_files) -> None:
    model = build_model(elmo_config(tiny_files), vocab_size=30, num_labels=3)
    assert isinstance(model.embedder, ElmoEmbedder) and model.embedder.words is None
    assert model.embedder.source == ElmoSource.from_files(*tiny_files)
    config = elmo_config(tiny_files, elmo_concat="random", dim=6, elmo_layers="2")
    model = build_model(config, vocab_size=30, num_labels=3).eval()
    assert model.embedder.output_dim == 22 and model.embedder.mix.layers == [2]
    out = model(ids_for(SENTENCES), torch.tensor([3, 1, 0, 5]), words=SENTENCES)
    assert out.logits.shape == (4, 3)
    matrix = np.ones((30, 6), dtype=np.float32)
    model = build_model(config, 30, 3, embedding_matrix=matrix)
    assert torch.equal(model.embedder.words.embedding.weight[1], torch.ones(6))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "needs elmo_model, or elmo_options and elmo_weights"),
        ({"elmo_options": "o.json"}, "needs elmo_model"),
        ({"elmo_model": "tiny"}, "embed.elmo_model: 'tiny' is not one of"),
        ({"elmo_model": "small", "elmo_weights": "w"}, "a model name or options"),
        ({"elmo_model": "small", "elmo_layers": "1,1"}, "embed.elmo_layers"),
        ({"elmo_model": "small", "elmo_layers": "top"}, "embed.elmo_layers"),
        ({"elmo_model": "small", "elmo_concat": "bert"}, "embed.elmo_concat"),
        ({"elmo_model": "small", "elmo_concat": "vectors"}, "embed.path: required"),
        ({"elmo_model": "small", "elmo_dropout": 1.0}, "embed.elmo_dropout"),
    ],
)
def test_embed_config_for_elmo_names_the_bad_field(fields, message) -> None:
    with pytest.raises(ConfigError, match=message):
        EmbedConfig(kind="elmo", **fields)


def test_embed_config_for_elmo_defaults() -> None:
    config = EmbedConfig(kind="elmo", elmo_model="original")
    assert config.word_kind == "none" and config.needs_words and config.elmo_cache
    assert config.elmo_layer_indices() is None
    chosen = EmbedConfig(kind="elmo", elmo_model="small", elmo_layers=" 2, 0")
    assert chosen.elmo_layer_indices() == [2, 0]
    assert EmbedConfig().word_kind == "glove-kumo" and not EmbedConfig().needs_words
    assert tuple(MODELS) == ELMO_MODELS  # the config's list of registry names is complete
