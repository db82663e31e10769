"""Reading tweet datasets: formats, label sets, splits and the dataset registry.

The names below are imported when first used: prediction reads files through
`data.readers` and never needs the registry's download machinery (urllib, http.client, ssl).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tweetsent.data.examples import Examples, ReadReport, label_counts
    from tweetsent.data.labels import MODES, LabelSet, apply_labels, canonical_label
    from tweetsent.data.readers import TextRows, read_examples, read_texts
    from tweetsent.data.registry import (
        DATASETS,
        data_home,
        dataset_files,
        fetch,
        import_local,
        info,
    )
    from tweetsent.data.split import stratified_split

__all__ = [
    "DATASETS",
    "MODES",
    "Examples",
    "LabelSet",
    "ReadReport",
    "TextRows",
    "apply_labels",
    "canonical_label",
    "data_home",
    "dataset_files",
    "fetch",
    "import_local",
    "info",
    "label_counts",
    "read_examples",
    "read_texts",
    "stratified_split",
]


def __getattr__(name: str) -> Any:
    if name in ("Examples", "ReadReport", "label_counts"):
        from tweetsent.data import examples

        return getattr(examples, name)
    if name in ("MODES", "LabelSet", "apply_labels", "canonical_label"):
        from tweetsent.data import labels

        return getattr(labels, name)
    if name in ("TextRows", "read_examples", "read_texts"):
        from tweetsent.data import readers

        return getattr(readers, name)
    if name in ("DATASETS", "data_home", "dataset_files", "fetch", "import_local", "info"):
        from tweetsent.data import registry

        return getattr(registry, name)
    if name == "stratified_split":
        from tweetsent.data import split

        return getattr(split, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
