"""Damaged run and checkpoint directories end in one line naming the file, never a traceback,
a huge allocation or wrong output (NaN weights, integer or repeated labels)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from synthetic import TINY_TRAIN_FLAGS, synthetic_tweets, write_tsv
from tweetsent.cli import main
from tweetsent.errors import TweetsentError
from tweetsent.io import MAX_READ_BYTES
from tweetsent.runs.rundir import load_run

TINY = [*TINY_TRAIN_FLAGS, "--epochs", "1", "--batch-size", "16"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, list[str]]:
    """A finished tiny run (with its checkpoint) and the flags that trained it."""
    root = tmp_path_factory.mktemp("damaged")
    data = write_tsv(root / "train.tsv", synthetic_tweets(90, seed=4))
    flags = ["--data", str(data), "--out", str(root / "run"), *TINY]
    assert main(["train", *flags]) == 0
    return root / "run", flags


def _json(path: Path, change) -> None:
    raw = json.loads(path.read_text())
    path.write_text(json.dumps(change(raw)))


def _replace_link(path: Path, target: str) -> None:
    path.unlink()
    path.symlink_to(target)


def _weights(path: Path, change) -> None:
    state = load_file(str(path))
    change(state)
    save_file(state, str(path))


def _grow_vocab(raw):
    raw["tokens"] = raw["tokens"] + ["zz-extra-1", "zz-extra-2"]
    return raw


def _hidden(size):
    return lambda c: {**c, "model": {**c["model"], "hidden_size": size}}


def _nan(state):
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name][0] = float("nan")


DAMAGE = {
    "vocab size": ("vocab.json", "model.safetensors", lambda p: _json(p, _grow_vocab)),
    "hidden size 1e9": ("config.json", "config.json", lambda p: _json(p, _hidden(10**9))),
    "hidden size 1e5": ("config.json", "config.json", lambda p: _json(p, _hidden(10**5))),
    "config list": ("config.json", "config.json", lambda p: p.write_text("[]")),
    "meta list": ("meta.json", "meta.json", lambda p: p.write_text("[1, 2]")),
    "config utf-8": ("config.json", "config.json", lambda p: p.write_bytes(b'{"x": "\xff\xfe"}')),
    # Issue 26 item 7: a link to /dev/zero, a FIFO or a huge file is refused before reading.
    "config /dev/zero": ("config.json", "config.json", lambda p: _replace_link(p, "/dev/zero")),
    "vocab /dev/zero": ("vocab.json", "vocab.json", lambda p: _replace_link(p, "/dev/zero")),
    "config fifo": ("config.json", "config.json", lambda p: (p.unlink(), os.mkfifo(p))),
    "vocab huge": (
        "vocab.json",
        f"vocab.json: {MAX_READ_BYTES + 1:,} bytes, over the",
        lambda p: os.truncate(p, MAX_READ_BYTES + 1),
    ),
    "nan weights": ("model.safetensors", "model.safetensors", lambda p: _weights(p, _nan)),
    "integer labels": (
        "meta.json",
        "meta.json",
        lambda p: _json(p, lambda m: {**m, "labels": [0, 1, 2]}),
    ),
    "repeated labels": (
        "meta.json",
        "meta.json",
        lambda p: _json(p, lambda m: {**m, "labels": ["negative", "negative", "positive"]}),
    ),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_run_is_one_line_naming_the_file(case, trained, tmp_path, capsys):
    run, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    damaged, named, damage = DAMAGE[case]
    damage(copy / damaged)
    with pytest.raises(TweetsentError) as caught:
        load_run(copy)
    message = str(caught.value)
    assert "\n" not in message and named in message, message
    capsys.readouterr()
    assert main(["predict", str(copy), "good day"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and named in err[0]


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "huge"])
def test_run_files_are_read_only_when_regular_and_small(kind, trained, tmp_path):
    """Issue 26 item 7: `ln -sf /dev/zero RUN/config.json` used to fill memory (the onnx check
    of `predict`, now `runs.backends.open_scorer`'s one read, read it whole); a FIFO blocked.
    Refused before reading, in one line."""
    from tweetsent.io import read_json
    from tweetsent.runs.backends import open_scorer

    copy = tmp_path / "run"
    shutil.copytree(trained[0], copy)
    config = copy / "config.json"
    config.unlink()
    if kind == "/dev/zero":
        config.symlink_to(kind)
    elif kind == "fifo":
        os.mkfifo(config)
    else:
        config.write_bytes(b" " * 64)
        os.truncate(config, MAX_READ_BYTES + 1)
    reason = "over the 268,435,456-byte limit" if kind == "huge" else "not a regular file"
    with pytest.raises(TweetsentError, match=f"config.json: .*{reason}|config.json: {reason}"):
        read_json(config)
    with pytest.raises(TweetsentError, match="config.json"):
        open_scorer(copy, backend="auto")  # the one read of a run for prediction
    with pytest.raises(TweetsentError, match="config.json"):
        load_run(copy)


def _garbage_state(folder: Path) -> None:
    (folder / "state.json").write_text('{"tag": "../../etc", "loop": 3}')


def _bad_optimizer(folder: Path) -> None:
    (next(folder.glob("*.optimizer.safetensors"))).write_bytes(b"\x00" * 64)


def _wrong_optimizer_tensors(folder: Path) -> None:
    path = next(folder.glob("*.optimizer.safetensors"))
    save_file({"rng.torch": torch.get_rng_state(), "state.0.exp_avg": torch.zeros(3)}, str(path))


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (_garbage_state, "state.json"),
        (lambda f: (f / "state.json").write_bytes(b"\xff{"), "state.json"),
        (_bad_optimizer, "optimizer.safetensors"),
        (_wrong_optimizer_tensors, "optimizer.safetensors"),
    ],
)
def test_a_damaged_checkpoint_under_resume_is_one_line(damage, named, trained, tmp_path, capsys):
    run, flags = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    damage(copy / "checkpoint")
    flags = [str(copy) if f == str(run) else f for f in flags]
    capsys.readouterr()
    assert main(["train", *flags, "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error: ") and named in err[-1], err
