"""The vocabulary: token <-> id, with `<pad>` = 0 and `<unk>` = 1, saved as JSON.

    vocab = Vocabulary.build(token_lists, min_freq=2, max_size=50000)
    vocab.encode(["what", "a", "day", ":)"])   # -> [57, 8, 93, 1] (1 = <unk>)
    vocab.save(run_dir / "vocab.json")

Ids are assigned by frequency (descending), ties broken by the token itself, so the same token
lists always give the same vocabulary, whatever their order.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from tweetsent.errors import DataError
from tweetsent.io import read_json, write_json

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1
SPECIALS = (PAD, UNK)
FORMAT = "tweetsent-vocab"
FORMAT_VERSION = 1


class Vocabulary:
    """An ordered list of tokens; a token's id is its position. `tokens[0:2]` = <pad>, <unk>."""

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if tokens[:2] != list(SPECIALS):
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {tokens[:2]!r}")
        bad = next((t for t in tokens if not isinstance(t, str) or not t), None)
        if bad is not None:
            raise ValueError(f"vocabulary tokens must be non-empty strings, got {bad!r}")
        self.tokens: list[str] = tokens
        self._index: dict[str, int] = {t: i for i, t in enumerate(tokens)}
        if len(self._index) != len(tokens):
            dup = next(t for t, n in Counter(tokens).items() if n > 1)
            raise ValueError(f"vocabulary token {dup!r} appears twice")

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Iterable[str]],
        min_freq: int = 2,
        max_size: int = 50000,
        extra: Iterable[str] = (),
    ) -> Vocabulary:
        """Keep tokens seen at least `min_freq` times, most frequent first (ties: by token),
        up to `max_size` entries in all (the two specials included); then the `extra` tokens
        not kept yet (sorted), beyond `max_size`: words a lexicon knows, say."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        if max_size < len(SPECIALS):
            raise ValueError(f"max_size must be >= {len(SPECIALS)}, got {max_size}")
        counts = Counter(chain.from_iterable(token_lists))
        for special in SPECIALS:
            counts.pop(special, None)
        kept = [(-n, t) for t, n in counts.items() if n >= min_freq]
        kept.sort()
        room = max_size - len(SPECIALS)
        tokens = [*SPECIALS, *(t for _, t in kept[:room])]
        known = set(tokens)
        tokens += sorted({t for t in extra if t and t not in known})
        return cls(tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens)"

    def id_of(self, token: str) -> int:
        """The token's id, or UNK_ID."""
        return self._index.get(token, UNK_ID)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token ids; unknown tokens -> UNK_ID (1)."""
        get = self._index.get  # (a comprehension: faster than map for a tweet's few tokens)
        return [get(token, UNK_ID) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        tokens = self.tokens
        return [tokens[i] for i in ids]

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": FORMAT_VERSION, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, raw: Any, source: str | os.PathLike = "vocabulary") -> Vocabulary:
        """Rebuild from `to_dict()` output; a malformed one raises DataError naming `source`."""
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise DataError(f"not a tweetsent vocabulary (expected format {FORMAT!r})", source)
        if raw.get("version") != FORMAT_VERSION:
            raise DataError(f"unsupported vocabulary version {raw.get('version')!r}", source)
        tokens = raw.get("tokens")
        if not isinstance(tokens, list):
            raise DataError("vocabulary 'tokens' must be a list of strings", source)
        try:
            return cls(tokens)
        except ValueError as exc:
            raise DataError(str(exc), source) from None

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON atomically (a crash leaves the old file or none)."""
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        path = Path(path)
        try:
            raw = read_json(path)
        except FileNotFoundError:
            raise DataError("no such vocabulary file", path) from None
        except json.JSONDecodeError as exc:
            message = f"not valid JSON ({exc.msg}, column {exc.colno})"
            raise DataError(message, path, exc.lineno) from None
        except UnicodeDecodeError:
            raise DataError("not UTF-8 text", path) from None
        return cls.from_dict(raw, source=path)
