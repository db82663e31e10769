"""The biLM: shapes, masking, an independent NumPy reference, determinism, stateful mode."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from tweetsent.embed.elmo import ElmoOptions, batch_to_ids, load_bilm
from tweetsent.embed.elmo.chars import sentence_marker_ids

SENTENCES = [
    ["what", "a", "day", ":)"],
    ["ok"],
    [],
    ["🙂" * 20, "café", "x" * 70, "#tbt", "@you", "so", "gooood"],
    ["no", "way"],
]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def numpy_reference(weights: Path, options: ElmoOptions, sentence: list[str]) -> np.ndarray:
    """Straight from the formulas and the file's TF layout, token by token, step by step."""
    f = h5py.File(weights, "r")
    table = np.vstack([np.zeros((1, options.char_embed_dim)), f["char_embed"][...]])
    act = np.tanh if options.activation == "tanh" else (lambda v: np.maximum(v, 0.0))
    bos, eos = sentence_marker_ids(options.max_chars)
    rows = [bos, *batch_to_ids([sentence])[0].tolist(), eos]
    tokens = []
    for ids in rows:
        chars = table[np.asarray(ids)]  # (C, E)
        feats = []
        for i, (width, _) in enumerate(options.filters):
            kernel = f[f"CNN/W_cnn_{i}"][0]  # (width, E, num)
            windows = np.lib.stride_tricks.sliding_window_view(chars, width, axis=0)  # (T, E, w)
            conv = np.einsum("tew,wen->tn", windows, kernel)
            feats.append(act(conv.max(axis=0) + f[f"CNN/b_cnn_{i}"][...]))
        h = np.concatenate(feats)
        for k in range(options.n_highway):
            g = _sigmoid(h @ f[f"CNN_high_{k}/W_carry"][...] + f[f"CNN_high_{k}/b_carry"][...])
            t = np.maximum(
                h @ f[f"CNN_high_{k}/W_transform"][...] + f[f"CNN_high_{k}/b_transform"][...], 0.0
            )
            h = g * t + (1 - g) * h
        tokens.append(h @ f["CNN_proj/W_proj"][...] + f["CNN_proj/b_proj"][...])
    x = np.array(tokens)

    def run(seq: np.ndarray, direction: int) -> list[np.ndarray]:
        outs, inp = [], seq
        for layer in range(options.n_layers):
            cell = f[f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"]
            w, b, wp = cell["W_0"][...], cell["B"][...], cell["W_P_0"][...]
            h, c, out = np.zeros(options.projection_dim), np.zeros(options.lstm_dim), []
            for xt in inp:
                i, j, fg, o = np.split(np.concatenate([xt, h]) @ w + b, 4)
                c = np.clip(
                    _sigmoid(fg + 1.0) * c + _sigmoid(i) * np.tanh(j),
                    -options.cell_clip,
                    options.cell_clip,
                )
                h = np.clip((_sigmoid(o) * np.tanh(c)) @ wp, -options.proj_clip, options.proj_clip)
                out.append(h)
            out = np.array(out) + (inp if layer > 0 else 0.0)  # skip connections
            outs.append(out)
            inp = out
        return outs

    forward, backward = run(x, 0), [o[::-1] for o in run(x[::-1], 1)]
    layers = [np.concatenate([x, x], -1)]
    layers += [np.concatenate([a, b], -1) for a, b in zip(forward, backward, strict=True)]
    f.close()
    return np.stack(layers)[:, 1:-1]  # drop <S> and </S>


@pytest.mark.parametrize(
    "clips", [(3.0, 3.0), (0.3, 0.1)], ids=["official-clips", "tight-clips-active"]
)
def test_matches_numpy_reference(tmp_path: Path, tiny_options, make_model, clips) -> None:
    options = ElmoOptions(
        **{
            **tiny_options.__dict__,
            "cell_clip": clips[0],
            "proj_clip": clips[1],
            "activation": "tanh",
            "n_layers": 3,
        }
    )
    options_path, weights_path = make_model(tmp_path, options)
    bilm = load_bilm(options_path, weights_path)
    with torch.inference_mode():
        out = bilm(batch_to_ids(SENTENCES))
    for row, sentence in enumerate(SENTENCES):
        expected = numpy_reference(weights_path, options, sentence)
        got = out.layers[:, row, : len(sentence)].double().numpy()
        np.testing.assert_allclose(got, expected, atol=2e-5, rtol=0)


def test_shapes_mask_and_padding(tiny_files) -> None:
    bilm = load_bilm(*tiny_files)
    out = bilm(batch_to_ids(SENTENCES))
    longest = max(map(len, SENTENCES))
    assert out.layers.shape == (3, len(SENTENCES), longest, 16)
    assert out.mask.tolist()[1] == [True] + [False] * (longest - 1)
    assert not out.mask[2].any()
    assert (out.layers[:, ~out.mask] == 0).all()  # zeros at padding (and the empty sentence)
    assert (out.layers[:, out.mask].abs().sum(-1) > 0).all()
    # layer 0 is the char representation, repeated for both directions
    assert torch.equal(out.layers[0, ..., :8], out.layers[0, ..., 8:])


def test_no_sentences_and_only_empty_sentences(tiny_files) -> None:
    bilm = load_bilm(*tiny_files)
    assert bilm(batch_to_ids([])).layers.shape == (3, 0, 0, 16)
    out = bilm(batch_to_ids([[], []]))
    assert out.layers.shape == (3, 2, 0, 16) and out.mask.shape == (2, 0)


def test_vectors_do_not_depend_on_batch_size_order_or_neighbours(tiny_files) -> None:
    bilm = load_bilm(*tiny_files)
    with torch.inference_mode():
        together = bilm(batch_to_ids(SENTENCES)).layers
        reordered = bilm(batch_to_ids(SENTENCES[::-1])).layers
        for row, sentence in enumerate(SENTENCES):
            alone = bilm(batch_to_ids([sentence])).layers[:, 0]
            n = len(sentence)
            other = reordered[:, len(SENTENCES) - 1 - row, :n]
            torch.testing.assert_close(together[:, row, :n], alone[:, :n], atol=1e-6, rtol=0)
            torch.testing.assert_close(other, alone[:, :n], atol=1e-6, rtol=0)
        again = bilm(batch_to_ids(SENTENCES)).layers
    assert torch.equal(together, again)  # no state carried between calls by default


def test_stateful_mode_carries_state_per_row(tiny_files) -> None:
    fresh = load_bilm(*tiny_files)
    stateful = load_bilm(*tiny_files, stateful=True)
    ids = batch_to_ids(SENTENCES[:2])
    with torch.inference_mode():
        first = stateful(ids).layers
        second = stateful(ids).layers
        torch.testing.assert_close(first, fresh(ids).layers)
        assert not torch.allclose(first[1:], second[1:])  # LSTM layers saw the carried state
        assert torch.equal(first[0], second[0])  # the char layer has no state
        stateful(batch_to_ids(SENTENCES[:1]))  # a smaller batch keeps row 1's state
        stateful.reset_states()
        torch.testing.assert_close(stateful(ids).layers, first)


def test_rejects_wrong_char_id_shape(tiny_files) -> None:
    bilm = load_bilm(*tiny_files)
    with pytest.raises(ValueError, match="char_ids must be"):
        bilm(torch.zeros(2, 3, 49, dtype=torch.long))


def test_loaded_bilm_is_frozen_and_in_eval_mode(tiny_files) -> None:
    bilm = load_bilm(*tiny_files)
    assert not bilm.training
    assert not any(p.requires_grad for p in bilm.parameters())
    assert all(p.requires_grad for p in load_bilm(*tiny_files, requires_grad=True).parameters())
