"""The one-line model summary shared by the training report, the ensemble card and the server's
card: every model kind, and the same line in each of them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tweetsent.config import EmbedConfig, EnsembleConfig, ModelConfig, RunConfig
from tweetsent.runs.card import summary, training
from tweetsent.serve.card import model_card
from tweetsent.serve.settings import ServeSettings
from tweetsent.train.report import describe

CNN = RunConfig(model=ModelConfig(kind="cnn", cnn_filters=32, cnn_widths=[2, 3]))
BERT = "/models/tiny-bert"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (RunConfig(), "BiLSTM(64) x1, max pooling, glove-kumo embeddings (50-d, tuned)"),
        (CNN, "CNN(32 filters, widths 2,3), max pooling, glove-kumo embeddings (50-d, tuned)"),
        (
            RunConfig(model=ModelConfig(cell="gru", bidirectional=False, pooling="attention")),
            "GRU(64) x1, attention pooling, glove-kumo",
        ),
        (RunConfig(model=ModelConfig(kind="feedforward")), "feed-forward MLP(64)"),
        (
            RunConfig(
                model=ModelConfig(kind="ngram"),
                embed=EmbedConfig(lexicon=["score:/data/lex.tsv"], clusters="/data/c.txt"),
            ),
            "n-gram model (16-d bags of hashed word/char n-grams, 262144 buckets)"
            " + lexicon scores (score:lex.tsv) + word clusters (c.txt)",
        ),
        (
            RunConfig(
                model=ModelConfig(kind="transformer", pooling="mean"),
                embed=EmbedConfig(kind="transformer", transformer=BERT),
            ),
            "fine-tuned transformer encoder (tiny-bert), mean pooling",
        ),
        (
            RunConfig(
                model=ModelConfig(kind="cnn"),
                embed=EmbedConfig(kind="transformer", transformer=BERT, transformer_layers="2"),
            ),
            "CNN(64 filters, widths 1,2,3,4), max pooling, "
            "frozen transformer encoder (tiny-bert), layers 2",
        ),
        (
            RunConfig(embed=EmbedConfig(kind="elmo", elmo_model="small", elmo_concat="random")),
            "max pooling, ELMo (small), layers all + random embeddings (50-d, tuned)",
        ),
        (
            RunConfig(ensemble=EnsembleConfig(members=["a", "b"], weights="uniform")),
            "ensemble of 2 models (uniform weights)",
        ),
    ],
)
def test_summary_names_every_model_kind(config, expected) -> None:
    assert expected in summary(config)
    assert "/models" not in summary(config) and "/data" not in summary(config)


def test_cnn_runs_are_described_as_cnns_in_the_report_and_the_served_card() -> None:
    title = describe(CNN)  # the learning-curve figure's title
    assert title.startswith("CNN(32 filters, widths 2,3), max pooling") and "LSTM" not in title
    run = SimpleNamespace(config=CNN, meta={}, path=Path("cnn-run"), labels=["neg", "pos"])
    card = model_card(run, ServeSettings(), attention=False)
    assert card["summary"].startswith("CNN(32 filters, widths 2,3)")
    assert "LSTM" not in card["summary"]


def test_training_settings_of_a_fine_tuned_encoder() -> None:
    config = RunConfig(
        model=ModelConfig(kind="transformer", pooling="mean"),
        embed=EmbedConfig(kind="transformer", transformer=BERT),
    )
    assert training(RunConfig()) == "adam lr=0.002 bs=128 clip=5 dropout=0.3"
    assert "encoder_lr=0.002 layer_decay=1 constant warmup=0 bs=128x1" in training(config)
