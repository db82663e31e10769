"""WordEmbedder: shapes, padding row, freezing, dropout, the Embedder protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tweetsent.embed import Embedder, WordEmbedder


def test_from_matrix_looks_up_rows_and_zeroes_padding() -> None:
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    embedder = WordEmbedder.from_matrix(matrix)
    assert embedder.output_dim == 3 and isinstance(embedder, Embedder)
    out = embedder(torch.tensor([[2, 0], [3, 1]]))
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[0, 0].detach().numpy(), matrix[2])
    np.testing.assert_array_equal(out[0, 1].detach().numpy(), 0.0)  # row 0 is padding


def test_random_embedder_and_words_kwarg_is_accepted() -> None:
    embedder = WordEmbedder(10, 5)
    out = embedder(torch.tensor([[1, 2, 0]]), words=[["a", "b"]])
    assert out.shape == (1, 3, 5)
    assert embedder.embedding.weight[0].abs().sum() == 0


def test_freeze_keeps_weights_but_stops_gradients() -> None:
    frozen = WordEmbedder(10, 4, freeze=True)
    assert not frozen.embedding.weight.requires_grad
    assert "embedding.weight" in frozen.state_dict()
    assert WordEmbedder(10, 4).embedding.weight.requires_grad


def test_dropout_only_in_training() -> None:
    embedder = WordEmbedder(10, 64, dropout=0.5)
    tokens = torch.ones(4, 8, dtype=torch.long)
    assert (embedder(tokens) == 0).any()
    embedder.eval()
    assert not (embedder(tokens) == 0).any()


def test_matrix_shape_is_checked() -> None:
    with pytest.raises(ValueError, match=r"embedding weights are \(4, 3\), expected \(5, 3\)"):
        WordEmbedder(5, 3, weights=np.zeros((4, 3), dtype=np.float32))
