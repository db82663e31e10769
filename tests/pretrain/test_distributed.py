"""`tweetsent elmo pretrain` under torchrun: 2 gloo ranks take the steps of one process with the
same global batch (sampled softmax included: the ranks draw the ids one process draws), rank 0
alone writes, and a 2-rank checkpoint resumes in one process. Dropout is off in the equality
checks (each rank draws its own masks, from (seed, rank, step)).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from torchrun_cli import run_torchrun
from tweetsent.cli import main
from tweetsent.distributed import DistEnv, derived_seed, launch_env, shard
from tweetsent.errors import ConfigError
from tweetsent.pretrain.data import CorpusSpec, iter_batches, read_block, shared_reader
from tweetsent.pretrain.loop import PretrainConfig, _Trainer, pretrain

# Sampled softmax (vocabulary 68 > 20), blocks of 32 lines mixed 2 at a time: 5 windows, so
# each rank reads one block of a window and gets the other from its peer.
SETTINGS = {"full_softmax_max": 20, "n_samples": 10, "chunk_lines": 32, "mix_blocks": 2}
SETTINGS |= {"epochs": 2, "batch_size": 16, "lr": 0.01, "dropout": 0.0, "heldout_every": 10}
SETTINGS |= {"checkpoint_every": 0}


def write_corpus(path: Path, lines: int = 300) -> Path:
    rng = np.random.default_rng(0)
    subjects = ["the cat", "a dog", "my friend", "@user", "this phone", "x y", "z w"]
    objects = ["the game", "pizza", "#monday", "rain :(", "music :)", "q r s t"]
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(lines):
            verb = ["loves", "hates", "wants", "sees"][i % 4]
            text = f"{rng.choice(subjects)} {verb} {rng.choice(objects)} {i % 37}"
            handle.write(f"{i}\tneutral\t{text}\n")
    return path


def config_for(corpus: Path, options: Path, out: Path, **overrides) -> PretrainConfig:
    base = PretrainConfig(
        corpus=(str(corpus),),
        out=str(out),
        options=str(options),
        column=2,
        device="cpu",
        progress=False,
        **SETTINGS,
    )
    return replace(base, **overrides)


def cli_args(config: PretrainConfig) -> list[str]:
    args = ["elmo", "pretrain", "--corpus", *config.corpus, "--column", "2", "--out", config.out]
    args += ["--options", str(config.options), "--device", "cpu", "--no-progress"]
    for name, value in {**SETTINGS, "max_steps": config.max_steps}.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


def assert_same_weights(a: Path, b: Path, atol: float = 1e-5) -> None:
    wa, wb = (
        load_file(str(a / "checkpoint" / "model.safetensors")),
        load_file(str(b / "checkpoint" / "model.safetensors")),
    )
    assert wa.keys() == wb.keys()
    for name in wa:
        torch.testing.assert_close(wa[name], wb[name], atol=atol, rtol=0, msg=name)


def test_two_ranks_equal_one_process_and_resume_in_one(tmp_path, tiny_options):
    corpus = write_corpus(tmp_path / "tweets.tsv")
    options = tmp_path / "options.json"
    tiny_options.save(options)
    ranks = config_for(corpus, options, tmp_path / "ranks", max_steps=6)
    job = run_torchrun(2, cli_args(ranks), guard=tmp_path / "ranks")
    assert job.returncode == 0, job.stderr[-3000:]
    assert job.stdout.count("held-out perplexity") == 1  # rank 0 alone reports
    state = json.loads((tmp_path / "ranks" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 6 and state["world_size"] == 2

    one = pretrain(config_for(corpus, options, tmp_path / "one", max_steps=6))
    assert one.sampled
    assert_same_weights(tmp_path / "one", tmp_path / "ranks")
    curve = json.loads(json.dumps(state["history"]))
    for ours, theirs in zip(one.history, curve, strict=True):
        assert ours["step"] == theirs["step"]
        assert ours["mean"] == pytest.approx(theirs["mean"], rel=1e-5)

    # One process continues the 2-rank checkpoint: 12 steps in all equal 12 in one process
    # (same batches; the sampled ids continue from the ranks' shared generator).
    resumed = pretrain(replace(ranks, max_steps=12), resume=True)
    whole = pretrain(config_for(corpus, options, tmp_path / "whole", max_steps=12))
    assert resumed.steps == whole.steps == 12
    assert_same_weights(tmp_path / "whole", tmp_path / "ranks")
    assert resumed.history[-1]["mean"] == pytest.approx(whole.history[-1]["mean"], rel=1e-5)
    state = json.loads((tmp_path / "ranks" / "checkpoint" / "state.json").read_text())
    assert "world_size" not in state  # written by one process now


def test_shared_reader_reads_a_share_and_gives_every_rank_the_window(tmp_path, monkeypatch):
    from tweetsent.pretrain import data

    corpus = write_corpus(tmp_path / "tweets.tsv", lines=200)
    spec = CorpusSpec((str(corpus),), column=2, heldout_every=10)
    local = list(iter_batches(spec, 8, 16, seed=3, epoch=1, mix_blocks=3))
    read_here: list[int] = []  # first sentence of each block this rank (1 of 2) reads

    def recording(spec, block, tokenize=None):
        read_here.append(block.first)
        return read_block(spec, block, tokenize)

    monkeypatch.setattr(data, "read_block", recording)
    window: list = []

    def gather(mine: dict) -> list[dict]:  # the peer (rank 0) reads the window's other blocks
        peer = {j: read_block(spec, block) for j, block in enumerate(window) if j not in mine}
        return [peer, mine]

    reader = shared_reader(spec, rank=1, world=2, gather=gather)

    def remember(blocks: list) -> list:
        window[:] = blocks
        return reader(blocks)

    shared = list(iter_batches(spec, 8, 16, seed=3, epoch=1, mix_blocks=3, reader=remember))
    assert shared == local
    order = np.random.default_rng([3, 1]).permutation(13)  # 200 lines in blocks of 16
    assert read_here == [16 * int(b) for b in order[1::2]]  # every second block of the order


def test_shards_cover_the_batch_in_rank_order():
    for rows in (0, 1, 5, 16, 17):
        for world in (1, 2, 3, 8):
            parts = [shard(rows, DistEnv(rank, world, rank, True)) for rank in range(world)]
            assert [r for part in parts for r in part] == list(range(rows))
            assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert derived_seed(1, 0, 5) != derived_seed(1, 1, 5) == derived_seed(1, 1, 5)


def test_each_rank_weighs_its_rows_as_a_part_of_the_global_mean():
    batch = [["a", "b"], ["c"]]  # 3 + 2 predictions per direction
    shares = [_Trainer._share(SimpleNamespace(env=DistEnv(r, 4, r, True)), batch) for r in range(4)]
    # ranks 1 and 3 hold a row each: 4 ranks x sum / (2 x 5 predictions); 0 and 2 hold none
    # and run the first row at factor 0
    assert shares == [([["a", "b"]], 0.0), ([["a", "b"]], 0.4), ([["a", "b"]], 0.0), ([["c"]], 0.4)]
    assert _Trainer._share(SimpleNamespace(env=DistEnv()), batch) == (batch, None)


def test_torchrun_variables_and_device_errors_are_one_line(tmp_path, monkeypatch, capsys):
    assert launch_env({}) == DistEnv()
    env = launch_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    assert (env.rank, env.world_size, env.local_rank, env.launched) == (1, 2, 1, True)
    assert not env.is_main
    with pytest.raises(ConfigError, match="out of range"):
        launch_env({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    if torch.cuda.is_available():
        pytest.skip("the CUDA error needs a machine without CUDA")
    for name, value in (("RANK", "1"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "1")):
        monkeypatch.setenv(name, value)  # as torchrun sets them; fails before any collective
    corpus = write_corpus(tmp_path / "tweets.tsv", lines=20)
    argv = ["elmo", "pretrain", "--corpus", str(corpus), "--out", str(tmp_path / "o")]
    assert main([*argv, "--device", "cuda"]) == 2
    train = ["train", "--data", str(corpus), "--out", str(tmp_path / "r"), "--device", "cuda"]
    assert main(train) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: [rank 1] device 'cuda': CUDA is not available on this machine"] * 2
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()


def test_bf16_autocast_trains_on_the_cpu(tmp_path, tiny_options):
    corpus = write_corpus(tmp_path / "tweets.tsv")
    options = tmp_path / "options.json"
    tiny_options.save(options)
    result = pretrain(config_for(corpus, options, tmp_path / "bf16", bf16=True, max_steps=8))
    first, last = result.history[0]["mean"], result.history[-1]["mean"]
    assert np.isfinite(last) and last < first
