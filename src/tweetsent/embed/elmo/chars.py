"""Character ids for the ELMo biLM, exactly as the original models expect them.

Each token becomes `max_chars` ids: begin-of-word, the token's UTF-8 bytes (cut so that the
end-of-word marker still fits), end-of-word, then padding. Raw ids are 0-255 for bytes and
256-260 for the markers; every id is shifted by +1 so that 0 means "no token" (the padding
row of the character table). Sentences get begin/end-of-sentence tokens inside the biLM, not
here (`ElmoBiLm` adds and removes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch

BOS_CHAR = 256  # <begin sentence>
EOS_CHAR = 257  # <end sentence>
BOW_CHAR = 258  # <begin word>
EOW_CHAR = 259  # <end word>
PAD_CHAR = 260  # <padding> inside a token
MAX_CHARS = 50  # max_characters_per_token of every official model


@lru_cache(maxsize=1 << 16)
def word_to_ids(word: str, max_chars: int = MAX_CHARS) -> tuple[int, ...]:
    """The `max_chars` shifted character ids of one token.

    >>> word_to_ids("a", 5)
    (259, 98, 260, 261, 261)
    """
    data = word.encode("utf-8", "ignore")[: max_chars - 2]  # room for both word markers
    ids = [PAD_CHAR] * max_chars
    ids[0] = BOW_CHAR
    ids[1 : len(data) + 1] = data
    ids[len(data) + 1] = EOW_CHAR
    return tuple(i + 1 for i in ids)


@lru_cache(maxsize=8)
def sentence_marker_ids(max_chars: int = MAX_CHARS) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shifted ids of the begin- and end-of-sentence tokens: [BOW, BOS|EOS, EOW, PAD...]."""

    def marker(char: int) -> tuple[int, ...]:
        ids = [PAD_CHAR] * max_chars
        ids[0], ids[1], ids[2] = BOW_CHAR, char, EOW_CHAR
        return tuple(i + 1 for i in ids)

    return marker(BOS_CHAR), marker(EOS_CHAR)


def batch_to_ids(sentences: Sequence[Sequence[str]], max_chars: int = MAX_CHARS) -> torch.Tensor:
    """Character ids of a batch: LongTensor (B, T, max_chars), T = longest sentence.

    Shorter sentences are padded with all-zero tokens; empty sentences are allowed (all zeros),
    and a batch of only empty sentences has T = 0.
    """
    longest = max((len(s) for s in sentences), default=0)
    ids = torch.zeros(len(sentences), longest, max_chars, dtype=torch.long)  # (B, T, C)
    for row, sentence in enumerate(sentences):
        if sentence:
            ids[row, : len(sentence)] = torch.tensor(
                [word_to_ids(token, max_chars) for token in sentence], dtype=torch.long
            )
    return ids
