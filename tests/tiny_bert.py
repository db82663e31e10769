"""A tiny randomly initialised BERT in a Hugging Face model folder (config.json, vocab.txt,
tokenizer files, model.safetensors), written by the tests themselves: 2 layers, hidden 32, a
WordPiece vocabulary of the synthetic tweets' words (shared by the transformer tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic import FILLER, NEGATIVE, NEUTRAL, POSITIVE

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PIECES = ["!", "#", "'", ".", ",", ":", ")", "(", "@", "user", "http", "t", "##s", "n", "##t"]
PIECES += ["face", "with", "tears", "of", "joy", "##ing", "##ly", "not", "do", "happy"]


def write_tiny_bert(
    folder: Path, seed: int = 0, layers: int = 2, hidden: int = 32, dropout: float = 0.1
) -> Path:
    """The folder, with a BertModel of random weights (safetensors) and its tokenizer."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    words = sorted({w.strip("@:()") for w in POSITIVE + NEGATIVE + NEUTRAL + FILLER} - {""})
    vocab = SPECIAL + PIECES + [w for w in words if w not in PIECES]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = _tokenizer(BertTokenizerFast, folder / "vocab.txt")
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    return folder


def _tokenizer(kind, vocab: Path):
    """A WordPiece tokenizer of `vocab` (transformers 5 reads `vocab=`, 4 `vocab_file=`)."""
    for key in ("vocab", "vocab_file"):
        try:
            tokenizer = kind(**{key: str(vocab)}, do_lower_case=True)
        except TypeError:
            continue
        if tokenizer.tokenize("love") == ["love"]:
            return tokenizer
    raise RuntimeError("cannot build a WordPiece tokenizer from a vocab.txt here")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "bert")
