"""Sentiment-lexicon word features: reading lexicons, feature rows, the embedder's extra
columns, and a trained model that uses them for words it never saw in training (the lexicon
formats themselves: tests/lexicons/)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from tweetsent.config import RunConfig
from tweetsent.embed import WordEmbedder
from tweetsent.errors import ConfigError, DataError
from tweetsent.lexicons import Lexicon, load_lexicon
from tweetsent.models.tables import vocab_tables
from tweetsent.runs.evaluate import evaluate
from tweetsent.runs.predict import Predictor
from tweetsent.text import Vocabulary
from tweetsent.train import train


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_file_lexicon_is_scaled_to_unit_range_and_skips_comments(tmp_path):
    path = _write(
        tmp_path / "lex.tsv",
        "# word\tscore\n\ngood\t2.0\textra column\nawful\t-4\nmeh\t0\ngood\t-1\n",
    )
    lexicon = load_lexicon(str(path))
    # scaled by the largest |score| (4); the first entry of a repeated word wins
    assert lexicon.scores == {"good": 0.5, "awful": -1.0, "meh": 0.0}
    assert (lexicon.name, lexicon.format, lexicon.source) == ("lex", "score", str(path))


@pytest.mark.parametrize(
    ("text", "forced", "where", "reason"),
    [
        ("good\t1\nbad -1\n", "", ":2", "expected 'term TAB score'"),
        ("good\tvery\n", "score:", ":1", "is not a number"),
        ("good\tvery\n", "", ":1", "unknown lexicon format"),
        ("good\t1\nbad\tnan\n", "", ":2", "is not finite"),
        ("good\t1\nok\t2\nbad\tnan\n", "score:", ":3", "is not finite"),
        ("# only a comment\n", "", "", "has no entries"),
        ("good\t1\n\xff\n", "", ":2", "not UTF-8"),
    ],
)
def test_bad_lexicon_files_name_file_line_and_reason(tmp_path, text, forced, where, reason):
    path = tmp_path / "lex.tsv"
    path.write_bytes(text.encode("latin-1"))  # \xff: a byte that is not UTF-8
    with pytest.raises(DataError) as info:
        load_lexicon(f"{forced}{path}")
    assert str(info.value).startswith(f"{path}{where}: ")
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_lexicon_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="lexicon file not found"):
        load_lexicon(str(tmp_path / "nope.tsv"))


def test_vader_lexicon_from_the_package():
    pytest.importorskip("vaderSentiment")
    lexicon = load_lexicon("vader").scores
    assert len(lexicon) > 7000
    assert lexicon["good"] > 0 > lexicon["hate"]
    assert lexicon[":)"] > 0 > lexicon[":("]  # emoticons, as the tokenizer keeps them
    assert max(abs(v) for v in lexicon.values()) == 1.0


def _features(tokens: list[str], *lexicons: dict[str, float]) -> np.ndarray:
    """The embedder's lexicon columns of `tokens` ([score, in-lexicon] per lexicon)."""
    lexicons = [Lexicon(f"l{k}", scores, f"l{k}.txt", "score") for k, scores in enumerate(lexicons)]
    return vocab_tables(RunConfig(), tokens, lexicons).word_features


def test_feature_rows_score_and_flag_words_in_the_lexicon():
    lexicon = {"good": 0.5, "bad": -0.75, "ok": 0.0}
    tokens = ["<pad>", "<unk>", "good", "Bad", "ok", "table"]
    features = _features(tokens, lexicon)
    assert features.dtype == np.float32 and features.shape == (6, 2)
    expected = [[0, 0], [0, 0], [0.5, 1], [-0.75, 1], [0, 1], [0, 0]]  # Bad: lower-cased
    np.testing.assert_array_equal(features, np.array(expected, dtype=np.float32))


def test_feature_rows_of_several_lexicons_are_side_by_side():
    tokens = ["<pad>", "<unk>", "good", "bad", "table"]
    features = _features(tokens, {"good": 0.5}, {"bad": -1.0, "good": -0.25})
    expected = [[0, 0, 0, 0], [0, 0, 0, 0], [0.5, 1, -0.25, 1], [0, 0, -1, 1], [0, 0, 0, 0]]
    np.testing.assert_array_equal(features, np.array(expected, dtype=np.float32))


def test_embedder_appends_fixed_feature_columns_and_saves_them():
    features = np.array([[0, 0], [0, 0], [0.5, 1], [-1, 1]], dtype=np.float32)
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    embedder = WordEmbedder.from_matrix(matrix, dropout=0.5, features=features)
    assert embedder.output_dim == 5
    tokens = torch.tensor([[2, 3, 0]])
    out = embedder(tokens)  # training mode: dropout on the vectors, never on the features
    assert out.shape == (1, 3, 5)
    np.testing.assert_array_equal(out[0, :, 3:].detach().numpy(), features[[2, 3, 0]])
    assert "features" in embedder.state_dict()
    assert all(p is not embedder.features for p in embedder.parameters())  # not trained
    rebuilt = WordEmbedder(4, 3, num_features=2)  # how a saved run is rebuilt
    assert not rebuilt(tokens)[..., 3:].any()
    rebuilt.load_state_dict(embedder.state_dict())
    embedder.eval(), rebuilt.eval()
    torch.testing.assert_close(rebuilt(tokens), embedder(tokens), rtol=0, atol=0)


def test_embedder_rejects_features_of_another_vocabulary():
    with pytest.raises(ValueError, match="word features"):
        WordEmbedder(4, 3, features=np.zeros((5, 2), dtype=np.float32))


def test_vocabulary_extra_words_follow_the_counted_ones():
    vocab = Vocabulary.build(
        [["b", "a", "b"], ["c"]], min_freq=1, max_size=3, extra=["z", "c", "b"]
    )
    # max_size keeps <pad>, <unk> and the most frequent word; extras come after, sorted, once
    assert vocab.tokens == ["<pad>", "<unk>", "b", "c", "z"]


def test_lexicon_words_that_join_the_vocabulary():
    from tweetsent.train.embeddings import WordInputs

    lexicons = [
        Lexicon("a", {"good": 1.0, "#win": 0.5, "@bob": 0.1, "not bad": 0.2}, "a", "pmi"),
        Lexicon("b", {"bad": -1.0, "good": 0.5}, "b", "score"),
    ]
    inputs = WordInputs(lexicons)
    # single words the normalizer can produce: no hashtags, users or phrases; once, sorted
    assert inputs.vocabulary_words(RunConfig()) == ["bad", "good"]
    assert inputs.vocabulary_words(RunConfig().with_overrides({"embed.lexicon_vocab": False})) == []


def test_lexicon_needs_word_vectors():
    with pytest.raises(ConfigError, match="embed.lexicon"):
        RunConfig().with_overrides(
            {"embed.kind": "elmo", "embed.elmo_model": "small", "embed.lexicon": "vader"}
        )
    with pytest.raises(ConfigError, match="embed.lexicon"):
        RunConfig().with_overrides(
            {"embed.kind": "elmo", "embed.elmo_model": "small", "embed.lexicon": ["a", "b"]}
        )


# ------------------------------------------------------------------------------- training

# Cue words with a lexicon score: many, each seen a few times in training, so that a model
# can learn what their score column means; the test tweets use other words of the lexicon.
SEEN = {
    **{f"goodw{i}": 1.0 + i % 3 for i in range(30)},
    **{f"badw{i}": -1.0 - i % 3 for i in range(30)},
}
UNSEEN = {**{f"goodx{i}": 2.0 for i in range(10)}, **{f"badx{i}": -2.0 for i in range(10)}}
FILLER = ["the", "bus", "today", "my", "team", "phone", "this", "at", "game", "week"]


def _tweets(cues: dict[str, float], n: int, seed: int) -> list[tuple[str, str]]:
    """Positive / negative tweets whose only cue is one lexicon word (by its sign)."""
    rng = random.Random(seed)
    words_of = {
        label: [w for w in cues if (cues[w] > 0) == (label == "positive")]
        for label in ("positive", "negative")
    }
    rows = []
    for i in range(n):
        label = ("positive", "negative")[i % 2]
        words = [*rng.sample(FILLER, rng.randint(2, 5)), rng.choice(words_of[label])]
        rng.shuffle(words)
        rows.append((label, " ".join(words)))
    return rows


def _tsv(path: Path, rows: list[tuple[str, str]]) -> str:
    lines = "".join(f"{i}\t{label}\t{text}\n" for i, (label, text) in enumerate(rows, 1))
    return str(_write(path, lines))


@pytest.fixture(scope="module")
def lexicon_runs(tmp_path_factory):
    """The same tiny model trained with and without a lexicon of all four cue words."""
    root = tmp_path_factory.mktemp("lexicon")
    lexicon = _write(
        root / "lex.tsv", "".join(f"{w}\t{s}\n" for w, s in {**SEEN, **UNSEEN}.items())
    )
    data = _tsv(root / "train.tsv", _tweets(SEEN, 480, seed=1))
    valid = _tsv(root / "valid.tsv", _tweets(SEEN, 60, seed=2))
    test = _tsv(root / "test.tsv", _tweets(UNSEEN, 60, seed=3))
    runs = {}
    for name, spec in (("with", str(lexicon)), ("without", "")):
        config = RunConfig().with_overrides(
            {
                "data.train": [data],
                "data.valid": [valid],
                "data.labels": "binary",
                "data.min_freq": 1,
                "data.workers": 1,
                "data.cache_dir": str(root / "cache"),
                "embed.kind": "random",
                "embed.dim": 8,
                "embed.lexicon": spec,
                "model.hidden_size": 8,
                "train.epochs": 6,
                "train.batch_size": 16,
                "train.lr": 0.02,
                "train.progress": False,
                "train.threads": 1,
                "out": str(root / name),
            }
        )
        train(config, log=lambda _: None)
        runs[name] = root / name
    return runs, test, lexicon


def test_lexicon_words_join_the_vocabulary_and_are_recorded(lexicon_runs):
    runs, _, lexicon = lexicon_runs
    tokens = json.loads((runs["with"] / "vocab.json").read_text())["tokens"]
    assert set(UNSEEN) <= set(tokens)  # never in training, yet in the vocabulary
    without = json.loads((runs["without"] / "vocab.json").read_text())["tokens"]
    assert not set(UNSEEN) & set(without)
    infos = json.loads((runs["with"] / "meta.json").read_text())["embeddings"]["lexicons"]
    assert len(infos) == 1
    info = infos[0]
    assert info["lexicon"] == str(lexicon) and info["words"] == 80
    assert info["vocabulary_scored"] == 80 and len(info["sha256"]) == 64
    assert (info["name"], info["format"]) == ("lex", "score")
    assert "lexicons" not in json.loads((runs["without"] / "meta.json").read_text())["embeddings"]
    assert "lexicon scores (lex.tsv)" in (runs["with"] / "MODEL_CARD.md").read_text()
    weights = load_file(str(runs["with"] / "model.safetensors"))
    features = weights["embedder.features"]
    assert features[tokens.index("goodx0")].tolist() == [pytest.approx(2 / 3), 1.0]


def test_lexicon_features_carry_polarity_to_unseen_words(lexicon_runs):
    """Test tweets whose only cue is a word absent from training: a model with lexicon
    features classifies them from the words' scores; without, they are unknown words."""
    runs, test, _ = lexicon_runs
    with_lexicon = evaluate(Predictor.from_run(runs["with"]), [test]).metrics["accuracy"]
    without = evaluate(Predictor.from_run(runs["without"]), [test]).metrics["accuracy"]
    assert with_lexicon >= 0.9
    assert without <= 0.7


def test_saved_lexicon_model_predicts_without_the_lexicon_file(lexicon_runs, tmp_path):
    runs, test, lexicon = lexicon_runs
    before = Predictor.from_run(runs["with"]).predict_proba(["goodx1 bus", "badx2 week"])
    moved = tmp_path / "lex-moved.tsv"
    lexicon.rename(moved)  # the features live in the weights, not in the file
    try:
        after = Predictor.from_run(runs["with"]).predict_proba(["goodx1 bus", "badx2 week"])
    finally:
        moved.rename(lexicon)
    np.testing.assert_array_equal(before, after)


def test_resume_keeps_the_lexicon_columns_without_reading_the_lexicon(
    tiny_tsv, tmp_path, make_config
):
    lexicon = _write(tmp_path / "lex.tsv", "love\t3\nhate\t-3\nzzz\t1\n")
    out = tmp_path / "run"
    fields = {"embed.lexicon": str(lexicon)}
    train(make_config(tiny_tsv, out, **fields, **{"train.epochs": 2}), log=lambda _: None)
    before = load_file(str(out / "model.safetensors"))["embedder.features"]
    lexicon.unlink()  # resuming reads the vocabulary and the columns from the run directory
    config = make_config(tiny_tsv, out, **fields, **{"train.epochs": 3})
    train(config, resume=True, log=lambda _: None)
    after = load_file(str(out / "model.safetensors"))["embedder.features"]
    np.testing.assert_array_equal(before, after)
    assert before[:, 1].sum() == 3  # love, hate and zzz (joined from the lexicon)
