"""bench/output_parity.py: the comparison and its one normalisation, without training anything."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def parity():
    spec = importlib.util.spec_from_file_location("bench_output_parity", BENCH / "output_parity.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def write_outputs(out: Path, files: dict[str, bytes]) -> None:
    for side in ("before", "after"):
        for name, data in files.items():
            path = out / side / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def before_tree(parity, tmp_path: Path):
    return parity.Tree("before", tmp_path, tmp_path)


def test_identical_outputs_exit_0(parity, tmp_path, capsys):
    write_outputs(tmp_path, {"predict/a.jsonl": b'{"p": 0.5}\n', "a.rc": b"0"})
    assert parity.report(tmp_path, before_tree(parity, tmp_path)) == 0
    assert "all 2 outputs identical" in capsys.readouterr().out


def test_a_changed_digit_exits_1_and_says_where(parity, tmp_path, capsys):
    write_outputs(tmp_path, {"predict/a.jsonl": b'{"p": 0.5}\n{"p": 0.123456}\n'})
    (tmp_path / "after" / "predict" / "a.jsonl").write_bytes(b'{"p": 0.5}\n{"p": 0.12346}\n')
    assert parity.report(tmp_path, before_tree(parity, tmp_path)) == 1
    out = capsys.readouterr().out
    assert "DIFFERS predict/a.jsonl: line 2, column 13" in out
    assert "1 of 1 outputs differ" in out


def test_a_missing_output_is_a_difference(parity, tmp_path, capsys):
    write_outputs(tmp_path, {"a.jsonl": b"x\n"})
    (tmp_path / "after" / "a.jsonl").unlink()
    assert parity.report(tmp_path, before_tree(parity, tmp_path)) == 1
    assert "MISSING in after" in capsys.readouterr().out


def test_a_failure_in_the_before_tree_proves_nothing(parity, tmp_path):
    write_outputs(tmp_path, {"a.rc": b"1"})
    tree = before_tree(parity, tmp_path)
    tree.failures.append("predict/a: exit 1: error")
    assert parity.report(tmp_path, tree) == 2


def torchscript(path: Path, folder: str, debug: bytes, weights: bytes) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{folder}/data.pkl", b"data")
        archive.writestr(f"{folder}/code/m.py.debug_pkl", debug)
        archive.writestr(f"{folder}/constants/0", weights)
        archive.writestr(f"{folder}/.data/serialization_id", debug[:4])
    return path.read_bytes()


def test_torchscript_folder_and_debug_records_are_normalised_weights_are_not(parity, tmp_path):
    normalise = parity.NORMALISED[0].normalise
    a = torchscript(tmp_path / "a.pt", ".model.abcdefgh.tmp", b"/tree/a/rnn.py(24)", b"w1")
    b = torchscript(tmp_path / "b.pt", ".model.zyxwvuts.tmp", b"/tree/b/rnn.py(25)", b"w1")
    c = torchscript(tmp_path / "c.pt", ".model.abcdefgh.tmp", b"/tree/a/rnn.py(24)", b"w2")
    assert a != b and normalise(a) == normalise(b)
    assert normalise(a) != normalise(c)


def test_every_run_gets_every_command(parity, tmp_path):
    jobs = parity.make_jobs(tmp_path / "runs", tmp_path / "input.tsv")
    names = [job.name for job in jobs]
    assert len(names) == len(set(names))
    for run in [*parity.RUNS, parity.ENSEMBLE[0]]:
        for name in ("serve", "onnx", "torchscript", "evaluate", "one-text"):
            assert any(n.startswith(f"serve/{run}/") or n.endswith(f"{run}/{name}") for n in names)
        for backend in ("torch", "onnx", "auto"):
            assert f"predict/{run}/{backend}-jsonl" in names
