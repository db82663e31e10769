"""Data-parallel training under `torchrun`: who this process is, its device, and the few
collectives the training loops need (shared by `train/` and `pretrain/`).

    env, device = setup("auto")          # not under torchrun: (SINGLE, resolve_device("auto"))
    rows = shard(len(batch), env)        # this rank's contiguous share of a global batch
    model = wrap(model)                  # DistributedDataParallel: gradients averaged
    with rank_zero_first(env): ...       # rank 0 writes a cache, the others then read it

A process is a rank of a data-parallel job when torchrun's variables `RANK`, `WORLD_SIZE` and
`LOCAL_RANK` are all set; otherwise everything here is a no-op and the loops run exactly as a
single process. Under torchrun the process group is the standard one (`init_process_group`
from the environment): NCCL when the device is CUDA, gloo on the CPU. Each rank of a node uses
`cuda:LOCAL_RANK`.

Every rank computes the same global batch (the batch order is a pure function of data, seed and
epoch) and trains on its contiguous share of it (`shard`): concatenated in rank order the shares
are the global batch, so a job of W ranks takes the steps of one process with that global batch.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import torch

from tweetsent.device import resolve_device
from tweetsent.errors import ConfigError

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
TIMEOUT = timedelta(hours=1)  # a rank waits this long at a collective (rank 0 writing files)


@dataclass(frozen=True)
class DistEnv:
    """This process's place in a torchrun job (`launched` False: a plain single process)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    launched: bool = False

    @property
    def local_world_size(self) -> int:
        """Ranks on this machine (torchrun's LOCAL_WORLD_SIZE; 1 in one process)."""
        return int(os.environ.get("LOCAL_WORLD_SIZE", 1)) if self.launched else 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files, logs and progress bars."""
        return self.rank == 0


SINGLE = DistEnv()


def launch_env(environ: Mapping[str, str] | None = None) -> DistEnv:
    """The torchrun variables of `environ` (default: this process's), or SINGLE."""
    if environ is None:
        environ = os.environ
    if not all(name in environ for name in ENV_VARS):
        return SINGLE
    try:
        rank, world, local = (int(environ[name]) for name in ENV_VARS)
    except ValueError:
        values = ", ".join(f"{n}={environ[n]!r}" for n in ENV_VARS)
        raise ConfigError(f"torchrun variables are not integers ({values})") from None
    if not (0 <= rank < world and local >= 0):
        raise ConfigError(f"torchrun variables out of range (RANK={rank}, WORLD_SIZE={world})")
    return DistEnv(rank, world, local, launched=True)


def rank_device(name: str, env: DistEnv) -> torch.device:
    """The device of a rank: `cpu`, or `cuda:LOCAL_RANK` for `cuda` / `auto` with CUDA present.

    Checked before the process group starts: `cuda` without CUDA, a `cuda:N` under torchrun, or
    fewer GPUs than processes on this node are one-line errors.
    """
    if not env.launched:
        return resolve_device(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if not name.startswith("cuda"):
        return resolve_device(name)
    if not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: CUDA is not available on this machine")
    if name != "cuda":
        raise ConfigError(
            f"device {name!r}: under torchrun every rank uses cuda:LOCAL_RANK; give --device cuda"
        )
    per_node = max(env.local_world_size, env.local_rank + 1)
    if torch.cuda.device_count() < per_node:
        raise ConfigError(
            f"device 'cuda': {per_node} processes on this machine (torchrun --nproc-per-node) "
            f"but only {torch.cuda.device_count()} CUDA device(s)"
        )
    return torch.device("cuda", env.local_rank)


def setup(device: str) -> tuple[DistEnv, torch.device]:
    """This process's `DistEnv` and device; under torchrun, also the process group (once)."""
    env = launch_env()
    chosen = rank_device(device, env)
    if env.launched and not torch.distributed.is_initialized():
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)
        backend = "nccl" if chosen.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend, timeout=TIMEOUT)
        atexit.register(_destroy)
    return env, chosen


def _destroy() -> None:
    """At exit: wait until every rank is done, then tear the group down. Without the barrier a
    rank that finished first (rank 0 still writing its files) could close its gloo pairs under
    the others, which abort ("terminate called without an active exception", ~1 run in 12)."""
    if torch.distributed.is_initialized():
        with contextlib.suppress(Exception):  # a peer already gone: nothing left to wait for
            torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def shard(rows: int, env: DistEnv) -> range:
    """This rank's contiguous share of `rows` (shares differ by at most one row; empty when
    rows < world size). In rank order the shares cover 0..rows-1 once."""
    return range(rows * env.rank // env.world_size, rows * (env.rank + 1) // env.world_size)


def wrap(model: torch.nn.Module, env: DistEnv) -> torch.nn.Module:
    """`model` in DistributedDataParallel under torchrun (inputs are not moved: the models
    keep their lengths on the CPU), else `model` itself."""
    if not env.launched:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=None)


def barrier(env: DistEnv) -> None:
    if env.launched:
        torch.distributed.barrier()


@contextlib.contextmanager
def rank_zero_first(env: DistEnv) -> Iterator[None]:
    """Rank 0 runs the block first (writing caches, index files), the other ranks after it."""
    if env.launched and not env.is_main:
        torch.distributed.barrier()
    yield
    if env.launched and env.is_main:
        torch.distributed.barrier()


def sum_over_ranks(
    values: Sequence[float] | np.ndarray, env: DistEnv, device: torch.device
) -> np.ndarray:
    """Element-wise sum of every rank's `values` (float64), the same on every rank."""
    array = np.asarray(values, dtype=np.float64)
    if not env.launched:
        return array
    tensor = torch.from_numpy(array.copy()).to(device)
    torch.distributed.all_reduce(tensor)
    return tensor.cpu().numpy().reshape(array.shape)


def gather_objects(obj: Any, env: DistEnv) -> list[Any]:
    """Every rank's `obj`, in rank order (pickled over the process group, never from disk)."""
    if not env.launched:
        return [obj]
    out: list[Any] = [None] * env.world_size
    torch.distributed.all_gather_object(out, obj)
    return out


def from_rank_zero(obj: Any, env: DistEnv) -> Any:
    """Rank 0's `obj` on every rank (for decisions all ranks must take alike)."""
    if not env.launched:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(flag: bool, env: DistEnv, device: torch.device) -> bool:
    """True on every rank when `flag` is true on at least one (e.g. a time limit reached)."""
    if not env.launched:
        return flag
    return bool(sum_over_ranks([float(flag)], env, device)[0] > 0)


def derived_seed(*parts: int) -> int:
    """A 63-bit seed that is a pure function of `parts` (e.g. seed, rank, step)."""
    state = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
