"""What the ELMo biLM reads for one tweet, aligned with the classifier's tokens.

The classifier reads the normalizer's tokens (lowercased, `<url>`, `<user>`, `<number>`,
`<hashtag>`, `<elong>`, `<repeat>`, stop words dropped). The official ELMo models were trained
on raw, cased text, so by default (`embed.elmo_input = "raw"`) the biLM reads the tweet's own
pieces of text instead, cut at the same boundaries, and each classifier token takes the vector
of the piece it came from (`Normalizer.aligned`):

    tweet           classifier tokens          biLM pieces           token k takes
    Pink Floyd      pink floyd                 Pink Floyd            its own piece (1:1)
    @Bob 3.5 URL    <user> <number> <url>      @Bob 3.5 URL          the text it replaced
    Don't           do n't                     Do n't                1:1 (the same split)
    #Happy          <hashtag> happy            #Happy                both the one piece
    Soooo !!!! :))) soo <elong> ! <repeat> ... Soooo !!!! :)))       a marker: its word's piece
    😂😂😂          😂 <repeat>                😂 😂 😂              <repeat>: the second
    the (stop word) -                          the                   - (still read as context)

Pieces are cut from the text after HTML unescaping, NFC and quote folding (`&amp;` -> `&`),
before case folding; with `max_tokens` reached, the pieces after the last kept token's are left
out. In a chunk whose case folding changes its length (`İ` -> `i̇`) positions cannot be mapped,
and that chunk's pieces are its case-folded text. `"lower"` lowercases the pieces;
`"cleaned"` gives the biLM the classifier's tokens themselves (1:1, the behaviour of runs made
before this setting existed).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from tweetsent.config import ELMO_INPUTS

__all__ = ["ELMO_INPUTS", "ElmoInput", "encoder_input"]


@dataclass(frozen=True)
class ElmoInput:
    """The biLM's input tokens and, per classifier token, the index of its piece.

    `len()` is the number of classifier tokens, the number of feature rows the tweet gets."""

    pieces: tuple[str, ...]  # what the biLM reads
    index: tuple[int, ...]  # classifier token k takes the biLM vector of pieces[index[k]]
    mode: str = "raw"  # raw | lower (part of the feature-cache key)

    def __len__(self) -> int:
        return len(self.index)


# What a pretrained transformer encoder reads (embed.kind = "transformer"): the raw pieces, with
# the normalisation tweet encoders were trained with (BERTweet, twitter-RoBERTa): a user mention
# is "@user", a URL "http" (HTML entities are already decoded in the pieces); with emoji =
# "words" each emoji becomes its Unicode name in words ("😂" -> "face with tears of joy"),
# skin tones, variation selectors and joiners dropped, for vocabularies without emoji.
ENCODER_STANDINS = {"<user>": "@user", "<url>": "http"}


def encoder_input(tokens: Sequence[str], raw: ElmoInput, emoji: str) -> ElmoInput:
    """The encoder's pieces for a tweet, from its classifier `tokens` and their `raw` pieces
    (`Normalizer.aligned(text, "raw")`); `mode` ("encoder-words" / "encoder-keep") keys the
    feature cache."""
    if emoji not in ("words", "keep"):
        raise ValueError(f"encoder emoji mode {emoji!r} is not words or keep")
    pieces = list(raw.pieces)
    for token, piece in zip(tokens, raw.index, strict=True):
        standin = ENCODER_STANDINS.get(token)
        if standin is not None:
            pieces[piece] = standin
    if emoji == "words":
        pieces = [emoji_words(p) if not p.isascii() else p for p in pieces]
    return ElmoInput(tuple(pieces), raw.index, f"encoder-{emoji}")


def emoji_words(text: str) -> str:
    """Each pictographic symbol (Unicode category So) of `text` replaced by its lowercased name
    between spaces; modifiers (skin tones, Sk), variation selectors and joiners dropped."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "So":
            name = unicodedata.name(char, "")
            out.append(f" {name.lower()} " if name else char)
        elif category == "Sk" and 0x1F3FB <= ord(char) <= 0x1F3FF:
            continue  # skin tone
        elif char in "\ufe0f\ufe0e\u200d":
            continue
        else:
            out.append(char)
    return " ".join("".join(out).split()) or text
