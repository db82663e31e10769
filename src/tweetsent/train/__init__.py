"""Training: the loop, metrics, checkpoints, figures. Nothing below this package imports it."""

from tweetsent.metrics import compute_metrics, confusion_matrix
from tweetsent.train.loop import RunResult, train

__all__ = ["RunResult", "compute_metrics", "confusion_matrix", "train"]
