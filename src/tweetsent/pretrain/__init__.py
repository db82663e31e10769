"""ELMo pretraining: train a biLM on your own corpus and save it in the official format.

    result = pretrain(PretrainConfig(corpus=("tweets.txt",), out="elmo-tweets", preset="cpu"))
    bilm = load_bilm(result.options_path, result.weights_path)    # like an official model

A training system of its own beside the embedder (`embed/elmo/` holds the network, its files and
the feature cache; this package only trains it): `data` (streamed sentence batches, the
vocabulary), `prepare` (one pass over the corpus: vocabulary, held-out set, block index),
`model` (the joint forward + backward LM loss over `ElmoBiLm`'s public steps), `checkpoint`
(resumable checkpoints, on the shared `tweetsent.checkpoint`), `loop` (`pretrain`).
"""

from tweetsent.pretrain.loop import PRESETS, PretrainConfig, PretrainResult, pretrain

__all__ = ["PRESETS", "PretrainConfig", "PretrainResult", "pretrain"]
