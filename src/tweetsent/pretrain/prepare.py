"""A pretraining run's corpus: read once at the start, reloaded from the run folder on resume.

One streaming pass (`pretrain.data.scan_corpus`) gives the vocabulary, the held-out sentences and
the block index together. They are saved beside the run:

    OUT/vocab.txt          the softmax vocabulary, one word per line
    OUT/corpus.json        training sentences, tokens, distinct tokens, vocabulary size
    OUT/corpus_index.json  what the index was made from (the settings that decide the sentences,
                           held-out set and blocks; every corpus file's size and SHA-256), the
                           blocks as [file, offset, line, first, count] rows, and the held-out
                           sentences' tokens

so `resume=True` reads them instead of the corpus. Before it trusts them it hashes the corpus
files again (a sequential read, far cheaper than tokenizing) and compares them and the settings
with the saved ones: a changed file or setting is a one-line error, never a stale index. The
checkpoint records the digest of that identity too (`PreparedCorpus.identity`), so a checkpoint
of one corpus never resumes on another's index. JSON only, nothing pickled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tweetsent.errors import ConfigError, DataError
from tweetsent.io import atomic_write, read_json, sha256_file, write_json
from tweetsent.pretrain.data import (
    Block,
    CorpusScan,
    CorpusSpec,
    LmVocab,
    rank_vocab,
    scan_corpus,
)

VOCAB, STATS, INDEX = "vocab.txt", "corpus.json", "corpus_index.json"
FORMAT = 1  # corpus_index.json layout version


@dataclass(frozen=True)
class PreparedCorpus:
    vocab: LmVocab
    sentences: int  # training sentences (held-out lines excluded)
    heldout: list[list[str]]
    blocks: tuple[Block, ...]
    identity: str  # digest of the settings and file contents the index belongs to


def corpus_settings(spec: CorpusSpec, chunk_lines: int) -> dict[str, Any]:
    """The settings that decide the numbered sentences, the held-out set and the blocks
    (named as the `PretrainConfig` fields)."""
    settings: dict[str, Any] = {
        "column": spec.column,
        "clean": spec.kind == "cleaned",
        "max_tokens": spec.max_tokens,
        "heldout_every": spec.heldout_every,
        "heldout_max": spec.heldout_max,
        "chunk_lines": chunk_lines,
    }
    if spec.kind in ("raw", "lower"):  # absent otherwise: indexes made before it still match
        settings["tokens"] = spec.kind
    return settings


def file_identity(spec: CorpusSpec) -> list[dict[str, Any]]:
    """Path, size and SHA-256 of every corpus file, in order."""
    out = []
    for path in spec.files:
        if not Path(path).is_file():
            raise DataError("no such corpus file", path)
        out.append({"path": path, "bytes": Path(path).stat().st_size, "sha256": sha256_file(path)})
    return out


def identity_digest(settings: dict[str, Any], files: list[dict[str, Any]]) -> str:
    """16 hex digits naming (settings, file contents); the paths do not count."""
    key = {"settings": settings, "files": [[f["bytes"], f["sha256"]] for f in files]}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def prepare_corpus(
    spec: CorpusSpec, chunk_lines: int, max_vocab: int, min_count: int, out: Path, resume: bool
) -> PreparedCorpus:
    """Vocabulary, held-out set and block index: one corpus pass, or none to resume."""
    settings, files = corpus_settings(spec, chunk_lines), file_identity(spec)
    identity = identity_digest(settings, files)
    saved = resume and (out / VOCAB).is_file() and (out / STATS).is_file()
    if saved and (out / INDEX).is_file():
        heldout, blocks = load_index(out / INDEX, settings, files)
        vocab, sentences = LmVocab.load(out / VOCAB), _saved_sentences(out)
        return PreparedCorpus(vocab, sentences, heldout, blocks, identity)
    if not saved:
        (out / INDEX).unlink(missing_ok=True)  # a new run: no index of an earlier one survives
    scan = scan_corpus(spec, chunk_lines)
    if saved:  # a run started before corpus_index.json existed: keep its vocabulary
        vocab, sentences = LmVocab.load(out / VOCAB), _saved_sentences(out)
        if sentences != scan.sentences:
            raise DataError(
                f"the corpus now has {scan.sentences} training sentences, the run was started "
                f"on {sentences}; resume needs the same corpus",
                out / STATS,
            )
    else:
        vocab, stats = rank_vocab(scan.counts, scan.sentences, max_vocab, min_count, spec)
        vocab.save(out / VOCAB)
        write_json(out / STATS, {**dataclasses.asdict(stats), "vocab_size": len(vocab)})
        sentences = stats.sentences
    save_index(out / INDEX, settings, files, scan)  # last: an index implies the files above
    return PreparedCorpus(vocab, sentences, scan.heldout, scan.blocks, identity)


def _saved_sentences(out: Path) -> int:
    return int(read_json(out / STATS)["sentences"])


def save_index(
    path: Path, settings: dict[str, Any], files: list[dict[str, Any]], scan: CorpusScan
) -> None:
    """corpus_index.json, written atomically; one block or held-out sentence per line."""

    def rows(name: str, items: list) -> str:
        body = ",\n".join("    " + json.dumps(item, ensure_ascii=False) for item in items)
        return f'  "{name}": [\n{body}\n  ]'

    header = {"format": FORMAT, "settings": settings, "files": files}
    parts = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in header.items()]
    parts.append(rows("blocks", [dataclasses.astuple(b) for b in scan.blocks]))
    parts.append(rows("heldout", scan.heldout))
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write("{\n" + ",\n".join(parts) + "\n}\n")


def load_index(
    path: Path, settings: dict[str, Any], files: list[dict[str, Any]]
) -> tuple[list[list[str]], tuple[Block, ...]]:
    """(held-out sentences, blocks) of a saved index made from these settings and files."""
    try:
        data = read_json(path)
        fmt, saved_settings, saved_files = data["format"], data["settings"], data["files"]
        blocks = tuple(Block(*map(int, row)) for row in data["blocks"])
        heldout = [[str(t) for t in sentence] for sentence in data["heldout"]]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"unreadable corpus index ({type(exc).__name__}: {exc})", path) from None
    if fmt != FORMAT:
        raise DataError(f"corpus index format {fmt}, this version reads {FORMAT}", path)
    for name, now in settings.items():
        if saved_settings.get(name) != now:
            was = saved_settings.get(name)
            raise ConfigError(f"pretrain.{name}: {now} but the run's corpus index used {was}")
    if len(saved_files) != len(files):
        raise DataError(
            f"{len(files)} corpus file(s) given, the run was indexed from {len(saved_files)}", path
        )
    for was, now in zip(saved_files, files, strict=True):
        what = "size" if was.get("bytes") != now["bytes"] else "SHA-256"
        if what == "size" or was.get("sha256") != now["sha256"]:
            moved = "" if was.get("path") == now["path"] else f" from {was.get('path')}"
            raise DataError(
                f"changed since the run's corpus index was made{moved} ({what} differs); "
                "resume needs the same corpus, or start a new run",
                now["path"],
            )
    return heldout, blocks
