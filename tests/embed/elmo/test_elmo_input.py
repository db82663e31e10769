"""What the biLM reads in a classifier (`embed.elmo_input`): raw cased pieces by default,
aligned 1:1 with the classifier's tokens; cache keys; runs saved before the setting."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

import tweetsent.embed.elmo.embedder as embedder_module
from tweetsent.config import RunConfig
from tweetsent.data.prepare import prepare
from tweetsent.embed.elmo import bilm_features, load_bilm, text_keys
from tweetsent.runs.predict import Predictor
from tweetsent.text import ElmoInput, Normalizer
from tweetsent.train import train

TWEET = "Pink Floyd @Bob rocks!!!! soooo GOOD #Win http://t.co/Ab 2nite"
TOKENS = ["pink", "floyd", "<user>", "rocks", "!", "<repeat>", "soo", "<elong>", "good"]
TOKENS += ["<hashtag>", "win", "<url>", "2nite"]
PIECES = ["Pink", "Floyd", "@Bob", "rocks", "!!!!", "soooo", "GOOD", "#Win", "http://t.co/Ab"]
PIECES += ["2nite"]


def elmo_config(files, tsv, out, make_config, **more):
    fields = {
        "embed.kind": "elmo",
        "embed.elmo_options": str(files[0]),
        "embed.elmo_weights": str(files[1]),
        "embed.elmo_dropout": 0.0,
        "train.epochs": 1,
        **more,
    }
    return make_config(tsv, out, **fields)


@pytest.fixture
def spy(monkeypatch):
    """Records the token lists the biLM's character encoder receives."""
    seen: list[list[str]] = []
    real = embedder_module.batch_to_ids

    def record(sentences, max_chars):
        seen.extend(list(s) for s in sentences)
        return real(sentences, max_chars)

    monkeypatch.setattr(embedder_module, "batch_to_ids", record)
    return seen


def test_the_bilm_receives_cased_raw_pieces_by_default(
    tiny_files, tiny_tsv, tmp_path, make_config, spy
) -> None:
    """Default config: the biLM reads the tweet's cased pieces; each classifier token gets
    the vectors of its own piece, so features and tokens align one to one."""
    assert RunConfig().embed.elmo_input == "raw"
    config = elmo_config(tiny_files, tiny_tsv, tmp_path / "run", make_config)
    result = train(config, log=lambda _: None)
    saved = json.loads((result.run_dir / "config.json").read_text())
    assert saved["embed"]["elmo_input"] == "raw"  # recorded in the run's config
    predictor = Predictor.from_run(result.run_dir)
    spy.clear()
    token_lists, data = predictor.encode([TWEET])
    assert token_lists == [TOKENS]
    assert data.words == [ElmoInput(tuple(PIECES), (0, 1, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 9))]
    predictor.predict([TWEET])
    assert spy == [PIECES]  # cased, raw text: what the official models were trained on

    # The features line up with the classifier's tokens: token k holds its piece's vectors.
    bilm = predictor.model.embedder.bilm
    with torch.inference_mode():
        pieces = bilm(embedder_module.batch_to_ids([PIECES], bilm.options.max_chars)).layers
    batch = bilm_features(bilm, data.words)
    assert batch.layers.shape[:3] == (3, 1, len(TOKENS)) and bool(batch.mask.all())
    expected = pieces[:, 0, list(data.words[0].index)].to(torch.float16)
    assert torch.equal(batch.layers[:, 0], expected)


def test_training_reads_aligned_inputs_for_every_tweet(
    tiny_files, tiny_tsv, tmp_path, make_config
) -> None:
    config = elmo_config(tiny_files, tiny_tsv, tmp_path / "run", make_config)
    prepared = prepare(config, progress=False)
    normalizer = Normalizer(config.text)
    for data in (prepared.train, prepared.valid):
        assert len(data.words) == len(data)
        for row, words in enumerate(data.words):
            assert isinstance(words, ElmoInput) and len(words) == data.lengths[row]
    lower = prepare(config.with_overrides({"embed.elmo_input": "lower"}), progress=False)
    assert all(p == p.lower() for w in lower.train.words for p in w.pieces)
    cleaned = prepare(config.with_overrides({"embed.elmo_input": "cleaned"}), progress=False)
    first = cleaned.train.words[0]
    assert isinstance(first, list) and len(first) == cleaned.train.lengths[0]
    assert normalizer.tokenize("Pink Floyd") == ["pink", "floyd"]


def test_mixed_batches_and_padding(tiny_files) -> None:
    """Token lists and ElmoInputs in one batch; empty tweets; zeros at padding."""
    bilm = load_bilm(*tiny_files)
    raw = ElmoInput(("Do", "n't", "STOP"), (0, 1, 2, 2), "raw")
    words = [raw, ["plain", "tokens"], ElmoInput(("the",), (), "raw"), []]
    batch = bilm_features(bilm, words)
    assert batch.layers.shape == (3, 4, 4, 16)
    assert batch.mask.sum(dim=1).tolist() == [4, 2, 0, 0]
    assert not batch.layers[:, ~batch.mask].any()
    # (alone vs in a batch of 4: float32 batch noise may move a float16 rounding by one step)
    alone = bilm_features(bilm, [list(raw.pieces)]).layers[:, 0]  # (L, 3, D)
    close = {"atol": 2e-3, "rtol": 0}
    torch.testing.assert_close(batch.layers[:, 0], alone[:, [0, 1, 2, 2]], **close)
    plain = bilm_features(bilm, [["plain", "tokens"]]).layers[:, 0]
    torch.testing.assert_close(batch.layers[:, 1, :2], plain, **close)
    empty = bilm_features(bilm, [ElmoInput((), (), "raw"), []])
    assert empty.layers.shape == (3, 2, 0, 16)


def test_cache_keys_include_the_input() -> None:
    tokens, raw = Normalizer().aligned("Pink Floyd", "raw")
    _, lower = Normalizer().aligned("Pink Floyd", "lower")
    keys = text_keys([tokens, raw, lower, ElmoInput(("pink", "floyd"), (0, 1), "raw")])
    assert len(set(keys.tolist())) == 4
    # cleaned tokens keep the key they had before embed.elmo_input existed
    old = hashlib.sha256(b"2\npink\nfloyd").digest()[:16]
    assert keys[0].tobytes() == old


def test_runs_saved_before_the_setting_read_cleaned_tokens(
    tiny_files, tiny_tsv, tmp_path, make_config, spy
) -> None:
    """A config.json without embed.elmo_input (an ELMo run of an earlier version) loads with
    elmo_input = cleaned and predicts exactly as the run did."""
    config = elmo_config(
        tiny_files, tiny_tsv, tmp_path / "run", make_config, **{"embed.elmo_input": "cleaned"}
    )
    result = train(config, log=lambda _: None)
    before = Predictor.from_run(result.run_dir).predict_proba([TWEET, "ok", ""])
    path = result.run_dir / "config.json"
    raw = json.loads(path.read_text())
    del raw["embed"]["elmo_input"]
    path.write_text(json.dumps(raw))
    predictor = Predictor.from_run(result.run_dir)
    assert predictor.run.config.embed.elmo_input == "cleaned"
    spy.clear()
    after = predictor.predict_proba([TWEET, "ok", ""])
    assert np.array_equal(before, after)
    assert TOKENS in spy and PIECES not in spy  # the cleaned tokens, as before
    # a new config (a TOML file, flags) gets the new default
    fresh = RunConfig.from_dict({"embed": {"kind": "elmo", "elmo_model": "small"}})
    assert fresh.embed.elmo_input == "raw"


def test_a_literal_sentence_marker_is_text(tiny_files) -> None:
    """`<S>` / `</S>` given as tokens are their characters, not the biLM's boundaries."""
    from tweetsent.embed.elmo.chars import batch_to_ids, sentence_marker_ids, word_to_ids

    ids = batch_to_ids([["<S>", "</S>"]], 50)[0]
    bos, eos = sentence_marker_ids(50)
    assert ids[0].tolist() == list(word_to_ids("<S>", 50)) != list(bos)
    assert ids[1].tolist() == list(word_to_ids("</S>", 50)) != list(eos)
    assert ids[0, 1:4].tolist() == [b + 1 for b in b"<S>"]


def test_ensemble_members_must_feed_their_bilms_alike() -> None:
    """One ElmoInput per tweet serves every member: ELMo members must share elmo_input."""
    from types import SimpleNamespace

    from tweetsent.errors import TweetsentError
    from tweetsent.runs.members import check_compatible

    def run(path: str, elmo_input: str, kind: str = "elmo") -> SimpleNamespace:
        embed = {"kind": kind, "elmo_model": "small", "elmo_input": elmo_input}
        config = RunConfig.from_dict({"embed": embed if kind == "elmo" else {"kind": kind}})
        return SimpleNamespace(path=path, labels=["a", "b"], config=config)

    check_compatible(run("r1", "raw"), run("r2", "raw"))
    check_compatible(run("r1", "raw"), run("r2", "raw", kind="random"))  # no biLM
    with pytest.raises(TweetsentError, match="embed.elmo_input lower vs raw"):
        check_compatible(run("r1", "raw"), run("r2", "lower"))
