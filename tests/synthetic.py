"""Synthetic tweets with a learnable label, shared by the fixtures (tests/ is on pythonpath)."""

from __future__ import annotations

import random

POSITIVE = ["love", "great", "happy", "awesome", "best", "good", "amazing", ":)"]
NEGATIVE = ["hate", "awful", "sad", "worst", "bad", "terrible", "angry", ":("]
NEUTRAL = ["meeting", "tuesday", "report", "bus", "update", "schedule", "office", "weather"]
FILLER = ["the", "today", "this", "my", "phone", "game", "movie", "team", "at", "@friend"]


def synthetic_tweets(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(label, text) pairs whose label is learnable from sentiment words among filler."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = ("positive", "negative", "neutral")[i % 3]
        cue = {"positive": POSITIVE, "negative": NEGATIVE, "neutral": NEUTRAL}[label]
        words = rng.sample(FILLER, rng.randint(2, 6)) + rng.sample(cue, rng.randint(1, 2))
        rng.shuffle(words)
        rows.append((label, " ".join(words)))
    return rows
