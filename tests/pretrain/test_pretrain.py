"""biLM pretraining: perplexity goes down, resume continues, written files load unchanged."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tweetsent.embed.elmo import batch_to_ids, load_bilm
from tweetsent.errors import ConfigError, DataError
from tweetsent.pretrain.data import (
    CorpusSpec,
    LmVocab,
    build_vocab,
    heldout_sentences,
    iter_batches,
    training_sentences,
)
from tweetsent.pretrain.loop import PretrainConfig, batch_tensors, pretrain
from tweetsent.pretrain.model import BiLmLanguageModel, log_uniform_probs

SUBJECTS = ["the cat", "a dog", "my friend", "@user", "this phone"]
VERBS = ["loves", "hates", "wants", "sees"]
OBJECTS = ["the game", "pizza", "#monday", "rain :(", "music :)"]


def write_corpus(path: Path, lines: int = 300, seed: int = 0) -> Path:
    """A tiny tweet-like language with structure an LM can learn in a few steps."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(lines):
            text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
            handle.write(f"{i}\tneutral\t{text}\n")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "tweets.tsv")


@pytest.fixture
def tiny_options_file(tmp_path: Path, tiny_options) -> Path:
    path = tmp_path / "tiny_options.json"
    tiny_options.save(path)
    return path


def config_for(corpus: Path, options: Path, out: Path, **overrides) -> PretrainConfig:
    base = PretrainConfig(
        corpus=(str(corpus),),
        out=str(out),
        options=str(options),
        column=2,
        epochs=2,
        batch_size=16,
        chunk_lines=64,
        lr=0.01,
        dropout=0.0,
        heldout_every=10,
        checkpoint_every=0,
        device="cpu",  # bit-for-bit checks hold on the CPU (GPU sums can differ in the last bits)
        progress=False,
    )
    return replace(base, **overrides)


def test_corpus_stream_splits_heldout_and_builds_ranked_vocab(corpus):
    spec = CorpusSpec((str(corpus),), column=2, heldout_every=10, heldout_max=5)
    heldout = heldout_sentences(spec)
    assert len(heldout) == 5
    assert sum(1 for _ in training_sentences(spec)) == 300 - 5
    vocab, stats = build_vocab(spec, max_size=10)
    assert vocab.words[:3] == ("<S>", "</S>", "<UNK>") and len(vocab) == 10
    assert stats.sentences == 295
    assert vocab.ids(["the", "zzz-unknown"]) == [0, vocab.words.index("the"), 2, 1]
    epoch0 = [s for b in iter_batches(spec, 16, 64, seed=1, epoch=0) for s in b]
    assert sorted(map(tuple, epoch0)) == sorted(map(tuple, training_sentences(spec)))
    again = [s for b in iter_batches(spec, 16, 64, seed=1, epoch=0) for s in b]
    assert again == epoch0


def test_vocab_file_round_trip_and_errors(tmp_path):
    vocab = LmVocab(("<S>", "</S>", "<UNK>", "a", "b"))
    vocab.save(tmp_path / "vocab.txt")
    assert LmVocab.load(tmp_path / "vocab.txt") == vocab
    (tmp_path / "bad.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.txt"):
        LmVocab.load(tmp_path / "bad.txt")
    with pytest.raises(DataError, match="field 2"):
        list(training_sentences(CorpusSpec((str(tmp_path / "bad.txt"),), column=2)))


def test_sampled_softmax_is_log_uniform_and_trains(tiny_options):
    q = log_uniform_probs(100)
    assert torch.isclose(q.sum(), torch.tensor(1.0)) and bool((q[:-1] > q[1:]).all())
    torch.manual_seed(0)
    model = BiLmLanguageModel(tiny_options, vocab_size=100, dropout=0.0, n_samples=20)
    vocab = LmVocab(("<S>", "</S>", "<UNK>", *(f"w{i}" for i in range(97))))
    char_ids, targets = batch_tensors([["w1", "w2", "w3"], ["w4"]], vocab, tiny_options.max_chars)
    loss = model(char_ids, targets)
    assert loss.tokens == 4 + 2 and torch.isfinite(loss.mean)
    loss.mean.backward()
    assert (
        model.softmax_weight.grad is not None
        and model.bilm.char_encoder.embedding.weight.grad.abs().sum() > 0
    )
    model.eval()
    exact = model(char_ids, targets)  # eval: always the exact softmax
    assert exact.tokens == 6


def test_tiny_pretraining_lowers_heldout_perplexity(corpus, tiny_options_file, tmp_path):
    result = pretrain(config_for(corpus, tiny_options_file, tmp_path / "run"))
    first, last = result.history[0], result.history[-1]
    assert first["step"] == 0 and last["step"] == result.steps > 0
    assert last["mean"] < 0.7 * first["mean"]
    assert last["forward"] < first["forward"] and last["backward"] < first["backward"]
    with open(result.out / "perplexity.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result.history) and (result.out / "perplexity.png").stat().st_size > 0
    assert not result.sampled


def test_written_files_round_trip_through_load_bilm(corpus, tiny_options_file, tmp_path):
    config = config_for(corpus, tiny_options_file, tmp_path / "run", epochs=1)
    result = pretrain(config)
    model = BiLmLanguageModel(config.elmo_options(), result.vocab_size)
    weights = load_file(str(result.out / "checkpoint" / "model.safetensors"))
    model.load_state_dict(weights)
    loaded = load_bilm(result.options_path, result.weights_path)
    ids = batch_to_ids([["the", "cat", "loves", "#monday"], ["pizza"], []])
    with torch.no_grad():
        expected, got = model.bilm.eval()(ids), loaded(ids)
    assert torch.equal(expected.mask, got.mask)
    torch.testing.assert_close(got.layers, expected.layers, rtol=0, atol=1e-6)
    assert LmVocab.load(result.out / "vocab.txt").words[:3] == ("<S>", "</S>", "<UNK>")


class Killed(Exception):
    pass


@pytest.mark.parametrize("saved_index", [True, False])  # False: a run from before the index
def test_resume_after_kill_matches_uninterrupted_run(
    corpus, tiny_options_file, tmp_path, saved_index
):
    settings = {"checkpoint_every": 4, "dropout": 0.2, "full_softmax_max": 8, "n_samples": 5}
    whole = pretrain(config_for(corpus, tiny_options_file, tmp_path / "a", **settings))
    assert whole.sampled

    def kill_at_step_7(step: int, loss: float) -> None:
        if step == 7:
            raise Killed

    config = config_for(corpus, tiny_options_file, tmp_path / "b", **settings)
    with pytest.raises(Killed):
        pretrain(config, callback=kill_at_step_7)
    if not saved_index:
        (tmp_path / "b" / "corpus_index.json").unlink()
    seen: list[int] = []
    resumed = pretrain(config, resume=True, callback=lambda step, loss: seen.append(step))
    assert seen[0] == 5  # the checkpoint of step 4, then onwards
    assert resumed.steps == whole.steps
    a = load_file(str(whole.out / "checkpoint" / "model.safetensors"))
    b = load_file(str(resumed.out / "checkpoint" / "model.safetensors"))
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=0)
    curve = [{k: v for k, v in row.items() if k != "seconds"} for row in whole.history]
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in resumed.history] == curve


def test_resume_on_a_changed_corpus_is_a_one_line_error(
    corpus, tiny_options_file, tmp_path, capsys
):
    run = tmp_path / "run"
    config = config_for(corpus, tiny_options_file, run, epochs=1, max_steps=3, chunk_lines=4096)
    pretrain(config)
    text = corpus.read_text(encoding="utf-8")
    corpus.write_text(text.replace("the cat", "the dog", 1), encoding="utf-8")  # same size
    with pytest.raises(DataError, match=r"tweets.tsv: changed since .*\(SHA-256 differs\)"):
        pretrain(replace(config, max_steps=6), resume=True)
    from tweetsent.cli import main

    argv = ["elmo", "pretrain", "--corpus", str(corpus), "--column", "2", "--resume"]
    argv += ["--out", str(tmp_path / "run"), "--options", str(tiny_options_file)]
    argv += ["--heldout-every", "10", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "changed since the run's corpus index was made" in err and err.count("\n") == 1
    corpus.write_text(text, encoding="utf-8")  # the original corpus resumes
    assert pretrain(replace(config, max_steps=6), resume=True).steps == 6


def test_checkpoint_of_another_corpus_index_is_an_error(corpus, tiny_options_file, tmp_path):
    from tweetsent.pretrain.prepare import prepare_corpus

    config = config_for(corpus, tiny_options_file, tmp_path / "run", epochs=1, max_steps=3)
    pretrain(config)
    other = replace(config, heldout_every=11, max_steps=6)  # a new start, killed before step 1
    prepare_corpus(other.corpus_spec(), 64, other.max_vocab, 1, tmp_path / "run", resume=False)
    with pytest.raises(DataError, match="checkpoint was made with another corpus"):
        pretrain(other, resume=True)


def test_config_errors_name_the_field(corpus, tmp_path):
    with pytest.raises(ConfigError, match="pretrain.preset"):
        PretrainConfig(corpus=(str(corpus),), out=str(tmp_path), preset="huge")
    with pytest.raises(ConfigError, match="pretrain.optimizer"):
        PretrainConfig(corpus=(str(corpus),), out=str(tmp_path), optimizer="sgd")


def test_cli_dry_run_writes_loadable_files(corpus, tiny_options_file, tmp_path, capsys):
    from tweetsent.cli import main

    out = tmp_path / "cli"
    argv = ["elmo", "pretrain", "--corpus", str(corpus), "--column", "2", "--out", str(out)]
    argv += ["--options", str(tiny_options_file), "--dry-run", "--no-progress", "--clean"]
    assert main(argv) == 0
    assert "2 steps" in capsys.readouterr().out
    bilm = load_bilm(out / "options.json", out / "weights.hdf5")
    assert bilm.num_output_layers == 3
    bad = ["elmo", "pretrain", "--corpus", str(corpus), "--out", str(out), "--preset", "huge"]
    assert main(bad) == 2  # ConfigError: one line on stderr, exit code 2
    assert "pretrain.preset" in capsys.readouterr().err


def test_resume_without_checkpoint_is_an_error(corpus, tiny_options_file, tmp_path, capsys):
    config = config_for(corpus, tiny_options_file, tmp_path / "fresh")
    with pytest.raises(DataError, match="no checkpoint to continue from"):
        pretrain(config, resume=True)
    assert not (tmp_path / "fresh" / "weights.hdf5").exists()  # nothing trained from scratch
    from tweetsent.cli import main

    argv = ["elmo", "pretrain", "--corpus", str(corpus), "--column", "2", "--resume"]
    argv += ["--out", str(tmp_path / "fresh"), "--options", str(tiny_options_file)]
    assert main(argv + ["--no-progress"]) != 0
    assert "no checkpoint to continue from" in capsys.readouterr().err


def test_device_is_recorded_and_unavailable_cuda_is_a_clear_error(
    corpus, tiny_options_file, tmp_path
):
    result = pretrain(config_for(corpus, tiny_options_file, tmp_path / "cpu", device="cpu"))
    assert result.device == "cpu"
    if not torch.cuda.is_available():
        config = config_for(corpus, tiny_options_file, tmp_path / "gpu", device="cuda")
        with pytest.raises(ConfigError, match="CUDA is not available"):
            pretrain(config)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_resume_matches_uninterrupted_run(corpus, tiny_options_file, tmp_path):
    settings = {"checkpoint_every": 4, "dropout": 0.2, "device": "cuda", "seed": 3}
    whole = pretrain(config_for(corpus, tiny_options_file, tmp_path / "a", **settings))
    assert whole.device.startswith("cuda")
    config = config_for(corpus, tiny_options_file, tmp_path / "b", **settings)

    def kill_at_step_7(step: int, loss: float) -> None:
        if step == 7:
            raise Killed

    with pytest.raises(Killed):
        pretrain(config, callback=kill_at_step_7)
    resumed = pretrain(config, resume=True)
    a = load_file(str(whole.out / "checkpoint" / "model.safetensors"))
    b = load_file(str(resumed.out / "checkpoint" / "model.safetensors"))
    for name in a:  # GPU gradient sums (atomic adds) may differ in the last bits
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=1e-4)


def test_resume_with_another_batch_order_or_vocabulary_is_an_error(
    corpus, tiny_options_file, tmp_path
):
    config = config_for(corpus, tiny_options_file, tmp_path / "run", epochs=1, max_steps=3)
    pretrain(config)
    with pytest.raises(ConfigError, match="pretrain.batch_size: 8 but the checkpoint used 16"):
        pretrain(replace(config, batch_size=8, max_steps=6), resume=True)
    with pytest.raises(ConfigError, match="pretrain.max_vocab: 12 but the checkpoint used"):
        pretrain(replace(config, max_vocab=12, max_steps=6), resume=True)
    with pytest.raises(ConfigError, match="pretrain.min_count: 2 but the checkpoint used 1"):
        pretrain(replace(config, min_count=2, max_steps=6), resume=True)
    assert pretrain(replace(config, max_steps=6), resume=True).steps == 6


def test_tokens_raw_lower_cleaned_split(tmp_path) -> None:
    """--tokens: the pieces the classifier's biLM reads (raw, lower), the classifier's tokens
    (cleaned = --clean) or whitespace words (split)."""
    from tweetsent.pretrain.data import CorpusSpec, iter_sentences

    path = tmp_path / "c.tsv"
    path.write_text("1\tx\tPink Floyd @Bob rocks!!!! #Win\n", encoding="utf-8")
    want = {
        "split": ["Pink", "Floyd", "@Bob", "rocks!!!!", "#Win"],
        "raw": ["Pink", "Floyd", "@Bob", "rocks", "!!!!", "#Win"],
        "lower": ["pink", "floyd", "@bob", "rocks", "!!!!", "#win"],
        "cleaned": ["pink", "floyd", "<user>", "rocks", "!", "<repeat>", "<hashtag>", "win"],
    }
    for tokens, expected in want.items():
        spec = CorpusSpec((str(path),), column=2, tokens=tokens)
        assert [s for _, s in iter_sentences(spec)] == [expected], tokens
    clean = CorpusSpec((str(path),), column=2, clean=True)
    assert clean.kind == "cleaned"
    with pytest.raises(ConfigError, match="pretrain.tokens: 'cased'"):
        CorpusSpec((str(path),), tokens="cased")
    with pytest.raises(ConfigError, match="pretrain.clean"):
        PretrainConfig(corpus=(str(path),), out=str(tmp_path), clean=True, tokens="raw")


def test_cli_tokens_flag(corpus, tiny_options_file, tmp_path, capsys) -> None:
    from tweetsent.cli import main

    out = tmp_path / "raw"
    argv = ["elmo", "pretrain", "--corpus", str(corpus), "--column", "2", "--out", str(out)]
    argv += ["--options", str(tiny_options_file), "--dry-run", "--no-progress"]
    assert main([*argv, "--tokens", "raw"]) == 0
    index = json.loads((out / "corpus_index.json").read_text())
    assert index["settings"]["tokens"] == "raw"
    assert main([*argv, "--tokens", "upper"]) == 2
    assert "pretrain.tokens: 'upper'" in capsys.readouterr().err
