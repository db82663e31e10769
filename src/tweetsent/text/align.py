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

from dataclasses import dataclass

from tweetsent.config import ELMO_INPUTS

__all__ = ["ELMO_INPUTS", "ElmoInput"]


@dataclass(frozen=True)
class ElmoInput:
    """The biLM's input tokens and, per classifier token, the index of its piece.

    `len()` is the number of classifier tokens, the number of feature rows the tweet gets."""

    pieces: tuple[str, ...]  # what the biLM reads
    index: tuple[int, ...]  # classifier token k takes the biLM vector of pieces[index[k]]
    mode: str = "raw"  # raw | lower (part of the feature-cache key)

    def __len__(self) -> int:
        return len(self.index)
