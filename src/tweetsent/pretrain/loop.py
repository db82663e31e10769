"""Pretrain an ELMo biLM on your own corpus and save it in the official format.

    result = pretrain(PretrainConfig(corpus=("tweets.txt",), out="elmo-tweets", preset="cpu"))
    bilm = load_bilm(result.options_path, result.weights_path)    # like an official model

The loop (Peters et al. 2018; bilm-tf's training recipe, in PyTorch): streamed batches of
sentences (`pretrain.data`), the joint forward + backward LM loss (`pretrain.model`), global
gradient-norm clipping, Adam or Adagrad, a held-out perplexity report (forward, backward and
their geometric mean, exp((NLL_f + NLL_b) / 2)) every `eval_every` steps and every epoch,
checkpoints every `checkpoint_every` steps and every epoch (`pretrain.checkpoint`;
`resume=True` continues from the last one with the same batches and random numbers as an
uninterrupted run). The output folder holds `options.json`, `weights.hdf5` (official layout),
`vocab.txt`, `perplexity.csv` and `perplexity.png`; the softmax layer stays in the checkpoint
(the official files omit it too). The corpus is read once before step 1 and not at all to
resume (`pretrain.prepare`: `corpus.json`, `corpus_index.json`).

Under torchrun (`tweetsent.distributed`) every rank cuts the same global batches (each reads
its share of a window's blocks, `data.shared_reader`), trains on its contiguous rows of each,
with its summed NLL scaled so that DistributedDataParallel's average is the gradient of the
global batch's mean loss; the ranks draw the same sampled-softmax ids (one generator, the same
stream one process would draw from without dropout) and their own dropout masks (seeded from
(seed, rank, step)). Positions (step, epoch, batch in epoch) count global batches, so a
checkpoint resumes with any number of ranks. Rank 0 alone writes files and the progress bar.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tweetsent.distributed import (
    SINGLE,
    DistEnv,
    any_rank,
    derived_seed,
    gather_objects,
    rank_zero_first,
    setup,
    shard,
    sum_over_ranks,
    wrap,
)
from tweetsent.embed.elmo.chars import batch_to_ids
from tweetsent.embed.elmo.options import ElmoOptions
from tweetsent.errors import ConfigError, DataError
from tweetsent.pretrain.checkpoint import load_checkpoint, save_checkpoint
from tweetsent.pretrain.data import CorpusSpec, LmVocab, iter_batches, shared_reader
from tweetsent.pretrain.model import BiLmLanguageModel
from tweetsent.pretrain.prepare import prepare_corpus
from tweetsent.pretrain.report import write_outputs

SMALL_FILTERS = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024))
PRESETS = {
    # fits a laptop CPU: 2 x LSTM 512 with projection 64, 256 char filters
    "cpu": ElmoOptions(
        filters=((1, 32), (2, 32), (3, 64), (4, 128)),
        char_embed_dim=16,
        n_highway=1,
        lstm_dim=512,
        projection_dim=64,
    ),
    # the shape of the official "small" model (elmo_2x1024_128_2048cnn_1xhighway)
    "small": ElmoOptions(filters=SMALL_FILTERS, char_embed_dim=16, n_highway=1),
}
OPTIMIZERS = ("adam", "adagrad")
CHECKPOINT = "checkpoint"
# What a resume must keep: the batch order, and what made the saved vocabulary.
RESUME_FIELDS = ("seed", "batch_size", "chunk_lines", "mix_blocks", "max_vocab", "min_count")


@dataclass(frozen=True)
class PretrainConfig:
    """One pretraining run; `options` (an options.json path) overrides `preset`."""

    corpus: tuple[str, ...]
    out: str
    preset: str = "cpu"
    options: str | None = None
    column: int | None = None  # tab-separated field holding the text; None: whole line
    clean: bool = False  # tweetsent's normalizer (the classifier's tokens) instead of split()
    tokens: str = "split"  # split | cleaned | raw | lower (see pretrain.data.CorpusSpec)
    max_tokens: int = 64
    max_vocab: int = 50_000
    min_count: int = 1
    full_softmax_max: int = 8192  # larger vocabularies train with sampled softmax
    n_samples: int = 1024
    epochs: int = 1
    batch_size: int = 32
    chunk_lines: int = 4096  # sentences per block of the corpus index (the unit of shuffling)
    mix_blocks: int = 4  # blocks mixed per window: <= mix_blocks * chunk_lines in memory
    optimizer: str = "adam"
    lr: float = 1e-3
    clip_norm: float = 10.0
    dropout: float = 0.1
    heldout_every: int = 50
    heldout_max: int = 2000
    eval_every: int = 0  # steps; 0: once per epoch only
    checkpoint_every: int = 500  # steps; 0: once per epoch only
    max_steps: int = 0  # stop after this global step (0: no limit)
    max_minutes: float = 0.0  # stop after this long in this call (0: no limit)
    seed: int = 0
    device: str = "auto"  # auto (CUDA when available) | cpu | cuda[:N]; torchrun: cuda:LOCAL_RANK
    bf16: bool = False  # bfloat16 autocast of the training steps (a GPU option)
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "corpus", tuple(str(p) for p in self.corpus))
        if not self.corpus:
            raise ConfigError("pretrain.corpus: at least one file is needed")
        if self.options is None and self.preset not in PRESETS:
            raise ConfigError(f"pretrain.preset: {self.preset!r} is not one of {list(PRESETS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"pretrain.optimizer: {self.optimizer!r} is not adam or adagrad")
        positive = ("epochs", "batch_size", "chunk_lines", "mix_blocks", "max_vocab", "min_count")
        for name in (*positive, "n_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"pretrain.{name}: {getattr(self, name)} must be >= 1")
        if self.max_vocab < 4:
            raise ConfigError("pretrain.max_vocab: must be >= 4 (<S>, </S>, <UNK> + a word)")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"pretrain.dropout: {self.dropout} must be in [0, 1)")
        if self.lr <= 0 or self.clip_norm <= 0:
            raise ConfigError("pretrain.lr and pretrain.clip_norm must be > 0")
        self.corpus_spec()  # checks tokens / clean

    def elmo_options(self) -> ElmoOptions:
        return ElmoOptions.load(self.options) if self.options else PRESETS[self.preset]

    def corpus_spec(self) -> CorpusSpec:
        return CorpusSpec(
            self.corpus,
            self.column,
            self.clean,
            self.max_tokens,
            self.heldout_every,
            self.heldout_max,
            self.tokens,
        )


@dataclass
class PretrainResult:
    out: Path
    steps: int
    epochs_done: int
    seconds: float  # training time over all calls (resumed runs included)
    vocab_size: int
    sampled: bool
    history: list[dict[str, float]] = field(default_factory=list)
    device: str = "cpu"

    @property
    def options_path(self) -> Path:
        return self.out / "options.json"

    @property
    def weights_path(self) -> Path:
        return self.out / "weights.hdf5"


def batch_tensors(
    batch: list[list[str]], vocab: LmVocab, max_chars: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Char ids (B, T, C) of the words and target ids (B, T+2) of `<S> words </S>`."""
    char_ids = batch_to_ids(batch, max_chars)
    targets = torch.zeros(len(batch), char_ids.size(1) + 2, dtype=torch.long)
    for row, sentence in enumerate(batch):
        ids = vocab.ids(sentence)
        targets[row, : len(ids)] = torch.tensor(ids)
    return char_ids, targets


@torch.no_grad()
def heldout_perplexity(
    model: BiLmLanguageModel,
    vocab: LmVocab,
    sentences: list[list[str]],
    batch_size: int = 64,
    env: DistEnv = SINGLE,
) -> dict[str, float]:
    """Exact (full-softmax) perplexities: forward, backward and mean = exp((NLL_f + NLL_b) / 2).

    Under torchrun each rank scores every world_size-th batch and the sums are added up.
    """
    was_training = model.training
    device = model.softmax_weight.device
    model.eval()
    ordered = sorted(sentences, key=len)
    total_f = total_b = 0.0
    count = 0
    starts = range(0, len(ordered), batch_size)
    for start in starts[env.rank :: env.world_size]:
        char_ids, targets = batch_tensors(
            ordered[start : start + batch_size], vocab, model.bilm.options.max_chars
        )
        loss = model(char_ids.to(device), targets.to(device), full=True)
        total_f, total_b = total_f + float(loss.forward), total_b + float(loss.backward)
        count += loss.tokens
    model.train(was_training)
    if env.launched:
        total_f, total_b, count = sum_over_ranks([total_f, total_b, count], env, device).tolist()
    count = max(count, 1)
    return {
        "forward": math.exp(total_f / count),
        "backward": math.exp(total_b / count),
        "mean": math.exp((total_f + total_b) / (2 * count)),
    }


def _optimizer(config: PretrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adagrad":  # bilm-tf's choice (lr 0.2, accumulator 1.0)
        return torch.optim.Adagrad(model.parameters(), lr=config.lr, initial_accumulator_value=1.0)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


class _Trainer:
    """The mutable state of one call of `pretrain` (kept out of the model, nanoGPT-style)."""

    def __init__(self, config: PretrainConfig, out: Path, resume: bool) -> None:
        self.config, self.out = config, out
        self.options = config.elmo_options()
        self.env, self.device = setup(config.device)  # torchrun: the process group too
        spec, c = config.corpus_spec(), config
        with rank_zero_first(self.env):  # rank 0 writes the index, the others read it
            if self.env.is_main:
                out.mkdir(parents=True, exist_ok=True)
            again = resume or not self.env.is_main
            corpus = prepare_corpus(spec, c.chunk_lines, c.max_vocab, c.min_count, out, again)
        self.vocab, self.sentences, self.heldout = corpus.vocab, corpus.sentences, corpus.heldout
        self.blocks, self.corpus_identity = corpus.blocks, corpus.identity
        self.sampled = len(self.vocab) > config.full_softmax_max
        torch.manual_seed(config.seed)
        self.model = BiLmLanguageModel(
            self.options,
            len(self.vocab),
            config.dropout,
            config.n_samples if self.sampled else 0,
        ).to(self.device)
        self.optimizer = _optimizer(config, self.model)
        self.samples = self._sample_generator()
        self.state: dict[str, Any] = {"step": 0, "epoch": 0, "batch": 0, "seconds": 0.0}
        self.state["history"] = []
        if resume:
            self.state = load_checkpoint(out / CHECKPOINT, self.model, self.optimizer, self.samples)
            self._check_resume()
        self.state["device"] = str(self.device)
        self.state.pop("world_size", None)  # recorded by torchrun jobs only
        if self.env.launched:  # dropout: each rank its own stream, from (seed, rank, step)
            torch.manual_seed(derived_seed(config.seed, self.env.rank, self.state["step"]))
            self.state["world_size"] = self.env.world_size
        self.trained = wrap(self.model, self.env)  # DistributedDataParallel under torchrun
        self.started = time.monotonic()
        self.seconds_before = float(self.state["seconds"])

    def _sample_generator(self) -> torch.Generator | None:
        """Under torchrun: one generator of sampled-softmax ids, the same on every rank, that
        starts where one process's global generator is after building the model (which draws
        nothing else without dropout), so the ranks draw the ids one process would."""
        if not self.env.launched:
            return None
        samples = torch.Generator()
        samples.set_state(torch.get_rng_state())
        self.model.sample_generator = samples
        return samples

    def _check_resume(self) -> None:
        if self.state.get("options") != self.options.to_dict():
            raise ConfigError("pretrain: the checkpoint was made with other biLM options")
        if self.state.get("vocab_size") != len(self.vocab):
            raise ConfigError("pretrain: the checkpoint was made with another vocabulary")
        if self.state.get("corpus", self.corpus_identity) != self.corpus_identity:
            raise DataError(
                "the checkpoint was made with another corpus or corpus settings than "
                "corpus_index.json describes",
                self.out / CHECKPOINT,
            )
        for name, saved in self.state.get("order", {}).items():  # RESUME_FIELDS
            if saved != getattr(self.config, name):
                now = getattr(self.config, name)
                raise ConfigError(f"pretrain.{name}: {now} but the checkpoint used {saved}")

    def seconds(self) -> float:
        return self.seconds_before + time.monotonic() - self.started

    def evaluate(self) -> None:
        if not self.heldout or (
            self.state["history"] and self.state["history"][-1]["step"] == self.state["step"]
        ):
            return
        c = self.config
        ppl = heldout_perplexity(self.model, self.vocab, self.heldout, c.batch_size, self.env)
        steps_per_epoch = max(1, math.ceil(self.sentences / self.config.batch_size))
        epoch = self.state["epoch"] + self.state["batch"] / steps_per_epoch
        row = {"step": self.state["step"], "epoch": round(epoch, 4), **ppl}
        self.state["history"].append({**row, "seconds": round(self.seconds(), 2)})

    def checkpoint(self) -> None:
        self.state["seconds"] = self.seconds()
        if not self.env.is_main:
            return
        extra = {"options": self.options.to_dict(), "vocab_size": len(self.vocab)}
        extra["corpus"] = self.corpus_identity  # prepare.identity_digest
        extra["order"] = {k: getattr(self.config, k) for k in RESUME_FIELDS}
        state = {**self.state, **extra}
        save_checkpoint(self.out / CHECKPOINT, self.model, self.optimizer, state, self.samples)

    def step(self, batch: list[list[str]]) -> float:
        """One optimizer step on a global batch; returns its (this rank's share's) mean loss."""
        self.model.train()
        part, scale = self._share(batch)
        char_ids, targets = batch_tensors(part, self.vocab, self.options.max_chars)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16)
        with autocast if self.config.bf16 else contextlib.nullcontext():
            lm = self.trained(char_ids.to(self.device), targets.to(self.device))
        loss = lm.mean if scale is None else (lm.forward + lm.backward) * scale
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_norm)
        self.optimizer.step()
        self.state["step"] += 1
        return float(lm.mean.detach())

    def _share(self, batch: list[list[str]]) -> tuple[list[list[str]], float | None]:
        """This rank's rows of the global batch and the factor that turns their summed NLL into
        world_size x their part of the global mean: DistributedDataParallel averages the
        ranks' gradients, so the step is that of the global batch's mean loss. A rank left
        without rows (a batch smaller than the world) runs one row with factor 0."""
        if not self.env.launched:
            return batch, None
        rows = shard(len(batch), self.env)
        tokens = sum(len(sentence) + 1 for sentence in batch)  # predictions per direction
        scale = self.env.world_size / (2 * tokens) if len(rows) else 0.0
        return batch[rows.start : rows.stop] or batch[:1], scale

    def should_stop(self) -> bool:
        c = self.config
        if c.max_steps and self.state["step"] >= c.max_steps:
            return True
        late = bool(c.max_minutes and time.monotonic() - self.started >= 60.0 * c.max_minutes)
        return any_rank(late, self.env, self.device) if c.max_minutes else False  # ranks agree


StepCallback = Callable[[int, float], None]


def pretrain(
    config: PretrainConfig, *, resume: bool = False, callback: StepCallback | None = None
) -> PretrainResult:
    """Train the biLM as a language model on `config.corpus` and write the official files.

    `callback(step, loss)` runs after every optimizer step (tests use it to simulate a kill).
    """
    out = Path(config.out)
    if resume and not (out / CHECKPOINT / "state.json").is_file():
        raise DataError("--resume: no checkpoint to continue from (checkpoint/state.json)", out)
    run = _Trainer(config, out, resume)  # under torchrun: only rank 0 writes into `out`
    if not run.state["history"]:
        run.evaluate()  # the untrained model's perplexity: the curve's first point
    bar = _progress(config, run)
    stopped = run.should_stop()
    while not stopped and run.state["epoch"] < config.epochs:
        stopped = _epoch(run, bar, callback)
        if not stopped:
            run.state["epoch"] += 1
            run.state["batch"] = 0
            run.evaluate()
            run.checkpoint()
    if bar is not None:
        bar.close()
    run.evaluate()
    run.checkpoint()
    if run.env.is_main:
        write_outputs(run.model, run.options, out, run.state["history"])
    return PretrainResult(
        out=out,
        steps=run.state["step"],
        epochs_done=run.state["epoch"],
        seconds=run.seconds(),
        vocab_size=len(run.vocab),
        sampled=run.sampled,
        history=list(run.state["history"]),
        device=str(run.device),
    )


def _epoch(run: _Trainer, bar: Any, callback: StepCallback | None) -> bool:
    """Train the rest of the current epoch; True when a step or time limit stopped it."""
    c, state = run.config, run.state
    skip = state["batch"]  # batches of this epoch already trained (resume)
    spec, epoch, env = c.corpus_spec(), state["epoch"], run.env
    reader = None  # one process reads every block; torchrun ranks each read their share
    if env.launched:
        reader = shared_reader(spec, env.rank, env.world_size, lambda o: gather_objects(o, env))
    batches = iter_batches(
        spec, c.batch_size, c.chunk_lines, c.seed, epoch, c.mix_blocks, run.blocks, reader
    )
    smooth = None
    for index, batch in enumerate(batches):
        if index < skip:
            continue
        loss = run.step(batch)
        state["batch"] = index + 1
        smooth = loss if smooth is None else 0.98 * smooth + 0.02 * loss
        if bar is not None:
            bar.update(1)
            bar.set_postfix(epoch=state["epoch"] + 1, ppl=f"{math.exp(min(smooth, 50.0)):.1f}")
        if callback is not None:
            callback(state["step"], loss)
        if c.eval_every and state["step"] % c.eval_every == 0:
            run.evaluate()
        if c.checkpoint_every and state["step"] % c.checkpoint_every == 0:
            run.checkpoint()
        if run.should_stop():
            return True
    return False


def _progress(config: PretrainConfig, run: _Trainer) -> Any:
    if not config.progress or not run.env.is_main:
        return None
    from tqdm import tqdm

    per_epoch = math.ceil(run.sentences / config.batch_size)
    label = "sampled-softmax ppl" if run.sampled else "ppl"
    return tqdm(
        total=per_epoch * config.epochs,
        initial=run.state["step"],
        desc=f"biLM pretrain ({label})",
        unit="batch",
        dynamic_ncols=True,
    )
