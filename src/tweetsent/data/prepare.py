"""Data preparation for training: read, label, split, clean, tokenize, build the vocabulary.

A separate, repeatable step: the slow part (cleaning and tokenizing) is cached on disk keyed by
the texts and the normalizer settings (`tweetsent.text.tokenize_corpus`), so a second run with
the same data and settings reads the tokens back instead of recomputing them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tweetsent.config import RunConfig
from tweetsent.data.encoded import EncodedSet
from tweetsent.data.labels import LabelSet, apply_labels
from tweetsent.data.readers import Examples, read_examples
from tweetsent.data.split import stratified_split
from tweetsent.errors import DataError
from tweetsent.text import Vocabulary
from tweetsent.text.normalize import normalizer_for


@dataclass
class Prepared:
    labels: list[str]
    vocab: Vocabulary
    train: EncodedSet
    valid: EncodedSet
    valid_texts: list[str]
    token_counts: Counter
    report: dict[str, Any] = field(default_factory=dict)


def load_labelled(
    paths: Sequence[str], config: RunConfig, what: str
) -> tuple[Examples, dict[str, Any]]:
    """Read labelled examples and map them onto the configured label set."""
    data = config.data
    examples, read_report = read_examples(
        paths,
        format=data.format,
        text_col=data.text_col,
        label_col=data.label_col,
        strict=data.strict,
    )
    examples, dropped = apply_labels(examples, data.labels)
    if not examples.texts:
        raise DataError(f"no usable {what} examples in {', '.join(map(str, paths))}")
    report = {
        "rows": read_report.rows,
        "skipped": read_report.skipped,
        "skipped_examples": [list(map(str, s)) for s in read_report.skipped_rows[:20]],
        "dropped_neutral": dropped,
        "examples": len(examples.texts),
    }
    return examples, report


def encode(
    token_lists: Sequence[Sequence[str]],
    labels: Sequence[str | None],
    vocab: Vocabulary,
    label_names: Sequence[str],
) -> EncodedSet:
    index = {name: i for i, name in enumerate(label_names)}
    label_ids = [index.get(label, -1) if label is not None else -1 for label in labels]
    return EncodedSet.from_ids([vocab.encode(tokens) for tokens in token_lists], label_ids)


def prepare(
    config: RunConfig,
    progress: bool = True,
    vocab: Vocabulary | None = None,
    extra_words: Iterable[str] = (),
) -> Prepared:
    """Everything training needs from the raw files, described in `config.data` / `config.text`.

    `vocab` reuses an existing vocabulary (resuming a run) instead of building one;
    `extra_words` join a new vocabulary whatever their training counts (a lexicon's words).
    """
    from tweetsent.text.corpus import tokenize_corpus  # worker processes, cache: not at import

    data = config.data
    if not data.train:
        raise DataError("no training data given (data.train / --data)")
    train_files, excluded = training_files(data.train, data.valid)
    train_ex, train_report = load_labelled(train_files, config, "training")
    if excluded:
        train_report["excluded_files"] = excluded
    label_names = LabelSet(data.labels).names
    if data.valid:
        valid_ex, valid_report = load_labelled(data.valid, config, "validation")
        train_texts, train_labels = train_ex.texts, train_ex.labels
        valid_texts, valid_labels = valid_ex.texts, valid_ex.labels
        if data.train_on_valid:  # a refit: the validation tweets are trained on as well
            train_texts, train_labels = [*train_texts, *valid_texts], [*train_labels, *valid_labels]
            train_report["with_validation"] = len(valid_texts)
    else:
        train_idx, valid_idx = stratified_split(
            train_ex.labels, data.valid_fraction, data.split_seed
        )
        valid_report = {"held_out_of_train": len(valid_idx), "split_seed": data.split_seed}
        train_texts = [train_ex.texts[i] for i in train_idx]
        train_labels = [train_ex.labels[i] for i in train_idx]
        valid_texts = [train_ex.texts[i] for i in valid_idx]
        valid_labels = [train_ex.labels[i] for i in valid_idx]
    if not valid_texts:
        _empty_validation(data, len(train_ex.texts))
    cache = data.cache_dir or None
    tokenize = partial(
        tokenize_corpus,
        config=config.text,
        workers=data.workers,
        progress=progress,
        cache_dir=cache,
    )
    train_tokens = tokenize(train_texts)
    valid_tokens = tokenize(valid_texts)
    if vocab is None:
        vocab = Vocabulary.build(
            train_tokens, min_freq=data.min_freq, max_size=data.max_vocab, extra=extra_words
        )
    counts = Counter(token for tokens in train_tokens for token in tokens)
    train_set = encode(train_tokens, train_labels, vocab, label_names)
    valid_set = encode(valid_tokens, valid_labels, vocab, label_names)
    if config.embed.needs_words:  # ELMo or a transformer reads the tweets' text
        train_set.words = elmo_words(train_texts, train_tokens, config)
        valid_set.words = elmo_words(valid_texts, valid_tokens, config)
    return Prepared(
        labels=list(label_names),
        vocab=vocab,
        train=train_set,
        valid=valid_set,
        valid_texts=list(valid_texts),
        token_counts=counts,
        report={
            "train": train_report,
            "valid": valid_report,
            "class_counts": _class_counts(train_labels, label_names),
        },
    )


def training_files(train: Sequence[str], valid: Sequence[str]) -> tuple[list[str], list[str]]:
    """The files `data.train` names, less (1) any file also named by `data.valid` (validation
    tweets are never trained on) and (2) the test files of a registered dataset whose release
    folder was given whole (`--data ../shared/data/semeval2017-task4a` trains on its `train`
    split, never on twitter-2016test-A). Returns the files and the reasons for each left out."""
    from tweetsent.data.formats import resolve_paths
    from tweetsent.data.registry import DATASETS

    held = {p.resolve() for p in resolve_paths(valid)} if valid else set()
    files: list[str] = []
    excluded: list[str] = []
    for raw in train:
        found = resolve_paths([raw])
        tests: set[str] = set()
        if Path(raw).expanduser().is_dir():
            names = {p.name for p in found}
            for dataset in DATASETS.values():
                if set(dataset.splits.get("train", ())) <= names:
                    tests |= set(dataset.splits.get("test", ())) & names
        for path in found:
            if path.resolve() in held:
                excluded.append(f"{path} (a validation file)")
            elif path.name in tests:
                excluded.append(f"{path} (the dataset's test split)")
            else:
                files.append(str(path))
    if not files:
        raise DataError("every training file is also a validation or test file", train[0])
    return list(dict.fromkeys(files)), excluded


def elmo_words(
    texts: Sequence[str], token_lists: Sequence[Sequence[str]], config: RunConfig
) -> list:
    """What the contextual embedder reads for each tweet, aligned with its tokens: under
    `embed.elmo_input` the tokens themselves (cleaned) or an `ElmoInput` per tweet
    (`Normalizer.aligned`); a transformer's pieces (`Normalizer.contextual`)."""
    embed = config.embed
    if embed.kind == "elmo" and embed.elmo_input == "cleaned":
        return [list(tokens) for tokens in token_lists]
    normalizer = normalizer_for(config.text)
    words = []
    for text, tokens in zip(texts, token_lists, strict=True):
        ours, elmo = normalizer.contextual(text, embed)
        if ours != list(tokens):  # the token cache was made by another normalizer version
            raise DataError(f"contextual input does not align with the tokens of {text!r}")
        words.append(elmo)
    return words


def _empty_validation(data, train_rows: int) -> None:
    if data.valid:
        what = f"{', '.join(map(str, data.valid))} has no usable rows"
    else:
        what = (
            f"--valid-fraction {data.valid_fraction} of {train_rows} training rows holds out none"
        )
    raise DataError(
        f"the validation split is empty ({what}): give --valid FILE, a --valid-fraction above 0, "
        "or a training file with at least two rows of a class"
    )


def _class_counts(labels: Sequence[str | None], names: Sequence[str]) -> dict[str, int]:
    seen = Counter(labels)
    return {name: seen.get(name, 0) for name in names}
