"""Model folders: offline only, safetensors only, checksummed; one-line errors for the rest."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from tweetsent.config import EmbedConfig, TextConfig
from tweetsent.embed.transformer import (
    TransformerEmbedder,
    TransformerSource,
    resolve_emoji,
    transformer_source,
)
from tweetsent.errors import DataError
from tweetsent.text import Normalizer
from tweetsent.text.align import ElmoInput


def test_missing_folder_and_hub_name(tmp_path):
    with pytest.raises(DataError, match="no such transformer model folder"):
        TransformerSource.from_folder(tmp_path / "nope")
    with pytest.raises(DataError, match="never downloads.*huggingface-cli download cardiffnlp"):
        TransformerSource.from_folder("cardiffnlp/twitter-roberta-base")


def test_folder_without_safetensors_is_refused(tiny_bert, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_bert, folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(DataError, match="not in safetensors format.*pickle"):
        TransformerSource.from_folder(folder)
    (folder / "config.json").unlink()
    with pytest.raises(DataError, match="no config.json"):
        TransformerSource.from_folder(folder)


def test_key_names_files_and_max_pieces(tiny_bert, tmp_path):
    a = TransformerSource.from_folder(tiny_bert, 64)
    assert a.key == TransformerSource.from_folder(tiny_bert, 64).key
    assert a.key != TransformerSource.from_folder(tiny_bert, 32).key
    copy = a.copy_to(tmp_path / "copy", weights=True)
    assert copy.key == a.key and copy.folder != a.folder
    no_weights = a.copy_to(tmp_path / "light", weights=False)
    assert not no_weights.has_weights and not (tmp_path / "light" / "model.safetensors").exists()


def test_config_needs_a_folder():
    with pytest.raises(Exception, match="embed.transformer: kind = 'transformer' needs"):
        EmbedConfig(kind="transformer")
    with pytest.raises(Exception, match="embed.transformer_layers"):
        EmbedConfig(kind="transformer", transformer="x", transformer_layers="1,x")


def test_auto_emoji_follows_the_vocabulary(tiny_bert, tmp_path):
    embed = EmbedConfig(kind="transformer", transformer=str(tiny_bert))
    assert resolve_emoji(embed, transformer_source(embed)) == "words"  # no emoji in its vocab
    folder = tmp_path / "emoji"
    shutil.copytree(tiny_bert, folder)
    (folder / "tokenizer.json").unlink()  # rebuilt from vocab.txt, now with emoji
    from tweetsent.embed.transformer.source import COMMON_EMOJI

    with open(folder / "vocab.txt", "a", encoding="utf-8") as handle:
        handle.write("".join(f"{c}\n" for c in COMMON_EMOJI))
    embed = EmbedConfig(kind="transformer", transformer=str(folder))
    assert resolve_emoji(embed, transformer_source(embed)) == "keep"


def test_features_align_pieces_to_tokens(tiny_bert):
    """Each classifier token takes its piece's mean word-piece state; `<repeat>` and a
    hashtag's two tokens read their pieces; padding rows are zeros."""
    source = TransformerSource.from_folder(tiny_bert)
    encoder = source.load()
    embed = EmbedConfig(kind="transformer", transformer=str(tiny_bert), transformer_emoji="words")
    norm = Normalizer(TextConfig())
    pairs = [norm.contextual(t, embed) for t in ["#happy love", "bad bad bad day", ""]]
    batch = encoder.features([w for _, w in pairs])
    assert batch.layers.dtype == torch.float16
    assert batch.layers.shape[:3] == (3, 3, max(len(t) for t, _ in pairs))
    tokens, words = pairs[0]
    assert tokens == ["<hashtag>", "happy", "love"]
    layers = batch.layers.float()
    assert torch.equal(layers[:, 0, 0], layers[:, 0, 1])  # both from the piece "#happy"
    assert not torch.equal(layers[:, 0, 1], layers[:, 0, 2])
    assert batch.mask[2].sum() == 0 and layers[:, 2].abs().sum() == 0
    # a tweet's features do not depend on its batch (to float16 rounding)
    alone = encoder.features([pairs[1][1]]).layers.float()[:, 0]
    width = alone.shape[1]
    assert (alone - layers[:, 1, :width]).abs().max() < 2e-2


def test_embedder_layer_check(tiny_bert):
    encoder = TransformerSource.from_folder(tiny_bert).load()
    with pytest.raises(Exception, match=r"must lie in 0..2"):
        TransformerEmbedder(encoder, layers=[3])
    embedder = TransformerEmbedder(encoder, layers=[2])
    assert embedder.output_dim == 32
    assert not any(k.startswith("_frozen") or "model." in k for k in embedder.state_dict())


def test_slow_path_encodes_like_the_fast_one(tiny_bert):
    """Tokenizers without word alignment (BERTweet's) go piece by piece: same ids, owners."""
    encoder = TransformerSource.from_folder(tiny_bert, max_pieces=12).load()
    embed = EmbedConfig(kind="transformer", transformer=str(tiny_bert), transformer_emoji="words")
    norm = Normalizer(TextConfig())
    texts = ["#happy love @bob", "don't hate the bus :( http://x.co", "", "😂 " * 9]
    words = [norm.contextual(t, embed)[1] for t in texts]
    pieces = [list(w.pieces) for w in words]
    for fast, slow in zip(encoder._encode_fast(pieces), encoder._encode_slow(pieces), strict=True):
        assert torch.equal(fast, slow)


def test_search_space_samples_transformer_fields_only_where_they_apply():
    from tweetsent.search.space import implicit_condition, load_space

    assert implicit_condition("embed.transformer_layers") == {"embed.kind": ("transformer",)}
    assert implicit_condition("train.encoder_lr") == {"model.kind": ("transformer",)}
    assert implicit_condition("train.lr") is None
    root = Path(__file__).resolve().parents[3]
    space = load_space(root / "configs" / "search" / "semeval16-transformer.toml")
    for index in range(12):
        point = space.random_point(3, index)
        config = space.config(point)
        assert config.embed.kind == "transformer"
        tuned = config.model.kind == "transformer"
        assert tuned == ("train.encoder_lr" in point) == ("train.layer_decay" in point)
        assert tuned != ("embed.transformer_layers" in point)


MINILM = Path(__file__).resolve().parents[4] / "shared" / "models" / "all-MiniLM-L6-v2"


@pytest.mark.shared_data
def test_the_shared_minilm_reads_tweets():
    """The encoder the recipe uses, from ../shared (absent on a user's fresh machine)."""
    if not (MINILM / "config.json").is_file():
        pytest.skip(f"{MINILM} not found (the shared model is only on development machines)")
    source = TransformerSource.from_folder(MINILM)
    sums = {}
    for line in (MINILM / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name.removeprefix("./")] = digest
    assert {"config.json", "model.safetensors", "vocab.txt"} <= set(source.files)
    assert {name: sums[name] for name in source.files} == source.files
    embed = EmbedConfig(kind="transformer", transformer=str(MINILM))
    assert resolve_emoji(embed, source) == "words"  # MiniLM's vocabulary lacks emoji
    encoder = source.load()
    assert (encoder.num_output_layers, encoder.output_dim) == (7, 384)
    pieces_of = EmbedConfig(kind="transformer", transformer="m", transformer_emoji="words")
    words = Normalizer(TextConfig()).contextual("@Bob loving it 😂 http://t.co/x", pieces_of)[1]
    ids, _, _ = encoder.encode([words])
    pieces = encoder.tokenizer.convert_ids_to_tokens(ids[0].tolist())
    assert pieces[:4] == ["[CLS]", "@", "user", "loving"] and "[UNK]" not in pieces
    assert encoder.features([words]).layers.shape == (7, 1, 5, 384)


def _byte_symbols() -> list[str]:
    """Byte-level BPE's printable stand-in for each of the 256 bytes (GPT-2's scheme)."""
    keep = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    out, extra = [], 0
    for byte in range(256):
        if byte in keep:
            out.append(chr(byte))
        else:
            out.append(chr(256 + extra))
            extra += 1
    return out


def test_a_roberta_folder_reads_like_a_bert_one(tmp_path):
    """A byte-level BPE encoder (RoBERTa family): the tokenizer gets add_prefix_space, each
    piece's word pieces are its own, the start and end tokens are <s> and </s>."""
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    folder = tmp_path / "roberta"
    folder.mkdir()
    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    for symbol in _byte_symbols():
        vocab.setdefault(symbol, len(vocab))
    try:  # transformers 5 takes the vocabulary itself, 4 its files
        tokenizer = RobertaTokenizerFast(vocab=vocab, merges=[])
    except TypeError:
        (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
        tokenizer = RobertaTokenizerFast(str(folder / "vocab.json"), str(folder / "merges.txt"))
    tokenizer.save_pretrained(folder)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=130,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    RobertaModel(config).save_pretrained(folder, safe_serialization=True)
    encoder = TransformerSource.from_folder(folder, max_pieces=40).load()
    ids, _, owner = encoder.encode([ElmoInput(("love", "it"), (0, 1), "encoder-words")])
    pieces = encoder.tokenizer.convert_ids_to_tokens(ids[0].tolist())
    assert pieces == ["<s>", "Ġ", "l", "o", "v", "e", "Ġ", "i", "t", "</s>"]
    assert owner[0].tolist() == [-1, 0, 0, 0, 0, 0, 1, 1, 1, -1]
    assert encoder.features([ElmoInput(("love", "it"), (0, 1), "x")]).layers.shape == (3, 1, 2, 32)
