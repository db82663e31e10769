"""tweetsent: sentiment analysis of tweets with recurrent networks.

>>> import tweetsent
>>> result = tweetsent.train(tweetsent.RunConfig(...))
>>> tweetsent.Predictor.from_run(result.run_dir).predict(["what a day :)"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tweetsent.config import RunConfig
from tweetsent.version import __version__

__all__ = ["RunConfig", "Predictor", "train", "__version__"]

if TYPE_CHECKING:
    from tweetsent.runs import Predictor
    from tweetsent.train import train


def __getattr__(name: str) -> Any:
    # Lazy, so that `import tweetsent` stays cheap and prediction never imports training code.
    if name == "Predictor":
        from tweetsent.runs import Predictor

        return Predictor
    if name == "train":
        from tweetsent.train import train

        return train
    raise AttributeError(name)
