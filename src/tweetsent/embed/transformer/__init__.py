"""Pretrained transformer encoders (BERT/RoBERTa family) as tweetsent's contextual embedder.

    source = TransformerSource.from_folder("models/all-MiniLM-L6-v2")  # offline, checksummed
    encoder = source.load(trainable=False)        # PieceEncoder: tokenizer + Hugging Face model
    batch = encoder.features(words)               # every layer per classifier token, float16

Modules: `source` (which folder, files by SHA-256, offline loading with `transformers`, copying
into a run directory), `encoder` (`PieceEncoder`: the tweet's pieces -> word pieces -> hidden
states, per piece and per classifier token), `embedder` (`TransformerEmbedder`: the frozen
encoder's layers, cached like ELMo's, through ELMo's scalar mix). The fine-tuned classifier is
`models.transformer.TransformerClassifier`. Nothing here imports `transformers` until a model is
loaded.
"""

from tweetsent.embed.transformer.embedder import TransformerEmbedder
from tweetsent.embed.transformer.encoder import PieceEncoder
from tweetsent.embed.transformer.source import (
    TransformerSource,
    resolve_emoji,
    transformer_source,
    transformer_source_for_run,
)

__all__ = [
    "PieceEncoder",
    "TransformerEmbedder",
    "TransformerSource",
    "resolve_emoji",
    "transformer_source",
    "transformer_source_for_run",
]
