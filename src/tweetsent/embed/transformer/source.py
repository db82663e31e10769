"""Which transformer a run uses, identified by its files' SHA-256, loaded offline.

A model folder is what Hugging Face's `save_pretrained` writes: `config.json`, the tokenizer's
files and safetensors weights. tweetsent never downloads at run time: a hub name without a
local folder, a missing folder, or a folder whose weights are only pickles (`pytorch_model.bin`)
is a one-line error saying what to do. A run directory keeps its own copy (`encoder/`: config,
tokenizer, and for a frozen encoder the weights; a fine-tuned encoder's weights are in
model.safetensors) and meta.json its checksums, so a changed or damaged file is refused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tweetsent.config import EmbedConfig
from tweetsent.embed.elmo.source import file_sha256
from tweetsent.errors import ConfigError, DataError
from tweetsent.io import atomic_path

if TYPE_CHECKING:
    from tweetsent.embed.transformer.encoder import PieceEncoder

# Bump when the features computed from the same files change: cached features become stale.
FEATURES_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "bpe.codes",
    "sentencepiece.bpe.model",
    "spiece.model",
)
RUN_FOLDER = "encoder"  # a transformer run's copy of its encoder's files
# Emoji that `embed.transformer_emoji = "auto"` looks up in the tokenizer's vocabulary.
COMMON_EMOJI = "😂❤😍😭😊🙏😘💕🔥👍😁😩😒👌😔💯😎🙄😉🎉"


@dataclass(frozen=True)
class TransformerSource:
    """A model folder and the SHA-256 of each of its files that tweetsent reads."""

    folder: Path
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    max_pieces: int = 64
    name: str = ""  # the model's folder name where it came from (kept in a run's copy)

    @classmethod
    def from_folder(cls, path: str | os.PathLike, max_pieces: int = 64) -> TransformerSource:
        folder = Path(path)
        if not folder.is_dir():
            raise DataError(_missing_folder(str(path)), path)
        if not (folder / CONFIG_FILE).is_file():
            raise DataError(f"not a Hugging Face model folder (no {CONFIG_FILE})", folder)
        names = [CONFIG_FILE, *(n for n in TOKENIZER_FILES if (folder / n).is_file())]
        if (folder / WEIGHTS_FILE).is_file():
            names.append(WEIGHTS_FILE)
        elif any(folder.glob("*.safetensors")):
            raise DataError(
                f"sharded safetensors weights are not supported: save the model as one "
                f"{WEIGHTS_FILE} (save_pretrained(..., max_shard_size='10GB'))",
                folder,
            )
        elif any((folder / n).is_file() for n in ("pytorch_model.bin", "tf_model.h5")):
            raise DataError(
                "the weights are not in safetensors format (pytorch_model.bin is a pickle, "
                "which tweetsent never loads): convert them once with "
                "`AutoModel.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)`",
                folder,
            )
        if len(names) == 1:
            raise DataError("no tokenizer files (tokenizer.json, vocab.txt, ...)", folder)
        files = {name: file_sha256(folder / name) for name in names}
        return cls(folder.resolve(), files, max_pieces, folder.resolve().name)

    @property
    def has_weights(self) -> bool:
        return WEIGHTS_FILE in self.files

    @property
    def key(self) -> str:
        """Names the exact model (its files' contents), the word-piece limit and the feature
        code version: the feature cache's folder."""
        parts = [f"{name}={digest}" for name, digest in sorted(self.files.items())]
        text = ":".join([*parts, f"max_pieces={self.max_pieces}", f"v{FEATURES_VERSION}"])
        return "tf-" + hashlib.sha256(text.encode()).hexdigest()[:24]

    def to_meta(self) -> dict[str, Any]:
        return {
            "name": self.name or self.folder.name,
            "folder": str(self.folder),
            "files": dict(self.files),
            "max_pieces": self.max_pieces,
            "key": self.key,
        }

    def load(self, trainable: bool = False) -> PieceEncoder:
        """The tokenizer and the model (pretrained weights when the folder has them, else
        initialised from config.json for a saved run's weights to fill)."""
        from tweetsent.embed.transformer.encoder import PieceEncoder

        return PieceEncoder.from_folder(self.folder, self.max_pieces, trainable, self.has_weights)

    def copy_to(self, dest: Path, weights: bool) -> TransformerSource:
        """Copy the files (the weights only if `weights`) into `dest`; the copy's source."""
        dest.mkdir(parents=True, exist_ok=True)
        files = {n: d for n, d in self.files.items() if weights or n != WEIGHTS_FILE}
        for name in files:
            with atomic_path(dest / name) as tmp:
                shutil.copyfile(self.folder / name, tmp)
        return TransformerSource(dest.resolve(), files, self.max_pieces, self.name)


def _missing_folder(name: str) -> str:
    looks_like_hub = name.count("/") == 1 and not name.startswith((".", "/", "~"))
    if looks_like_hub:
        return (
            f"embed.transformer: {name!r} is not a local folder, and tweetsent never downloads "
            f"at run time: fetch it once (`huggingface-cli download {name} --local-dir DIR`, "
            "safetensors weights) and give DIR"
        )
    return "no such transformer model folder (embed.transformer: give a Hugging Face model folder)"


def transformer_source(config: EmbedConfig) -> TransformerSource:
    """The folder `config.transformer` names, checksummed."""
    if config.kind != "transformer":
        raise ConfigError("embed.kind: 'transformer' is needed for a transformer encoder")
    return TransformerSource.from_folder(config.transformer, config.transformer_max_pieces)


def transformer_source_for_run(run_dir: Path, recorded: Any) -> TransformerSource:
    """A saved run's copy of its encoder (`RUN/encoder/`), each file checked against the
    SHA-256 recorded in meta.json: a changed, damaged or missing file is a one-line error."""
    files = recorded.get("files") if isinstance(recorded, dict) else None
    max_pieces = recorded.get("max_pieces") if isinstance(recorded, dict) else None
    if not isinstance(files, dict) or not files or not isinstance(max_pieces, int):
        raise DataError("no transformer checksums in meta.json (transformer.files)", run_dir)
    folder = run_dir / RUN_FOLDER
    for name, digest in files.items():
        path = folder / str(name)
        if not path.is_file():
            raise DataError("the run's encoder file is missing", path)
        if file_sha256(path) != digest:
            raise DataError(
                "the run's encoder file differs from the one it was trained with (sha256); "
                "restore it or retrain",
                path,
            )
    name = str(recorded.get("name", ""))
    files = {str(k): v for k, v in files.items()}
    return TransformerSource(folder.resolve(), files, max_pieces, name)


def resolve_emoji(config: EmbedConfig, source: TransformerSource) -> str:
    """`embed.transformer_emoji`, with "auto" decided by the tokenizer: "words" when it
    maps most common emoji to its unknown token (BERT, MiniLM), else "keep"."""
    if config.transformer_emoji != "auto":
        return config.transformer_emoji
    from tweetsent.embed.transformer.encoder import load_tokenizer

    tokenizer = load_tokenizer(source.folder)
    unknown = tokenizer.unk_token_id
    known = 0
    for char in COMMON_EMOJI:
        ids = tokenizer(char, add_special_tokens=False)["input_ids"]
        known += bool(ids) and unknown not in ids
    return "keep" if known * 2 > len(COMMON_EMOJI) else "words"
