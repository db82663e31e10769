"""The one place that reads a run for prediction and decides what scores it.

    run, scorer = open_scorer("runs/default", backend="auto", background=True)

`open_scorer` reads the run directory once (`runs.rundir.read_run`: config.json, vocab.json,
meta.json) and picks one backend, once, returning a `runs.inference.Scorer`:

- "torch" (`runs.torch_scorer.TorchScorer`): the run's model in this process; every model kind
  (RNN, CNN, n-gram, feed-forward, transformer, ELMo, ensembles) and the only backend with
  attention weights.
- "onnx" (`runs.onnxrt.OnnxScorer`): ONNX Runtime, no torch, on the CPU, for the RNN models it
  can express (`onnxrt.supports`); any other run is a one-line error naming why.
- "auto": onnx where it can score the run, else torch.

With `background`, the chosen backend runs in a helper process (`runs.helper.HelperScorer`)
where that pays (`HelperScorer.usable`: CPU, torch not imported yet, fork available), started
at once: it loads the weights while the caller reads and cleans the input. With `attention`
(predictions with attention weights) the torch model scores in this process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.parallel import usable_cpus
from tweetsent.runs.inference import Scorer
from tweetsent.runs.rundir import LoadedRun, read_run

if TYPE_CHECKING:
    from tweetsent.runs.torch_scorer import TorchScorer  # imports torch: only when it scores

BACKENDS = ("torch", "onnx", "auto")


def open_scorer(
    path: str | Path | LoadedRun,
    device: str = "cpu",
    backend: str = "torch",
    batch_size: int = 512,
    workers: int = 0,
    background: bool = False,
    attention: bool = False,
) -> tuple[LoadedRun, Scorer]:
    """The run at `path` (or the run already read: a `LoadedRun`), read once, and the scorer
    of the one backend chosen for it (module doc). `workers`: threads of the onnx and helper
    backends, forked processes of the torch one for large inputs (0: every usable core). The
    helper and onnx backends return at once and load the weights in the background: a run
    whose weights cannot be loaded fails the first scores with the load's one-line error."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    run = path if isinstance(path, LoadedRun) else read_run(path)
    kind = "torch" if attention else _backend(run, device, backend)
    threads = workers or usable_cpus()
    if background and not attention:
        from tweetsent.runs.helper import HelperScorer

        if HelperScorer.usable(device):
            return run, HelperScorer.start(run, device, batch_size, threads, kind)
    if kind == "onnx":
        from tweetsent.runs.onnxrt import OnnxScorer

        return run, OnnxScorer(run, threads, batch_size)
    return run, torch_scorer(run, device, batch_size, workers)


def torch_scorer(
    run: LoadedRun, device: str, batch_size: int = 512, workers: int = 0
) -> TorchScorer:
    """The torch backend of a read run: its model loaded here (on `device`)."""
    from tweetsent.device import resolve_device
    from tweetsent.runs.rundir import load_model
    from tweetsent.runs.torch_scorer import TorchScorer

    dev = resolve_device(device)
    return TorchScorer(load_model(run, dev), dev, batch_size, workers)


def _backend(run: LoadedRun, device: str, backend: str) -> str:
    """The backend, "onnx" or "torch", of `backend` ("auto": onnx where it can); `--backend
    onnx` on a run it cannot score is a one-line error saying why."""
    if backend == "torch":
        return "torch"
    from tweetsent.runs import onnxrt

    if device == "cpu" and onnxrt.scorable(run):
        return "onnx"
    if backend == "onnx":
        raise TweetsentError(f"{run.path}: {onnxrt.onnx_refusal(run.config, device)}")
    return "torch"
