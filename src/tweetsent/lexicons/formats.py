"""Sentiment lexicons in the file formats the NRC-Canada system used, read into one shape.

    lexicon = load_lexicon("vader")                         # a builtin
    lexicon = load_lexicon("lexicons/BingLiu.csv.gz")       # format detected, gzip read
    lexicon = load_lexicon("pmi:my-lexicon.txt")            # FORMAT:PATH forces a format
    lexicon.scores["good"]                                  # polarity scaled to [-1, 1]

Mohammad, Kiritchenko and Zhu 2013, "NRC-Canada: Building the State-of-the-Art in Sentiment
Analysis of Tweets" (best system of SemEval-2013 Task 2), drew its tweet features from five
lexicons: two they built from tweets (Sentiment140 and NRC Hashtag, PMI scores) and three
manual ones (NRC EmoLex, MPQA, Bing Liu). The formats, one entry a line:

- `score`:    `term TAB number` (further columns ignored: VADER's mean valence in [-4, 4]
               comes with its standard deviation and ratings; AFINN's integers are in -5..5)
- `polarity`: `term TAB label` or `term,label`, label positive (+1), negative (-1),
               neutral or both (0: kept, the term is still "in the lexicon"). MPQA, Bing Liu.
- `pmi`:      `term TAB score TAB n_pos TAB n_neg`, score = PMI(term, positive) - PMI(term,
               negative). Terms include `#hashtags`, `@users` and emoticons, so in this format
               no line is a comment: `#fabulous` is a term.
- `emolex`:   `word TAB emotion TAB 0|1`, ten rows a word (NRC EmoLex); polarity =
               flag(positive) - flag(negative), so every listed word is an entry.

Every lexicon's scores are divided by its largest absolute score, so all lie in [-1, 1].
Terms are kept as written (the files are lower-cased). Blank lines are skipped; outside `pmi`,
lines `# ...` (and a header of `#` lines that are not entries) are comments. Duplicate terms:
the first wins. Without a forced format, the format is the one that fits the first few entry
lines (`detect_format`), the most specific first: pmi, emolex, score, polarity.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from tweetsent.errors import DataError
from tweetsent.lexicons.textfile import read_lines

FORMATS = ("score", "polarity", "pmi", "emolex")
BUILTIN = ("vader", "afinn", "afinn-emoticon")
POLARITY_LABELS = {"positive": 1.0, "negative": -1.0, "neutral": 0.0, "both": 0.0}
DETECT_LINES = 5  # entry lines that must agree on the detected format

_PRIORITY = ("pmi", "emolex", "score", "polarity")  # most specific first (pmi lines fit score)
_EXPECTED = {
    "score": "expected 'term TAB score'",
    "polarity": "expected 'term TAB label' or 'term,label' (label: positive, negative, "
    "neutral or both)",
    "pmi": "expected 'term TAB score TAB n_pos TAB n_neg'",
    "emolex": "expected 'word TAB emotion TAB 0|1'",
}
_SUFFIXES = (".txt", ".csv", ".tsv", ".lex")
# builtin name -> (package, file inside the package, pip name)
_PACKAGED = {
    "vader": ("vaderSentiment", "vader_lexicon.txt", "'tweetsent[lexicon]'"),
    "afinn": ("afinn", "data/AFINN-en-165.txt", "afinn"),
    "afinn-emoticon": ("afinn", "data/AFINN-emoticon-8.txt", "afinn"),
}


@dataclass(frozen=True, repr=False)
class Lexicon:
    """A sentiment lexicon: term -> polarity score in [-1, 1].

    `name` is short (the file name without `.txt.gz` / `.csv.gz`, or the builtin name),
    `source` the spec it was loaded from, `format` one of `FORMATS`, `path` the file read
    (a package's data file for a builtin).
    """

    name: str
    scores: dict[str, float]
    source: str
    format: str
    path: str = ""

    def __len__(self) -> int:
        return len(self.scores)

    def __repr__(self) -> str:
        return (
            f"Lexicon(name={self.name!r}, format={self.format!r}, source={self.source!r}, "
            f"entries={len(self.scores)})"
        )


def load_lexicon(spec: str) -> Lexicon:
    """A builtin name (`BUILTIN`), a file `PATH` (format detected) or `FORMAT:PATH`.

    Raises `DataError(message, path, line)` on a missing or unreadable file, a malformed line,
    a non-finite score or a lexicon without entries.
    """
    forced, path, name = _resolve(spec)
    lines = read_lines(path)
    fmt = forced or detect_format(lines, path)
    raw = _emolex_scores(lines, path) if fmt == "emolex" else _term_scores(lines, fmt, path)
    if not raw:
        raise DataError("the lexicon has no entries", path)
    largest = max(map(abs, raw.values())) or 1.0
    scores = {term: score / largest for term, score in raw.items()}
    return Lexicon(name=name, scores=scores, source=spec, format=fmt, path=str(path))


def load_lexicons(specs: Sequence[str]) -> list[Lexicon]:
    """`load_lexicon` of each spec; a name that is already taken gets `-2`, `-3`, ..."""
    lexicons: list[Lexicon] = []
    taken: set[str] = set()
    for spec in specs:
        lexicon = load_lexicon(spec)
        name, n = lexicon.name, 1
        while name in taken:
            n += 1
            name = f"{lexicon.name}-{n}"
        taken.add(name)
        if name != lexicon.name:
            lexicon = dataclasses.replace(lexicon, name=name)
        lexicons.append(lexicon)
    return lexicons


def detect_format(lines: Sequence[str], path: object = None) -> str:
    """The most specific format (`pmi`, `emolex`, `score`, `polarity`) that fits each of the
    first `DETECT_LINES` entry lines. `# ...` lines, and `#` lines that fit no format, are
    skipped here (a PMI line `#fabulous TAB 7.5 TAB 2301 TAB 2` fits `pmi`)."""
    candidates: set[str] | None = None
    seen = 0
    for number, text in enumerate(lines, 1):
        if not text.strip() or _is_comment(text):
            continue
        fits = {fmt for fmt in FORMATS if _fits(fmt, text)}
        if not fits and text.startswith("#"):
            continue  # a header line
        if candidates is not None and not candidates & fits:
            best = next(fmt for fmt in _PRIORITY if fmt in candidates)
            _raise_malformed(best, text, path, number)  # the format of the lines before
        if not fits:
            expected = "; ".join(_EXPECTED[fmt] for fmt in _PRIORITY)
            raise DataError(f"unknown lexicon format: {expected}", path, number)
        candidates = fits if candidates is None else candidates & fits
        seen += 1
        if seen == DETECT_LINES:
            break
    if candidates is None:
        raise DataError("the lexicon has no entries", path)
    return next(fmt for fmt in _PRIORITY if fmt in candidates)


class _Malformed(ValueError):
    """A line that does not fit its format; becomes a DataError with the path and line."""


def _number(field: str, what: str, expected: str) -> float:
    try:
        value = float(field)
    except ValueError:
        raise _Malformed(f"{expected} ({what} {field!r} is not a number)") from None
    if not math.isfinite(value):
        raise _Malformed(f"{what} {field!r} is not finite")
    return value


def _score_row(text: str) -> tuple[str, float]:
    parts = text.split("\t")
    if len(parts) < 2 or not parts[0]:
        raise _Malformed(_EXPECTED["score"])
    return parts[0], _number(parts[1], "score", _EXPECTED["score"])


def _polarity_row(text: str) -> tuple[str, float]:
    parts = text.split("\t") if "\t" in text else text.rsplit(",", 1)
    label = parts[1].strip().lower() if len(parts) >= 2 else ""
    if not parts[0] or label not in POLARITY_LABELS:
        raise _Malformed(_EXPECTED["polarity"])
    return parts[0], POLARITY_LABELS[label]


def _pmi_row(text: str) -> tuple[str, float]:
    parts = text.split("\t")
    expected = _EXPECTED["pmi"]
    if len(parts) != 4 or not parts[0]:
        raise _Malformed(expected)
    score = _number(parts[1], "score", expected)
    for count in parts[2:]:
        if not count.isdigit():
            raise _Malformed(f"{expected} (count {count!r} is not a whole number)")
    return parts[0], score


def _emolex_row(text: str) -> tuple[str, str, int]:
    parts = text.split("\t")
    if len(parts) != 3 or not parts[0] or not parts[1].strip() or parts[2] not in ("0", "1"):
        raise _Malformed(_EXPECTED["emolex"])
    emotion = parts[1].strip().lower()
    if not any(c.isalpha() for c in emotion):
        raise _Malformed(f"{_EXPECTED['emolex']} (emotion {parts[1]!r} is not a word)")
    return parts[0], emotion, int(parts[2])


_ROW: dict[str, Callable[[str], tuple]] = {
    "score": _score_row,
    "polarity": _polarity_row,
    "pmi": _pmi_row,
    "emolex": _emolex_row,
}


def _fits(fmt: str, text: str) -> bool:
    try:
        _ROW[fmt](text)
    except _Malformed:
        return False
    return True


def _raise_malformed(fmt: str, text: str, path: object, number: int) -> NoReturn:
    """The DataError of a line that does not fit `fmt` (the format of the lines before it)."""
    try:
        _ROW[fmt](text)
    except _Malformed as exc:
        raise DataError(str(exc), path, number) from None
    raise AssertionError(f"line {number} fits {fmt}")  # pragma: no cover


def _is_comment(text: str) -> bool:
    return text == "#" or text.startswith("# ")


def _skipped_comment(text: str, comments: bool, header: bool, fmt: str) -> bool:
    """A `# ...` line, or a `#` line of the header that is not an entry (not in `pmi`)."""
    if not comments or not text.startswith("#"):
        return False
    return _is_comment(text) or (header and not _fits(fmt, text))


def _rows(lines: Sequence[str], fmt: str, path: object) -> Iterator[tuple]:
    """The parsed entry lines; comments (not in `pmi`) and blank lines skipped."""
    parse, comments, header = _ROW[fmt], fmt != "pmi", True
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        if _skipped_comment(text, comments, header, fmt):
            continue
        try:
            row = parse(text)
        except _Malformed as exc:
            raise DataError(str(exc), path, number) from None
        header = False
        yield row


def _term_scores(lines: Sequence[str], fmt: str, path: object) -> dict[str, float]:
    scores: dict[str, float] = {}
    for term, score in _rows(lines, fmt, path):
        scores.setdefault(term, score)  # the first entry of a term wins
    return scores


def _emolex_scores(lines: Sequence[str], path: object) -> dict[str, float]:
    """word -> flag(positive) - flag(negative); the first row of a (word, emotion) wins."""
    positive: dict[str, int] = {}
    negative: dict[str, int] = {}
    words: dict[str, None] = {}  # every word, in file order
    for word, emotion, flag in _rows(lines, "emolex", path):
        words.setdefault(word)
        if emotion == "positive":
            positive.setdefault(word, flag)
        elif emotion == "negative":
            negative.setdefault(word, flag)
    return {word: float(positive.get(word, 0) - negative.get(word, 0)) for word in words}


def _resolve(spec: str) -> tuple[str | None, Path, str]:
    """spec -> (forced format or None, file, short name)."""
    if spec in BUILTIN:
        return "score", _packaged_file(spec), spec
    prefix, sep, rest = spec.partition(":")
    forced = None
    if sep and prefix in FORMATS:
        forced, spec = prefix, rest
        if not rest:
            raise DataError(f"no file after '{prefix}:' (expected FORMAT:PATH)")
    path = Path(spec)
    if not path.is_file():
        if sep and forced is None and prefix.isalpha() and len(prefix) > 1:
            raise DataError(f"unknown lexicon format {prefix!r} (expected one of {FORMATS})")
        raise DataError(f"lexicon file not found (builtin lexicons: {', '.join(BUILTIN)})", path)
    return forced, path, _short_name(path)


def _short_name(path: Path) -> str:
    name = path.name
    if name.endswith(".gz"):
        name = name[: -len(".gz")]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _packaged_file(name: str) -> Path:
    package, relative, pip_name = _PACKAGED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"lexicon {name!r} needs the {package} package (pip install {pip_name}), "
            "or give a lexicon file"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DataError(f"missing from the {package} package", path)
    return path
