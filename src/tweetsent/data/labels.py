"""Label sets: raw labels from any dataset mapped to canonical class names.

`3class` = (negative, neutral, positive), `binary` = (negative, positive); class ids follow this
order. Raw labels accepted (case and surrounding spaces ignored):

- names: negative/neg, neutral/neu/objective/objective-or-neutral, positive/pos;
- numbers, decided per file from the set of numbers that file uses:
  any 2 or 4 -> Sentiment140 scheme 0/2/4 = negative/neutral/positive;
  otherwise -1/0/1 (also +1) = negative/neutral/positive.
  A file whose only numbers are 0 and/or 1 without -1 is ambiguous (0/1 binary or -1/0/1?) and
  raises DataError: write names instead.

`apply_labels` maps every row and, for `binary`, drops neutral rows and says how many.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from tweetsent.data.examples import Examples
from tweetsent.errors import DataError

MODES: dict[str, tuple[str, ...]] = {
    "3class": ("negative", "neutral", "positive"),
    "binary": ("negative", "positive"),
}
_NAMES = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "objective": "neutral",
    "objective-or-neutral": "neutral",
    "positive": "positive",
    "pos": "positive",
}
_SIGNED = {"-1": "negative", "0": "neutral", "1": "positive", "+1": "positive"}
_SENTIMENT140 = {"0": "negative", "2": "neutral", "4": "positive"}
ACCEPTED = "negative/neutral/positive, neg/neu/pos, -1/0/1 or 0/2/4"


@dataclass(frozen=True)
class LabelSet:
    """An ordered set of class names; a class id is a position in `names`.

    `LabelSet("3class").names == ("negative", "neutral", "positive")`.
    """

    mode: str
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DataError(f"unknown label mode {self.mode!r}; expected {' or '.join(MODES)}")
        object.__setattr__(self, "names", MODES[self.mode])

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def index(self, name: str) -> int:
        return self.names.index(name)

    def encode(self, labels: list[str | None]) -> list[int]:
        """Canonical names -> class ids (run `apply_labels` first)."""
        ids: dict[str | None, int] = {name: i for i, name in enumerate(self.names)}
        try:
            return [ids[label] for label in labels]  # None: a KeyError, reported below
        except KeyError as exc:
            raise DataError(
                f"label {exc.args[0]!r} is not one of {', '.join(self.names)}"
            ) from None

    def decode(self, ids: list[int]) -> list[str]:
        return [self.names[i] for i in ids]


def canonical_label(raw: str, scheme: dict[str, str] | None = None) -> str | None:
    """The canonical name of one raw label, or None if it is not recognised.

    `scheme` maps numbers (default: -1/0/1); see `numeric_scheme` for choosing it.
    """
    key = raw.strip().lower()
    if key in _NAMES:
        return _NAMES[key]
    return (scheme if scheme is not None else _SIGNED).get(key)


def known_label(raw: str) -> bool:
    """Whether `raw` is a label under some scheme (a name, or a number of either scheme)."""
    key = raw.strip().lower()
    return key in _NAMES or key in _SIGNED or key in _SENTIMENT140


def numeric_scheme(raw_labels: set[str]) -> dict[str, str] | None:
    """The numeric scheme for one file's distinct raw labels, or None if they hold no numbers.

    Raises DataError when the numbers are ambiguous (only 0 and/or 1, no -1).
    """
    numbers = {r.strip().lower() for r in raw_labels} - set(_NAMES)
    numbers &= set(_SIGNED) | set(_SENTIMENT140)
    if not numbers:
        return None
    if numbers & {"2", "4"}:
        return _SENTIMENT140
    if numbers <= {"0", "1"}:
        raise DataError(
            f"numeric labels {sorted(numbers)} are ambiguous (0/1 binary, or -1/0/1 "
            f"without negatives?); use names: negative, neutral, positive"
        )
    return _SIGNED


def apply_labels(examples: Examples, mode: str) -> tuple[Examples, int]:
    """Map raw labels to `mode`'s canonical names; binary drops neutral rows.

    Returns (examples with canonical labels, number of neutral rows dropped). Raises DataError
    for a row without a label, or for unknown labels (listing every label seen, with counts).
    """
    labelset = LabelSet(mode)
    mappings = _file_mappings(examples)
    labels: list[str | None] = [None] * len(examples)
    for i, (raw, f) in enumerate(zip(examples.labels, examples.file_ids, strict=True)):
        labels[i] = mappings[f].get(raw) if raw is not None else None  # None: raised above
    mapped = Examples(
        texts=list(examples.texts),
        labels=labels,
        paths=list(examples.paths),
        file_ids=array("i", examples.file_ids),
        lines=array("i", examples.lines),
    )
    if labelset.mode != "binary":
        return mapped, 0
    keep = [i for i, label in enumerate(labels) if label != "neutral"]
    dropped = len(labels) - len(keep)
    return (mapped.subset(keep) if dropped else mapped), dropped


def _file_mappings(examples: Examples) -> dict[int, dict[str, str]]:
    """raw -> canonical for each file id; DataError on a missing or unknown label."""
    seen: dict[int, dict[str | None, list[int]]] = {}
    for raw, f, line in zip(examples.labels, examples.file_ids, examples.lines, strict=True):
        tally = seen.setdefault(f, {}).setdefault(raw, [0, line])
        tally[0] += 1
    return {f: file_label_mapping(examples.paths[f], raws) for f, raws in seen.items()}


def file_label_mapping(path: str, raws: dict[str | None, list[int]]) -> dict[str, str]:
    """raw -> canonical for one file, from each raw label's [count, first line] in that file
    (so that a file read in chunks maps exactly as a file read whole). DataError naming the
    first row without a label, or the first with an unknown one (listing every label seen)."""
    if None in raws:
        raise DataError("row has no label (read with labels required)", path, raws[None][1])
    found = {raw: tally for raw, tally in raws.items() if raw is not None}  # all of them
    try:
        scheme = numeric_scheme(set(found))
    except DataError as exc:
        raise DataError(str(exc), path) from None
    mapping = {raw: canonical_label(raw, scheme) for raw in found}
    unknown = sorted(raw for raw, name in mapping.items() if name is None)
    if unknown:
        first = min(unknown, key=lambda raw: found[raw][1])
        counts = sorted(found.items(), key=lambda kv: (-kv[1][0], str(kv[0])))
        shown = ", ".join(f"{label!r} x{n:,}" for label, (n, _) in counts[:12])
        more = f" (+{len(counts) - 12} more)" if len(counts) > 12 else ""
        names = ", ".join(repr(u) for u in unknown[:5])
        raise DataError(
            f"unknown label(s) {names}; labels in this file: {shown}{more}; expected {ACCEPTED}",
            path,
            found[first][1],
        )
    return {raw: name for raw, name in mapping.items() if name is not None}  # every one
