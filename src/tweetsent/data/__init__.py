"""Reading tweet datasets: formats, label sets, splits and the dataset registry."""

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
