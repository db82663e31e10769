"""Configuration as data: typed dataclasses that validate themselves.

Defaults live here. Experiments are small TOML files (`RunConfig.from_toml`); the CLI overrides
single fields with dotted names (`with_overrides({"model.hidden_size": 128})`). Every run
directory stores the resolved config as JSON (`RunConfig.to_dict`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from tweetsent.errors import ConfigError
from tweetsent.io import read_toml


def _check_choice(section: str, name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(
            f"{section}.{name}: {value!r} is not one of {', '.join(map(str, choices))}"
        )


def _check_range(section: str, name: str, value: float, lo: float, hi: float | None = None) -> None:
    if value < lo or (hi is not None and value > hi):
        bound = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ConfigError(f"{section}.{name}: {value!r} must be {bound}")


@dataclass(frozen=True)
class TextConfig:
    """Tweet normalizer settings; saved with every model and used identically when serving."""

    lowercase: bool = True
    urls: bool = True  # URL -> <url>
    users: bool = True  # @mention -> <user>
    hashtags: bool = True  # #word -> <hashtag> word
    elongations: bool = True  # soooo -> soo <elong>
    numbers: bool = True  # 42 -> <number>
    html_entities: bool = True  # &amp; -> &
    stopwords: str = "none"  # none | study (negation-safe) | study-strict (drops negations too)
    max_tokens: int = 64  # tokens kept per tweet (0 = all)

    def __post_init__(self) -> None:
        _check_choice("text", "stopwords", self.stopwords, ("none", "study", "study-strict"))
        _check_range("text", "max_tokens", self.max_tokens, 0)


@dataclass(frozen=True)
class DataConfig:
    """Where examples come from and how the validation split is made."""

    train: list[str] = field(default_factory=list)  # files, folders or globs
    valid: list[str] = field(default_factory=list)  # empty: hold out valid_fraction of train
    labels: str = "3class"  # 3class | binary (neutral rows dropped and counted)
    format: str = "auto"  # auto | semeval | tweeteval | sentiment140 | csv | tsv | jsonl | txt
    text_col: str = "text"
    label_col: str = "label"
    valid_fraction: float = 0.1
    split_seed: int = 13
    strict: bool = False  # fail on the first malformed row instead of counting it
    # Train on the validation files too (a recipe's refit, `ensemble.refit`): their scores are
    # then in-sample, so such a run needs train.keep = "last" (nothing is chosen by them).
    train_on_valid: bool = False
    min_freq: int = 2  # vocabulary: keep tokens seen at least this often
    max_vocab: int = 50000
    workers: int = 0  # processes for cleaning (0 = every CPU core)
    cache_dir: str = ""  # prepared-data cache ("" = $TWEETSENT_CACHE or ~/.cache/tweetsent)

    def __post_init__(self) -> None:
        _check_choice("data", "labels", self.labels, ("3class", "binary"))
        formats = ("auto", "semeval", "tweeteval", "sentiment140", "csv", "tsv", "jsonl", "txt")
        _check_choice("data", "format", self.format, formats)
        _check_range("data", "valid_fraction", self.valid_fraction, 0.0, 0.9)
        _check_range("data", "min_freq", self.min_freq, 1)
        _check_range("data", "max_vocab", self.max_vocab, 10)
        _check_range("data", "workers", self.workers, 0)


@dataclass(frozen=True)
class EmbedConfig:
    """The embedder: random or pretrained word vectors, or ELMo (alone or + word vectors).

    For kind = elmo, `path`, `dim`, `freeze` and `dropout` describe the word vectors of
    `elmo_concat` (if any); the ELMo part is the scalar mix of the biLM's `elmo_layers`.
    """

    kind: str = "glove-kumo"  # random | glove-kumo | vectors | elmo
    path: str = ""  # for kind = vectors: GloVe/word2vec text or word2vec binary file
    dim: int = 50  # for random; taken from the file for pretrained vectors
    freeze: bool = False
    dropout: float = 0.0  # dropout on the embeddings
    # Sentiment lexicons (`lexicons.load_lexicon` specs: vader, afinn, a file, FORMAT:file): each
    # adds [score, in-lexicon] columns to the word vectors, and feeds tweet-level features to
    # heads that read them (model.tweet_features, model.kind = ngram). Saved in the weights.
    lexicon: tuple[str, ...] = ()
    lexicon_vocab: bool = True  # the lexicons' words join the vocabulary
    clusters: str = ""  # Twitter word clusters file (bit-string TAB word TAB count): "" = none
    cluster_vocab: bool = False  # the clusters' words join the vocabulary (n-gram models)
    cluster_dim: int = 16  # columns of the cluster embedding beside the word vectors
    elmo_model: str = ""  # registry model (small | medium | original | original-5.5b), or:
    elmo_options: str = ""  # an options.json ...
    elmo_weights: str = ""  # ... and its HDF5 weights
    elmo_layers: str = "all"  # biLM layers to mix: all, or indices like "1,2" (0 = char CNN)
    elmo_dropout: float = 0.5  # dropout on the mixed ELMo vectors
    elmo_concat: str = "none"  # word vectors beside ELMo: none | random | glove-kumo | vectors
    elmo_cache: bool = True  # train from cached float16 features (False: rerun ELMo each batch)
    elmo_cache_dir: str = ""  # "" = data.cache_dir, else $TWEETSENT_CACHE or ~/.cache/tweetsent
    # What the biLM reads (text.align): the tweet's raw cased pieces cut at the classifier's
    # token boundaries (raw, what the official models saw), the same lowercased (lower), or
    # the classifier's cleaned tokens (cleaned: runs saved before this field existed).
    elmo_input: str = "raw"
    # kind = transformer: a pretrained encoder (BERT/RoBERTa family) from a Hugging Face model
    # folder, read offline (`embed.transformer`). Frozen under the rnn/cnn/feedforward heads
    # (its layers' per-token states cached like ELMo's, `elmo_cache` / `elmo_cache_dir`, and
    # mixed like ELMo's), fine-tuned with model.kind = "transformer". The encoder reads the
    # tweet's own text (mentions -> @user, URLs -> http) cut at the classifier's tokens.
    transformer: str = ""  # the model folder (config.json, tokenizer files, *.safetensors)
    transformer_layers: str = "all"  # hidden states to mix: all, or indices (0 = embeddings)
    transformer_dropout: float = 0.1  # dropout on the mixed vectors (frozen mode)
    transformer_proj: int = 0  # frozen mode: a learned projection of the mix to this size (0: none)
    transformer_emoji: str = "auto"  # words (emoji -> their names) | keep | auto (see below)
    transformer_max_pieces: int = 64  # word pieces per tweet read by the encoder (with CLS/SEP)

    def __post_init__(self) -> None:
        _check_choice("embed", "kind", self.kind, (*WORD_KINDS, "elmo", "transformer"))
        _check_range("embed", "dim", self.dim, 1)
        _check_range("embed", "dropout", self.dropout, 0.0, 0.95)
        _check_range("embed", "cluster_dim", self.cluster_dim, 1)
        _check_choice("embed", "elmo_input", self.elmo_input, ELMO_INPUTS)
        # a lexicon given as one string (configs before lists, `--lexicon vader`): a tuple
        specs = (self.lexicon,) if isinstance(self.lexicon, str) else tuple(self.lexicon)
        object.__setattr__(self, "lexicon", tuple(spec for spec in specs if spec))
        # a transformer: no clusters (below), lexicons for the head's tweet features (RunConfig)
        if (self.lexicon or self.clusters) and self.word_kind == "none" and self.kind == "elmo":
            what = "embed.lexicon" if self.lexicon else "embed.clusters"
            raise ConfigError(f"{what}: needs word vectors (with ELMo: embed.elmo_concat)")
        if self.word_kind == "vectors" and not self.path:
            raise ConfigError(f"embed.path: required when embed.{self._word_field} = 'vectors'")
        if self.kind == "elmo":
            self._check_elmo()
        if self.kind == "transformer":
            self._check_transformer()

    def _check_transformer(self) -> None:
        if not self.transformer:
            raise ConfigError(
                "embed.transformer: kind = 'transformer' needs the path of a Hugging Face "
                "model folder (--transformer PATH)"
            )
        if self.clusters:
            raise ConfigError("embed.clusters: not available with embed.kind = 'transformer'")
        _check_choice("embed", "transformer_emoji", self.transformer_emoji, TRANSFORMER_EMOJI)
        _check_range("embed", "transformer_dropout", self.transformer_dropout, 0.0, 0.95)
        _check_range("embed", "transformer_max_pieces", self.transformer_max_pieces, 8, 4096)
        _check_range("embed", "transformer_proj", self.transformer_proj, 0)
        self.layer_indices()

    def _check_elmo(self) -> None:
        _check_choice("embed", "elmo_concat", self.elmo_concat, ("none", *WORD_KINDS))
        _check_range("embed", "elmo_dropout", self.elmo_dropout, 0.0, 0.95)
        if self.elmo_model:
            _check_choice("embed", "elmo_model", self.elmo_model, ELMO_MODELS)
            if self.elmo_options or self.elmo_weights:
                raise ConfigError("embed.elmo_model: give a model name or options + weights")
        elif not (self.elmo_options and self.elmo_weights):
            raise ConfigError(
                "embed.elmo_model: kind = 'elmo' needs elmo_model, or elmo_options and elmo_weights"
            )
        self.elmo_layer_indices()

    @property
    def _word_field(self) -> str:
        return "elmo_concat" if self.kind == "elmo" else "kind"

    @property
    def word_kind(self) -> str:
        """The word vectors: random | glove-kumo | vectors, or none (ELMo or a transformer)."""
        if self.kind == "transformer":
            return "none"
        return self.elmo_concat if self.kind == "elmo" else self.kind

    def resolved_like(self, saved: EmbedConfig) -> EmbedConfig:
        """This config with what training resolves taken from a saved run's: the vectors'
        dimension and an "auto" emoji mode, so that the two compare by what was asked."""
        emoji = self.transformer_emoji
        if emoji == "auto":
            emoji = saved.transformer_emoji
        return dataclasses.replace(self, dim=saved.dim, transformer_emoji=emoji)

    @property
    def needs_words(self) -> bool:
        """Whether the embedder reads the tweet's text (ELMo, a transformer) besides the ids."""
        return self.kind in ("elmo", "transformer")

    @property
    def contextual_input(self) -> str:
        """What the contextual embedder reads, as the feature cache keys it: `elmo_input` for
        ELMo, "encoder-<emoji>" for a transformer, "" for word vectors."""
        if self.kind == "transformer":
            return f"encoder-{self.transformer_emoji}"
        return self.elmo_input if self.kind == "elmo" else ""

    def layer_indices(self) -> list[int] | None:
        """The contextual layers to mix (`elmo_layers` or `transformer_layers`), None for all."""
        name = "transformer_layers" if self.kind == "transformer" else "elmo_layers"
        value = getattr(self, name)
        if value.strip() == "all":
            return None
        try:
            layers = [int(part) for part in value.split(",")]
        except ValueError:
            layers = []
        if not layers or min(layers) < 0 or len(set(layers)) != len(layers):
            raise ConfigError(
                f"embed.{name}: {value!r} is not 'all' or distinct indices like '1,2'"
            )
        return layers

    def elmo_layer_indices(self) -> list[int] | None:
        """`elmo_layers` as a list of indices, None for all."""
        return self.layer_indices()


WORD_KINDS = ("random", "glove-kumo", "vectors")
ELMO_INPUTS = ("raw", "lower", "cleaned")  # embed.elmo_input (see text.align)
LEGACY_ELMO_INPUT = "cleaned"  # what a saved ELMo run without embed.elmo_input fed its biLM
ELMO_MODELS = ("small", "medium", "original", "original-5.5b")  # = embed.elmo.registry.MODELS
# embed.transformer_emoji: emoji as their Unicode names ("words"), as they are ("keep"), or
# "auto": words when the encoder's tokenizer lacks most common emoji (MiniLM, BERT), else keep
TRANSFORMER_EMOJI = ("auto", "words", "keep")


@dataclass(frozen=True)
class ModelConfig:
    """The classifier: an RNN encoder with pooling, the study's feed-forward baseline, or the
    sparse n-gram model (hashed word and character n-grams + lexicon features, fastText-style)."""

    kind: str = "rnn"  # rnn | cnn | feedforward | ngram | transformer (fine-tuned encoder)
    cell: str = "lstm"  # lstm | gru
    bidirectional: bool = True
    num_layers: int = 1
    hidden_size: int = 64
    pooling: str = "max"  # last | mean | max | attention
    layer_dropout: float = 0.0  # between stacked RNN layers
    output_dropout: float = 0.3  # before the output layer
    mlp_hidden: int = 64  # feed-forward baseline (and MLP heads)
    # Self-attention pooling (Lin et al. 2017), used when pooling = "attention"; the defaults are
    # the study's setting, ATTENTION_PRESETS holds the paper's and single-hop attention.
    attention_da: int = 10  # d_a, rows of W_s1
    attention_hops: int = 5  # r, rows of W_s2 (1 = single-hop attention)
    attention_penalty: float = 0.1  # coefficient of ||A A^T - I||_F^2 in the loss (0 = none)
    attention_mlp: int = 64  # hidden units of the MLP over the flattened M (0 = linear head)
    # The head also reads the tweet-level features of the embed.lexicon lexicons (NRC-Canada
    # counts, sums, max, last score per lexicon and negation context); ngram models always do.
    tweet_features: bool = False
    ngram_dim: int = 16  # n-gram model: columns of the feature embeddings
    ngram_buckets: int = 262144  # hash buckets of word bigrams and of character n-grams
    ngram_chars: bool = True  # character 2-5 grams of each word
    ngram_hidden: int = 0  # one ReLU hidden layer of this size (0 = linear)
    # kind = cnn (Kim 2014): cnn_filters feature maps per window width, in place of the RNN
    cnn_filters: int = 64
    cnn_widths: tuple[int, ...] = (1, 2, 3, 4)

    def __post_init__(self) -> None:
        kinds = ("rnn", "cnn", "feedforward", "ngram", "transformer")
        _check_choice("model", "kind", self.kind, kinds)
        _check_choice("model", "cell", self.cell, ("lstm", "gru"))
        _check_choice("model", "pooling", self.pooling, ("last", "mean", "max", "attention"))
        _check_range("model", "num_layers", self.num_layers, 1, 8)
        _check_range("model", "hidden_size", self.hidden_size, 1)
        _check_range("model", "layer_dropout", self.layer_dropout, 0.0, 0.95)
        _check_range("model", "output_dropout", self.output_dropout, 0.0, 0.95)
        _check_range("model", "mlp_hidden", self.mlp_hidden, 1)
        _check_range("model", "attention_da", self.attention_da, 1)
        _check_range("model", "attention_hops", self.attention_hops, 1)
        _check_range("model", "attention_penalty", self.attention_penalty, 0.0)
        _check_range("model", "attention_mlp", self.attention_mlp, 0)
        _check_range("model", "ngram_dim", self.ngram_dim, 1)
        _check_range("model", "ngram_buckets", self.ngram_buckets, 2)
        _check_range("model", "ngram_hidden", self.ngram_hidden, 0)
        _check_range("model", "cnn_filters", self.cnn_filters, 1)
        if isinstance(self.cnn_widths, list):
            object.__setattr__(self, "cnn_widths", tuple(self.cnn_widths))
        if (
            not isinstance(self.cnn_widths, tuple)
            or not self.cnn_widths
            or any(
                isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= 9
                for w in self.cnn_widths
            )
        ):
            raise ConfigError(
                f"model.cnn_widths: a list of window widths from 1 to 9, got {self.cnn_widths!r}"
            )


# Self-attention settings one flag away (`tweetsent train --attention-preset NAME`): the study's
# (d_a = 10, r = 5: the ModelConfig defaults), the paper's (Lin et al. 2017: d_a = 350, r = 30,
# penalty 1.0) and single-hop attention (r = 1, no penalty, as in DataStories, SemEval-2017).
ATTENTION_PRESETS: dict[str, dict[str, Any]] = {
    "study": {"attention_da": 10, "attention_hops": 5, "attention_penalty": 0.1},
    "paper": {"attention_da": 350, "attention_hops": 30, "attention_penalty": 1.0},
    "single": {"attention_da": 10, "attention_hops": 1, "attention_penalty": 0.0},
}


def attention_preset(name: str) -> dict[str, Any]:
    """The dotted overrides of a preset, pooling included: {"model.pooling": "attention", ...}."""
    if name not in ATTENTION_PRESETS:
        choices = ", ".join(ATTENTION_PRESETS)
        raise ConfigError(f"attention preset {name!r} is not one of {choices}")
    fields = {f"model.{key}": value for key, value in ATTENTION_PRESETS[name].items()}
    return {"model.pooling": "attention", **fields}


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation loop."""

    optimizer: str = "adam"  # adam | adamw
    lr: float = 2e-3
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 10
    clip_norm: float = 5.0  # 0 = no clipping
    class_weights: bool = True  # inverse-frequency weights for imbalance
    seed: int = 1
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    early_stopping: str = "avgrec"  # metric watched on validation ("" = off)
    patience: int = 3
    keep: str = "best"  # best: the epoch of the best validation score | last: the last epoch
    overfit_gap: float = 0.10  # flag when train - valid accuracy exceeds this
    threads: int = 0  # torch intra-op threads (0 = every CPU core)
    # Schedule and fine-tuning (model.kind = transformer): the learning rate rises linearly
    # over the first `warmup` fraction of the steps, then (schedule = linear) decays linearly
    # to 0 at the last step; `encoder_lr` (0 = lr) is the top encoder layer's rate, each layer
    # below it gets `layer_decay` times the rate of the one above (the embeddings last).
    schedule: str = "constant"  # constant | linear
    warmup: float = 0.0  # fraction of all optimizer steps
    encoder_lr: float = 0.0
    layer_decay: float = 1.0
    accumulate: int = 1  # batches whose gradients add up to one optimizer step
    bf16: bool = False  # bfloat16 autocast where the device has it (CUDA with bf16)
    progress: bool = True
    dry_run: bool = False  # a few batches of one epoch, to check that everything runs

    def __post_init__(self) -> None:
        _check_choice("train", "optimizer", self.optimizer, ("adam", "adamw"))
        _check_range("train", "lr", self.lr, 1e-8, 10.0)
        _check_range("train", "weight_decay", self.weight_decay, 0.0)
        _check_range("train", "batch_size", self.batch_size, 1)
        _check_range("train", "epochs", self.epochs, 1)
        _check_range("train", "clip_norm", self.clip_norm, 0.0)
        _check_range("train", "patience", self.patience, 1)
        _check_range("train", "threads", self.threads, 0)
        _check_choice("train", "schedule", self.schedule, ("constant", "linear"))
        _check_range("train", "warmup", self.warmup, 0.0, 0.5)
        _check_range("train", "encoder_lr", self.encoder_lr, 0.0, 10.0)
        _check_range("train", "layer_decay", self.layer_decay, 0.01, 1.0)
        _check_range("train", "accumulate", self.accumulate, 1, 1024)
        metrics = ("", "avgrec", "f1_pn", "accuracy", "f1", "loss")
        _check_choice("train", "early_stopping", self.early_stopping, metrics)
        _check_choice("train", "keep", self.keep, ("best", "last"))
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise ConfigError(f"train.device: {dev!r} is not auto, cpu, cuda or cuda:N")


@dataclass(frozen=True)
class EnsembleConfig:
    """An ensemble: members whose probabilities are averaged (`models.EnsembleClassifier`).

    In a recipe (a config file `tweetsent train` reads), `members` are the members' config
    files, relative to the recipe's folder; each is read over the recipe (the recipe's data,
    seed, threads and device apply, the member's own fields win otherwise) and trained as an
    ordinary run in `OUT/members/NAME`, NAME being the file's stem (a file listed k times:
    STEM, STEM-2, ..., STEM-k, the recipe's seed + 100 for each repeat, a seed ensemble). In a
    built ensemble run, `members` are the names of its folders under `members/`.
    """

    members: list[str] = field(default_factory=list)
    weights: str = "fit"  # uniform | fit (on the validation split, recorded in meta.json)
    # A recipe's refit: after the members are trained and the weights chosen on the validation
    # split (kept in OUT/heldout), the members named here (file stems) are trained again on
    # training + validation tweets for the epochs they kept; the ensemble mixes them (and the
    # other members as they were) with the same weights. In a built ensemble run: the members
    # that were retrained.
    refit: list[str] = field(default_factory=list)
    # A recipe's refit without its first stage: false trains the members named in `refit`
    # once, directly on training + validation tweets for their own epochs (keeping the last),
    # and never trains them without the validation split. Half the time, but the recipe has
    # no held-out validation score (its scores are in-sample) and nothing to fit weights on,
    # so it needs weights = "uniform" and settings chosen beforehand.
    heldout: bool = True

    def __post_init__(self) -> None:
        _check_choice("ensemble", "weights", self.weights, ("uniform", "fit"))
        if not self.heldout and not self.refit:
            raise ConfigError(
                "ensemble.heldout = false: needs ensemble.refit (the members trained on validation)"
            )
        if not self.heldout and self.weights == "fit":
            raise ConfigError(
                'ensemble.heldout = false: weights = "fit" would fit on tweets the refit '
                'members trained on; use weights = "uniform"'
            )
        if len(self.members) == 1:
            raise ConfigError("ensemble.members: an ensemble needs at least 2 members")


SECTIONS = {
    "data": DataConfig,
    "text": TextConfig,
    "embed": EmbedConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "ensemble": EnsembleConfig,
}


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; stored as `config.json` in the run directory."""

    data: DataConfig = field(default_factory=DataConfig)
    text: TextConfig = field(default_factory=TextConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    out: str = ""  # run directory

    def __post_init__(self) -> None:
        model, embed = self.model, self.embed
        if model.kind == "ngram" and embed.kind == "elmo":
            raise ConfigError(
                "model.kind = 'ngram' reads token ids only: embed.kind cannot be elmo"
            )
        if model.tweet_features and not embed.lexicon:
            raise ConfigError("model.tweet_features: needs lexicons (embed.lexicon)")
        if embed.kind == "transformer" and embed.lexicon and not model.tweet_features:
            raise ConfigError(
                "embed.lexicon: with embed.kind = 'transformer' the lexicons feed the head's "
                "tweet-level features only: set model.tweet_features = true"
            )
        if model.tweet_features and embed.kind == "elmo":
            raise ConfigError("model.tweet_features: not available with ELMo embeddings")
        if (model.kind == "transformer") != (embed.kind == "transformer") and (
            model.kind in ("transformer", "ngram")
        ):
            raise ConfigError(
                f"model.kind = {model.kind!r} needs embed.kind = 'transformer'"
                if model.kind == "transformer"
                else "model.kind = 'ngram' reads token ids only: embed.kind cannot be transformer"
            )
        if self.data.train_on_valid and (not self.data.valid or self.train.keep != "last"):
            raise ConfigError(
                "data.train_on_valid: needs validation files (data.valid) and train.keep = "
                "'last' (scores on tweets it trains on cannot choose an epoch)"
            )
        if model.kind == "transformer" and model.pooling not in ("mean", "max"):
            raise ConfigError(
                "model.pooling: a fine-tuned transformer pools its word pieces with mean or max"
            )

    @property
    def is_ensemble(self) -> bool:
        return bool(self.ensemble.members)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the tuple fields (`embed.lexicon`, `model.cnn_widths`) as lists."""
        return _lists(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> RunConfig:
        unknown = set(raw) - set(SECTIONS) - {"out"}
        if unknown:
            raise ConfigError(f"{source}: unknown section {sorted(unknown)[0]!r}")
        parts = {
            name: _section_from_dict(kind, raw.get(name, {}), name, source)
            for name, kind in SECTIONS.items()
        }
        return cls(**parts, out=str(raw.get("out", "")))

    @classmethod
    def from_saved(cls, raw: dict[str, Any], source: str = "config") -> RunConfig:
        """A run directory's config.json: like `from_dict`, except that an ELMo run saved
        before `embed.elmo_input` existed keeps the input it was trained on (cleaned tokens),
        so that it predicts as before; new configs default to raw text."""
        embed = raw.get("embed") if isinstance(raw, dict) else None
        if isinstance(embed, dict) and embed.get("kind") == "elmo" and "elmo_input" not in embed:
            raw = {**raw, "embed": {**embed, "elmo_input": LEGACY_ELMO_INPUT}}
        return cls.from_dict(raw, source)

    @classmethod
    def from_toml(cls, path: str | Path) -> RunConfig:
        """Read a config file; an ensemble recipe's member files are made relative to the
        working directory (they are written relative to the recipe's folder)."""
        raw = read_toml(path, "config file")
        section = raw.get("ensemble") if isinstance(raw, dict) else None
        members = section.get("members") if isinstance(section, dict) else None
        if isinstance(members, list):
            folder = Path(path).parent
            raw["ensemble"]["members"] = [
                str(folder / m) if isinstance(m, str) else m for m in members
            ]
        return cls.from_dict(raw, source=str(path))

    def with_overrides(self, overrides: dict[str, Any]) -> RunConfig:
        """Return a copy with dotted fields replaced, e.g. {"model.cell": "gru"}."""
        raw = self.to_dict()
        for key, value in overrides.items():
            if value is None:
                continue
            if key == "out":
                raw["out"] = str(value)
                continue
            section, _, name = key.partition(".")
            if section not in SECTIONS or not name:
                raise ConfigError(f"override {key!r}: expected section.field")
            raw[section][name] = value
        return RunConfig.from_dict(raw, source="overrides")


def _lists(value: Any) -> Any:
    """`value` with every tuple, nested ones too, turned into a list."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def _section_from_dict(kind: type, raw: Any, name: str, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    hints = get_type_hints(kind)
    known = {f.name for f in dataclasses.fields(kind)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{source}: unknown field {name}.{key}")
        values[key] = _coerce(hints[key], value, f"{name}.{key}")
    return kind(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Check a TOML/JSON value against the field's annotated type (ints widen to floats); a
    list goes into a `tuple[X, ...]` field as a tuple."""
    origin = getattr(hint, "__origin__", None)
    if origin in (list, tuple):
        item = hint.__args__[0]
        if item is str and isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, item) and not isinstance(v, bool) for v in value
        ):
            what = "strings" if item is str else "integers"
            raise ConfigError(f"{where}: expected a list of {what}, got {value!r}")
        return origin(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str) and (not isinstance(value, hint) or isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def changed_fields(config: RunConfig) -> dict[str, Any]:
    """The dotted fields (`section.key`) of `config` whose values differ from the defaults."""
    ours, default = config.to_dict(), RunConfig().to_dict()
    changed = {}
    for section, table in ours.items():
        if isinstance(table, dict):
            for key, value in table.items():
                if default[section].get(key) != value:
                    changed[f"{section}.{key}"] = value
    return changed
