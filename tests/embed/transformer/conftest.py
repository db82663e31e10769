"""A tiny random BERT folder written by the tests (tests/tiny_bert.py)."""

from tiny_bert import tiny_bert

__all__ = ["tiny_bert"]
