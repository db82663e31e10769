"""The tweet token regex: one compiled alternation of rules, tried in order at every position
of a whitespace-free chunk (no rule matches across whitespace, so the normalizer splits first).

Rules are listed in priority order: URLs before words (`http` is a word), emoticons before
punctuation and words (`:D`, `xD`), emoji before numbers (keycaps `1️⃣`), numbers before words
(`2nd` is a word, `3.39` a number). Whitespace and invisible format characters (zero-width
space/joiner, variation selectors, BOM) match nothing and so are skipped.

Speed (the tokenizer must clean >= 15,000 tweets/s on one core):

- every alternative ends with an empty marker group, so `match.lastindex` names the rule that
  matched; and it *starts* with a character class or literal, which lets the regex engine
  reject it after one character (a named group or a look-behind in front would defeat that);
- rules with a telltale character (`/` for URLs, `@`, `#`, `&`, non-ASCII for emoji, `:;=<>^_`
  for emoticons) are left out of the regex for a tweet that lacks it (`special_kinds`); the
  variants are compiled once each, on first use.

Emoticons follow the classic sentiment tokenizer of Christopher Potts
(http://sentiment.christopherpotts.net/tokenizing.html, also NLTK's TweetTokenizer), tightened
so that letter mouths (`:p`, `:D`) never eat the start of a word (`:pizza`), reversed ones
(`(:`, `D:`) only stand alone between spaces, and repeated mouths (`:)))`) stay one token.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

# Token kinds (what `Variant.kinds[match.lastindex]` returns).
URL, ENTITY, USER, HASHTAG, EMOTICON, EMOJI = range(6)
NUMBER, ABBREV, WORD, CLITIC, ELLIPSIS, PUNCT = range(6, 12)

# Gate bits (see `special_kinds`).
G_URL, G_ENTITY, G_USER, G_HASHTAG, G_EMOTICON, G_UNICODE = (1 << i for i in range(6))
ALL_KINDS = 63
ALWAYS = 0

# --- URLs: scheme (also the truncated `ttp://`), www. or a known shortener; balanced (...) kept,
# trailing punctuation left out.
_URL_BODY = r"(?:[^\s()<>\[\]{}\"]|\([^\s()<>]*\))*(?<![.,;:!?'\"…*])"
_SHORTENERS = r"t\.co|bit\.ly|goo\.gl|ow\.ly|fb\.me|youtu\.be|dlvr\.it|is\.gd|buff\.ly|tinyurl\.com"
_URLS = [
    rf"[hH][tT][tT][pP][sS]?://{_URL_BODY}",
    rf"[tT][tT][pP][sS]?://{_URL_BODY}",
    rf"[wW][wW][wW]\.(?=\w){_URL_BODY}",
    rf"(?<![\w.@/])(?i:{_SHORTENERS})/(?=\w){_URL_BODY}",
]

# --- Emoticons.
_EYES = r"[:;=]"
_NOSE = r"['\-o^]?"
_MOUTH = (
    r"(?:\)+|\(+|\]+|\[+|[dD]+(?!\w)|[pP]+(?!\w)|[oO](?!\w)|[xX](?!\w)|3(?!\w)|\*"
    r"|/(?![/\w])|\\(?!\w)|\|+|\$(?!\w)|@(?!\w)|\}|\{)"
)
_EMOTICONS = [
    rf"{_EYES}{_NOSE}{_MOUTH}",  # :) :-( :'( ;p :D =/ :3 :*
    rf"[<>]{_EYES}{_NOSE}{_MOUTH}",  # >:( <:)
    rf"[()dD](?<!\S.)[()]*{_NOSE}{_EYES}(?!\S)",  # (: ): D: ((: -- alone between spaces
    r"[xX](?<!\w.)[dD]+(?!\w)",  # xD XD xddd
    r"</?3+(?!\d)",  # <3 </3 <333
    r"\^(?<!\w.)\^*[_.\-o]?\^+(?!\w)",  # ^_^ ^^ ^.^
    r"-(?<!\w.)_+-(?!\w)",  # -_-
    r"[oO0](?<!\w.)[_.][oO0](?!\w)",  # o_O O.o 0_0
    r"[tT](?<!\w.)_+[tT](?!\w)",  # T_T
    r";(?<!\w.)_+;(?!\w)",  # ;_;
    r">(?<!\w.)[_.]<(?!\w)",  # >_< >.<
    r"[uU](?<!\w.)_[uU](?!\w)",  # u_u
]

# --- Emoji: pictographic bases, optional skin tone / VS16, ZWJ-joined; flags; keycaps; tags.
_PICTO = (
    "\U0001f000-\U0001f0ff\U0001f10d-\U0001f1ff\U0001f300-\U0001faff"
    "\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff\u2190-\u21ff\u25a0-\u25ff"
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u24c2\u2934\u2935\u3030\u303d\u3297\u3299"
)
_PIECE = f"[{_PICTO}](?:[\U0001f3fb-\U0001f3ff]|\ufe0f)*"
_EMOJI = [
    "[\U0001f1e6-\U0001f1ff][\U0001f1e6-\U0001f1ff]",  # flag: two regional indicators
    "[0-9#*]\ufe0f?\u20e3",  # keycap
    "\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f",  # tag sequence (England's flag)
    f"{_PIECE}(?:\u200d{_PIECE})*",  # base + skin tone / VS16, ZWJ-joined (👨‍👩‍👧, 👍🏽)
]

# --- Words. Combining marks count as word characters so that Indic/Thai/decomposed words stay
# whole; inner apostrophes (don't, rock'n'roll) and hyphens (well-known) are kept in the word.
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0900-\u0dff\u0e31-\u0e4e"
)
_W = rf"[\w{_MARKS}]"
# Skipped like whitespace: control characters, zero-width space/joiners, direction marks,
# variation selectors, BOM, tag characters, and lone surrogates (they cannot even be saved).
_IGNORABLE = (
    "\x00-\x1f\x7f-\x9f\u200b-\u200f\u2060\ufe00-\ufe0f\ufeff\U000e0000-\U000e007f\ud800-\udfff"
)

# (kind, gate bit, regex body), in priority order.
RULES: list[tuple[int, int, str]] = [
    *[(URL, G_URL, body) for body in _URLS],
    (ENTITY, G_ENTITY, r"&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z]+\d*);"),  # &amp; if not unescaped
    (USER, G_USER, r"@(?<![\w@]@)\w+"),  # .@user ok, me@mail.com is not a mention
    (HASHTAG, G_HASHTAG, r"#(?<![\w&#]#)\w*[^\W\d]\w*"),  # needs a letter: #1 is "number one"
    *[(EMOTICON, G_EMOTICON, body) for body in _EMOTICONS],
    *[(EMOJI, G_UNICODE, body) for body in _EMOJI],
    (NUMBER, ALWAYS, r"\d\d*(?:[.,:/\-]\d+)*(?!\w)"),  # 3.39 1,000 7:10 09/30/12 (not 2nd)
    (ABBREV, ALWAYS, r"[^\W\d_]\.(?:[^\W\d_]\.)+"),  # u.s. p.m. e.g.
    (WORD, ALWAYS, rf"{_W}{_W}*(?:['\-]{_W}+)*"),
    (CLITIC, ALWAYS, r"'(?:[sSmMdD]|[rR][eE]|[vV][eE]|[lL][lL])(?!\w)"),  # @user's -> <user> 's
    (ELLIPSIS, ALWAYS, r"\.\.+"),
    (ELLIPSIS, G_UNICODE, r"…+"),
    (PUNCT, ALWAYS, rf"(?P<punct_char>[^\w\s{_IGNORABLE}])(?P=punct_char)*"),
]


# Whole chunks that the token regex reads without a scan (`Normalizer.chunk_tokens`; tests hold
# each to `_scan`). A chunk starting with "@" or "#" matches no rule before USER / HASHTAG at its
# first position, and these take every word character after the sign, so a chunk that is all
# word characters is that one token. URL_CHUNK is the first rule itself: its body is consumed
# one way only, so when a match reaches the chunk's end the scan's match is that one too.
USER_CHUNK = re.compile(next(body for kind, _, body in RULES if kind == USER))
HASHTAG_CHUNK = re.compile(next(body for kind, _, body in RULES if kind == HASHTAG))
URL_CHUNK = re.compile(_URLS[0])
# An ASCII word (inner ' and -, as in WORD) and a run of one of , ! ? . (PUNCT, or ELLIPSIS for
# two dots or more): no emoticon, URL, abbreviation or number rule can match in such a chunk
# when it does not start with x (xD), and WORD takes the whole word.
WORD_TAIL = re.compile(r"([a-wyzA-WYZ][a-zA-Z]*(?:['\-][a-zA-Z]+)*)(,+|!+|\?+|\.+)?")


class Variant(NamedTuple):
    """One compiled token regex and the kind of each of its marker groups."""

    finditer: Callable[[str], Iterator[re.Match[str]]]  # the compiled pattern's finditer
    kinds: tuple[int, ...]  # kinds[match.lastindex] -> token kind


@functools.cache
def token_re(mask: int = ALL_KINDS) -> Variant:
    """The token regex with the gated rules in `mask` (see `special_kinds`)."""
    parts, markers = [], []
    for i, (kind, gate, body) in enumerate(RULES):
        if gate and not mask & gate:
            continue
        parts.append(f"{body}(?P<k{i}>)")
        markers.append((f"k{i}", kind))
    pattern = re.compile("|".join(parts))
    kinds = [-1] * (pattern.groups + 1)
    for name, kind in markers:
        kinds[pattern.groupindex[name]] = kind
    return Variant(pattern.finditer, tuple(kinds))


_EMOTICON_HINT = re.compile(r"[:;=<>^_]|[xX][dD]|[oO0]\.[oO0]")


def special_kinds(text: str) -> int:
    """Bit mask of the gated rules that can match somewhere in `text` (cheap C-level tests)."""
    mask = 0
    if "/" in text or "ww." in text or "WW." in text:
        mask |= G_URL
    if "&" in text:
        mask |= G_ENTITY
    if "@" in text:
        mask |= G_USER
    if "#" in text:
        mask |= G_HASHTAG
    if _EMOTICON_HINT.search(text) is not None:
        mask |= G_EMOTICON
    if not text.isascii():
        mask |= G_UNICODE
    return mask


# An HTML character reference with its semicolon (`&amp;`, `&#39;`, `&#x27;`). Only these are
# unescaped: html.unescape alone would also turn a bare `&not` into `¬`.
ENTITY_RE = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")

# A letter repeated three or more times: soooo, hmmm (digits are not elongations: 1000).
ELONGATION_RE = re.compile(r"([^\W\d_])\1{2,}")

# Curly quotes and friends, folded once per tweet (GloVe and the clitic rules use ASCII).
QUOTES = str.maketrans({"‘": "'", "’": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"'})
