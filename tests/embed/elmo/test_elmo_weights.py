"""The official HDF5 layout: round trip, exact dataset names, clear errors on bad files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from tweetsent.embed.elmo import (
    ElmoBiLm,
    ElmoOptions,
    batch_to_ids,
    check_weights,
    load_bilm,
    load_weights,
    save_hdf5,
    weight_layout,
)
from tweetsent.errors import DataError

SENTENCES = [["a", "tiny", "test"], ["🙂", "ok"], []]


def _datasets(path: Path) -> dict[str, tuple[int, ...]]:
    found = {}
    with h5py.File(path, "r") as handle:
        handle.visititems(
            lambda name, obj: (
                found.__setitem__(name, obj.shape) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return found


def test_writer_produces_the_official_layout(tiny_files, tiny_options) -> None:
    found = _datasets(tiny_files[1])
    assert found == weight_layout(tiny_options)
    assert found["char_embed"] == (261, 4)  # no padding row
    assert found["CNN/W_cnn_2"] == (1, 3, 4, 8)
    assert found["RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_0"] == (16, 64)
    assert found["RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_P_0"] == (16, 8)
    with h5py.File(tiny_files[1], "r") as handle:
        assert handle["CNN_high_1/W_carry"].dtype == np.float32


def test_round_trip_gives_identical_outputs(tmp_path: Path, tiny_options) -> None:
    torch.manual_seed(3)
    original = ElmoBiLm(tiny_options).eval()
    save_hdf5(original, tmp_path / "w.hdf5")
    tiny_options.save(tmp_path / "o.json")
    loaded = load_bilm(tmp_path / "o.json", tmp_path / "w.hdf5")
    for name, value in original.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name
    ids = batch_to_ids(SENTENCES)
    with torch.inference_mode():
        assert torch.equal(original(ids).layers, loaded(ids).layers)
    save_hdf5(loaded, tmp_path / "again.hdf5")  # and the file itself round-trips
    with h5py.File(tmp_path / "w.hdf5") as a, h5py.File(tmp_path / "again.hdf5") as b:
        for name in weight_layout(tiny_options):
            assert np.array_equal(a[name][...], b[name][...]), name


def test_forget_bias_convention(tiny_files) -> None:
    """The file omits TF's +1 on the forget gate (third quarter, TF order i, j, f, o)."""
    bilm = load_bilm(*tiny_files)
    with h5py.File(tiny_files[1]) as handle:
        stored = handle["RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/B"][...]
    ours = bilm.lstm_layers[0].bias[0].numpy()
    np.testing.assert_allclose(ours[32:48], stored[32:48] + 1.0)
    np.testing.assert_allclose(ours[:32], stored[:32])
    np.testing.assert_allclose(ours[48:], stored[48:])


def _copy_without(source: Path, dest: Path, skip: str) -> None:
    with h5py.File(source) as src, h5py.File(dest, "w") as out:
        for name in weight_layout(ElmoOptions.load(source.parent / "options.json")):
            if name != skip:
                out.create_dataset(name, data=src[name][...])


def test_missing_dataset_is_named(tiny_files, tmp_path: Path) -> None:
    name = "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0"
    broken = tmp_path / "broken.hdf5"
    _copy_without(tiny_files[1], broken, name)
    with pytest.raises(DataError, match=f"missing dataset '{name}'") as info:
        load_bilm(tiny_files[0], broken)
    assert str(broken) in str(info.value)
    with pytest.raises(DataError, match="missing dataset"):
        check_weights(ElmoOptions.load(tiny_files[0]), broken)


def test_options_that_do_not_match_the_weights(tiny_files, tiny_options, tmp_path) -> None:
    other = ElmoOptions(**{**tiny_options.__dict__, "lstm_dim": 32})
    other.save(tmp_path / "other.json")
    with pytest.raises(DataError, match=r"RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0.*\(16, 64\)"):
        load_bilm(tmp_path / "other.json", tiny_files[1])
    fewer = ElmoOptions(**{**tiny_options.__dict__, "filters": ((1, 4), (2, 8), (4, 8))})
    fewer.save(tmp_path / "fewer.json")
    with pytest.raises(DataError, match="CNN/W_cnn_2"):
        load_bilm(tmp_path / "fewer.json", tiny_files[1])


def test_truncated_and_corrupt_files(tiny_files, tmp_path: Path) -> None:
    data = tiny_files[1].read_bytes()
    truncated = tmp_path / "truncated.hdf5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated or corrupt") as info:
        load_bilm(tiny_files[0], truncated)
    assert str(truncated) in str(info.value)
    garbage = tmp_path / "garbage.hdf5"
    garbage.write_bytes(b"this is not hdf5" * 100)
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        load_bilm(tiny_files[0], garbage)
    with pytest.raises(DataError, match="no such ELMo weight file"):
        load_bilm(tiny_files[0], tmp_path / "absent.hdf5")


def test_non_finite_values_are_refused(tiny_files, tmp_path: Path) -> None:
    bad = tmp_path / "nan.hdf5"
    bad.write_bytes(tiny_files[1].read_bytes())
    with h5py.File(bad, "r+") as handle:
        handle["CNN_proj/b_proj"][0] = np.nan
    with pytest.raises(DataError, match="CNN_proj/b_proj.*NaN"):
        load_bilm(tiny_files[0], bad)


def test_failed_load_leaves_no_partial_state(tiny_files, tmp_path: Path, tiny_options) -> None:
    torch.manual_seed(5)
    bilm = ElmoBiLm(tiny_options)
    before = {k: v.clone() for k, v in bilm.state_dict().items()}
    broken = tmp_path / "broken.hdf5"
    _copy_without(tiny_files[1], broken, "CNN_proj/b_proj")
    late_nan = tmp_path / "late_nan.hdf5"  # the last LSTM dataset is bad
    late_nan.write_bytes(tiny_files[1].read_bytes())
    with h5py.File(late_nan, "r+") as handle:
        handle["RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0"][0, 0] = np.inf
    for bad in (broken, late_nan):
        with pytest.raises(DataError):
            load_weights(bilm, bad)
        assert all(torch.equal(before[k], v) for k, v in bilm.state_dict().items())


def test_writer_is_atomic(tmp_path: Path, tiny_options, monkeypatch) -> None:
    out = tmp_path / "model" / "out.hdf5"
    save_hdf5(ElmoBiLm(tiny_options), out)
    before = out.read_bytes()
    calls = []

    def failing(self, name, **kwargs):  # fail half-way through the datasets
        calls.append(name)
        if len(calls) > 5:
            raise OSError("disk full")
        return original(self, name, **kwargs)

    original = h5py.Group.create_dataset
    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="disk full"):
        save_hdf5(ElmoBiLm(tiny_options), out)
    assert out.read_bytes() == before  # the old file is untouched, no temp file is left
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.hdf5"]
