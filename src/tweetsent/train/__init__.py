"""Training: the loop, metrics, checkpoints, figures. Nothing below this package imports it."""

from tweetsent.train.loop import RunResult, train
from tweetsent.metrics import compute_metrics, confusion_matrix

__all__ = ["RunResult", "compute_metrics", "confusion_matrix", "train"]
