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
        from tweetsent.data import examples as module
    elif name in ("MODES", "LabelSet", "apply_labels", "canonical_label"):
        from tweetsent.data import labels as module
    elif name in ("TextRows", "read_examples", "read_texts"):
        from tweetsent.data import readers as module
    elif name in ("DATASETS", "data_home", "dataset_files", "fetch", "import_local", "info"):
        from tweetsent.data import registry as module
    elif name == "stratified_split":
        from tweetsent.data import split as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)
