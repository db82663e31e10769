"""The tweet normalizer: one pure function from text to tokens, used identically in training
and serving (the run directory stores the `TextConfig` it was built from).

Rules, in order (each switchable in `TextConfig`):

1. HTML entities are unescaped (`&amp;` -> `&`, `&lt;3` -> `<3`, `&quot;` as in Sentiment140,
   also doubly escaped `&amp;lt;3`); Unicode is NFC-composed; curly quotes become ASCII.
2. Case folding (`lowercase`). Emoticons survive it: their letters are put back in one
   canonical case, so `:D`, `:d` -> `:D`, and `XD`, `xD`, `xd` -> `XD`, `;p` -> `;P`.
3. The text is split at whitespace (CR, LF, tabs, NBSP...) and each chunk by one compiled regex
   (`patterns.RULES`, in priority order); per token kind:
   - URL (`http(s)://`, `www.`, `t.co/...`) -> `<url>`; `(http://x.co/a)` keeps its `)`.
   - `@user` -> `<user>` (also `.@user`, `@user!!!`, `@user's` -> `<user> 's`).
   - `#happy` -> `<hashtag> happy` (the word is kept, the tag marked); `#1` is not a tag.
   - numbers (`3.39`, `1,000`, `7:10`) -> `<number>`; `2nd`, `b4` stay words.
   - emoticons (`:)`, `:-(`, `:'(`, `;p`, `<3`, `^_^`, `xD`, ...) and emoji (skin tones,
     ZWJ sequences, flags, keycaps, variation selectors) are whole tokens.
   - elongations: `soooo` -> `soo <elong>` (a letter three or more times is cut to two);
     `!!!!` -> `! <repeat>`, `:)))` -> `:) <repeat>`, `😂😂😂` -> `😂 <repeat>`; a run of dots
     (or `…`) is the single token `...`.
   - contractions are split the Penn-Treebank way, as GloVe 6B was tokenized:
     `don't` -> `do n't`, `can't` -> `ca n't`, `i'm` -> `i 'm`, `it's` -> `it 's`.
     `n't` is a token of its own, so negation is visible to the model and to the stop-word
     filter. `rock'n'roll`, `y'all` stay whole; so do hyphenated words (`well-known`) and dotted
     abbreviations (`u.s.`, `p.m.`).
4. Stop words (`stopwords`: none | study | study-strict, see `stopwords.py`); placeholders are
   never removed and `study` never removes negations.
5. At most `max_tokens` tokens are kept (0 = all).

With a rule switched off its token is kept as written (`http://...`, `@user`, `#happy`, `42`,
`soooo`, `!!!!`, `&amp;`); a run of one emoji then becomes one token per emoji.

Speed: a chunk's tokens depend on the chunk alone, so they are memoised per normalizer (a
bounded dict); tweets repeat words so much that most chunks are dictionary hits.
Bump `NORMALIZER_VERSION` whenever a rule or the stop-word data changes: it keys the caches.
"""

from __future__ import annotations

import dataclasses
import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

from tweetsent.config import EmbedConfig, TextConfig
from tweetsent.text import patterns as P
from tweetsent.text.align import ELMO_INPUTS, ElmoInput, encoder_input
from tweetsent.text.stopwords import stopwords_for

NORMALIZER_VERSION = "2"  # bumped when a rule or the stop-word list changes

URL_TOKEN = "<url>"
USER_TOKEN = "<user>"
HASHTAG_TOKEN = "<hashtag>"
NUMBER_TOKEN = "<number>"
ELONG_TOKEN = "<elong>"
REPEAT_TOKEN = "<repeat>"
ELLIPSIS_TOKEN = "..."
PLACEHOLDERS = (URL_TOKEN, USER_TOKEN, HASHTAG_TOKEN, NUMBER_TOKEN, ELONG_TOKEN, REPEAT_TOKEN)

_CLITICS = frozenset(["'s", "'m", "'re", "'ve", "'ll", "'d"])
MEMO_SIZE = 200_000  # chunks memoised per normalizer (the memo is cleared when full)

T = TypeVar("T")  # what `map_chunks` maps a chunk to, item by item


class Normalizer:
    """Tweet text -> tokens under one `TextConfig`.

    A pure function of (text, config): the chunk memo only saves time. Rebuilt from the config
    alone, so it is cheap to recreate in worker processes.
    """

    def __init__(self, config: TextConfig | None = None, memo_size: int = MEMO_SIZE) -> None:
        self.config = dataclasses.replace(config) if config is not None else TextConfig()
        c = self.config
        self._stop = stopwords_for(c.stopwords)
        self._url = URL_TOKEN if c.urls else None
        self._user = USER_TOKEN if c.users else None
        self._number = NUMBER_TOKEN if c.numbers else None
        self._memo: dict[str, tuple[str, ...]] = {}
        self._memo_size = memo_size  # 0: no memo (every chunk recomputed; for benchmarks)

    def __repr__(self) -> str:
        return f"Normalizer({self.config!r})"

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: str) -> list[str]:
        """Clean and split one tweet. Never raises on any `str`; '' -> []."""
        out: list[str] = []
        self.map_chunks((text,), self.chunk_tokens, self._memo, self._memo_size, out)
        return out

    def map_chunks(
        self,
        texts: Iterable[str],
        per_chunk: Callable[[str], tuple[T, ...]],
        memo: dict[str, tuple[T, ...]],
        memo_size: int,
        out: list[T],
    ) -> list[int]:
        """Append to `out`, text after text, the concatenation of `per_chunk(chunk)` over each
        text's `chunks`, cut to `max_tokens`; return each text's item count.

        `tokenize` is this with `chunk_tokens`; any per-chunk function of the tokens that keeps
        one item per token (e.g. chunk -> vocabulary ids, `inference.IdEncoder`) gives the
        tokens' items, cap included. Results are memoised per chunk in the caller's `memo`
        (at most `memo_size` chunks, cleared when full; 0 = no memo)."""
        chunks, get = self.chunks, memo.get
        cap = self.config.max_tokens
        lengths: list[int] = []
        for text in texts:
            start = len(out)
            for chunk in chunks(text):
                items = get(chunk)
                if items is None:
                    items = per_chunk(chunk)
                    if len(memo) >= memo_size:
                        memo.clear()
                    if memo_size:
                        memo[chunk] = items
                out += items
            count = len(out) - start
            if cap and count > cap:
                del out[start + cap :]
                count = cap
            lengths.append(count)
        return lengths

    def chunks(self, text: str) -> list[str]:
        """The whitespace-free chunks of the prepared text (entities unescaped, NFC, case
        folded): `tokenize` maps them through `chunk_tokens` (see `map_chunks`)."""
        return self._prepare(text).split()

    def chunk_tokens(self, chunk: str) -> tuple[str, ...]:
        """Tokens of one prepared, whitespace-free chunk, stop words already removed.

        The common shapes skip the regex scan (`_scan`) and give what it gives: a mention, a
        URL, a plain word or number, a hashtag, a word with a run of , ! ? or . after it
        (`patterns.USER_CHUNK`, ...)."""
        out: list[str] = []
        first = chunk[:1]
        if first == "@" and P.USER_CHUNK.fullmatch(chunk):
            out.append(self._user or chunk)
        elif first in ("h", "H") and "/" in chunk and P.URL_CHUNK.fullmatch(chunk):
            out.append(self._url or chunk)
        else:
            self._chunk_words(chunk, first, out)
        if self._stop:
            return tuple(t for t in out if t not in self._stop)
        return tuple(out)

    def _chunk_words(self, chunk: str, first: str, out: list[str]) -> None:
        """`chunk_tokens` of a chunk that may hold a word (elongations are looked for)."""
        elong = self.config.elongations and P.ELONGATION_RE.search(chunk) is not None
        if chunk.isascii() and chunk.isalpha() and first not in ("x", "X"):  # xD: emoticon
            self._word(chunk, out, elong)
        elif chunk.isascii() and chunk.isdigit():
            out.append(self._number or chunk)
        elif first == "#" and P.HASHTAG_CHUNK.fullmatch(chunk):
            self._hashtag(chunk, out, elong)
        elif (word := P.WORD_TAIL.fullmatch(chunk)) is not None:
            self._word(word[1], out, elong)
            if word[2] is not None:
                self._tail(word[2], out)
        else:
            self._scan(chunk, out, elong)

    def aligned(self, text: str, mode: str = "raw") -> tuple[list[str], ElmoInput | list[str]]:
        """The classifier's tokens (= `tokenize(text)`) and what the biLM reads for them under
        `embed.elmo_input = mode` (see `tweetsent.text.align`): an `ElmoInput` for raw and
        lower, the tokens themselves for cleaned."""
        if mode not in ELMO_INPUTS:
            raise ValueError(f"elmo input {mode!r} is not one of {', '.join(ELMO_INPUTS)}")
        if mode == "cleaned":
            cleaned = self.tokenize(text)
            return cleaned, cleaned
        tokens: list[str] = []
        pieces: list[str] = []
        index: list[int] = []
        for chunk in self._prepare(text, fold_case=False).split():
            chunk_tokens, chunk_pieces, source = self.chunk_aligned(chunk)
            base = len(pieces)
            tokens += chunk_tokens
            pieces += chunk_pieces
            index += [base + i for i in source]
        cap = self.config.max_tokens
        if cap and len(tokens) > cap:
            del tokens[cap:], index[cap:]
            del pieces[max(index) + 1 :]  # (not index[-1]: an <elong> reads back its word)
        if mode == "lower":
            pieces = [piece.lower() for piece in pieces]
        return tokens, ElmoInput(tuple(pieces), tuple(index), mode)

    def contextual(self, text: str, embed: EmbedConfig) -> tuple[list[str], ElmoInput | list[str]]:
        """The classifier's tokens and what a contextual embedder reads for them: the biLM's
        input under `embed.elmo_input`, or a transformer encoder's (`align.encoder_input`)."""
        if embed.kind != "transformer":
            return self.aligned(text, embed.elmo_input)
        tokens, raw = self.aligned(text, "raw")
        assert isinstance(raw, ElmoInput)
        return tokens, encoder_input(tokens, raw, embed.transformer_emoji)

    def chunk_aligned(self, raw: str) -> tuple[list[str], list[str], list[int]]:
        """One whitespace-free chunk before case folding -> (its tokens as `chunk_tokens` gives
        them, its pieces of raw text, each token's piece index)."""
        chunk = raw.lower() if self.config.lowercase else raw
        if len(chunk) != len(raw):  # case folding changed the length: no position map
            raw = chunk
        out: list[str] = []
        spans: list[tuple[int, int, int, int]] = []
        elong = self.config.elongations and P.ELONGATION_RE.search(chunk) is not None
        if chunk.isascii() and chunk.isalpha() and chunk[0] not in "xX":
            spans.append((0, len(chunk), P.WORD, 0))
            self._word(chunk, out, elong)
        elif chunk.isascii() and chunk.isdigit():
            spans.append((0, len(chunk), P.NUMBER, 0))
            out.append(self._number or chunk)
        else:
            self._scan(chunk, out, elong, spans)
        pieces: list[str] = []
        source: list[int] = []
        for k, (start, end, kind, first) in enumerate(spans):
            last = spans[k + 1][3] if k + 1 < len(spans) else len(out)
            text, made = raw[start:end], out[first:last]
            words = [t for t in made if t != ELONG_TOKEN]
            if kind == P.WORD and len(words) == 2:  # a clitic split: cut the raw word alike
                cut = text.rfind("'") - (1 if words[1].lower() == "n't" else 0)
                word = len(pieces)  # made = [word, clitic] (+ <elong>, which takes the word)
                pieces += (text[:cut], text[cut:])
                source += [word + (i == 1) for i in range(len(made))]
            else:
                pieces.append(text)
                source += [len(pieces) - 1] * len(made)
        if self._stop:
            kept = [(t, s) for t, s in zip(out, source, strict=True) if t not in self._stop]
            out, source = [t for t, _ in kept], [s for _, s in kept]
        return out, pieces, source

    # -- helpers -------------------------------------------------------------------------------

    def _prepare(self, text: str, fold_case: bool = True) -> str:
        c = self.config
        if c.html_entities and "&" in text:
            for _ in range(2):  # twice: Sentiment140 has doubly escaped text (&amp;lt;3)
                unescaped = P.ENTITY_RE.sub(_unescape, text)
                if unescaped == text:
                    break
                text = unescaped
        if not text.isascii():
            if not unicodedata.is_normalized("NFC", text):
                text = unicodedata.normalize("NFC", text)
            text = text.translate(P.QUOTES)
        return text.lower() if c.lowercase and fold_case else text

    def _scan(self, chunk: str, out: list[str], elong: bool, spans: list | None = None) -> None:
        """Split a chunk with the token regex and handle each token by the rule that matched.

        `spans` (for `chunk_aligned`) receives (start, end, kind, first output index) of every
        match."""
        c = self.config
        append = out.append
        finditer, kinds = P.token_re(P.special_kinds(chunk))
        for m in finditer(chunk):
            # every alternative of the token regex is a group, so lastindex is never None
            kind = kinds[m.lastindex]  # type: ignore[index]  # hot loop: no assert or cast
            tok = m.group()
            if spans is not None:
                spans.append((m.start(), m.end(), kind, len(out)))
            if kind == P.WORD:
                self._word(tok, out, elong)
            elif kind == P.PUNCT:
                if len(tok) > 1 and c.elongations:
                    out += (tok[0], REPEAT_TOKEN)
                else:
                    append(tok)
            elif kind == P.NUMBER:
                append(self._number or tok)
            elif kind == P.URL:
                append(self._url or tok)
            elif kind == P.USER:
                append(self._user or tok)
            elif kind == P.HASHTAG:
                self._hashtag(tok, out, elong)
            elif kind == P.EMOTICON:
                self._emoticon(tok, out)
            elif kind == P.EMOJI:
                self._emoji(tok, out)
            elif kind == P.ELLIPSIS:
                append(ELLIPSIS_TOKEN)
            else:  # abbreviation, clitic after a mention/emoticon, HTML entity left as written
                append(tok)

    def _tail(self, tail: str, out: list[str]) -> None:
        """A run of one of , ! ? . after a word (`patterns.WORD_TAIL`), as `_scan` reads it:
        PUNCT (`!!!` -> `! <repeat>`), or ELLIPSIS for two dots or more."""
        if tail[0] == "." and len(tail) > 1:
            out.append(ELLIPSIS_TOKEN)
        elif len(tail) > 1 and self.config.elongations:
            out += (tail[0], REPEAT_TOKEN)
        else:
            out.append(tail)

    def _hashtag(self, tok: str, out: list[str], elong: bool) -> None:
        if self.config.hashtags:
            out.append(HASHTAG_TOKEN)
            self._word(tok[1:], out, elong)
        else:
            out.append(tok)

    def _word(self, tok: str, out: list[str], elong: bool) -> None:
        """A word: cut elongations (soooo -> soo <elong>), split clitics (don't -> do n't)."""
        marked = False
        if elong:
            cut = P.ELONGATION_RE.sub(r"\1\1", tok)
            if cut != tok:
                tok, marked = cut, True
        if "'" in tok:
            if len(tok) > 3 and tok[-3:].lower() == "n't" and tok[-4] != "'":
                out += (tok[:-3], tok[-3:])
            else:
                cut_at = tok.rfind("'")
                if cut_at > 0 and tok[cut_at:].lower() in _CLITICS:
                    out += (tok[:cut_at], tok[cut_at:])
                else:
                    out.append(tok)
        else:
            out.append(tok)
        if marked:
            out.append(ELONG_TOKEN)

    def _emoticon(self, tok: str, out: list[str]) -> None:
        if self.config.lowercase:
            tok = tok.upper()  # canonical case: :d / :D -> :D, xd / xD -> XD
        last = tok[-1]
        base = tok.rstrip(last)
        if base and len(tok) - len(base) >= 2 and self.config.elongations:
            out += (base + last, REPEAT_TOKEN)  # :))) -> :) <repeat>, <333 -> <3 <repeat>
        else:
            out.append(tok)

    def _emoji(self, tok: str, out: list[str]) -> None:
        """A run of one emoji -> the emoji and one <repeat>: 😂😂😂 -> 😂 <repeat>."""
        if self.config.elongations and out:
            if out[-1] == tok:
                out.append(REPEAT_TOKEN)
                return
            if out[-1] == REPEAT_TOKEN and len(out) > 1 and out[-2] == tok:
                return
        out.append(tok)


def _unescape(match: re.Match[str]) -> str:
    return html.unescape(match.group())


_NORMALIZERS: dict[tuple, Normalizer] = {}


def normalizer_for(config: TextConfig | None = None) -> Normalizer:
    """The shared normalizer of this config (built once per distinct config in a process)."""
    cfg = config if config is not None else TextConfig()
    key = tuple(vars(cfg).values())
    normalizer = _NORMALIZERS.get(key)
    if normalizer is None:
        normalizer = _NORMALIZERS[key] = Normalizer(cfg)
    return normalizer


def tokenize(text: str, config: TextConfig | None = None) -> list[str]:
    """`Normalizer(config).tokenize(text)`, with the normalizer built once per distinct config."""
    return normalizer_for(config).tokenize(text)
