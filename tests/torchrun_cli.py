"""`tweetsent ARGS` as one rank of a torchrun job, for the data-parallel tests:

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/torchrun_cli.py \
        --guard DIR -- train --data ... --out DIR/run

With `--guard DIR` every rank but 0 fails (exit 3, the path on stderr) the moment it creates,
opens for writing, renames or removes anything under DIR. Python's audit hooks see each of
those calls, and tweetsent's files (safetensors, HDF5, PNG included) are all written through
`tweetsent.io`'s temporary files and renames, so "rank 0 alone writes" is observed, not assumed.
`run_torchrun` starts such a job from a test, with a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
WRITE_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.truncate", "os.chmod"}
WRITE_EVENTS |= {"shutil.rmtree", "os.link", "os.symlink"}


def guard_writes(folder: Path) -> None:
    root = str(folder.resolve())

    def inside(path: object) -> bool:
        if isinstance(path, int) or path is None:
            return False
        return os.path.abspath(os.fsdecode(path)).startswith(root)

    def hook(event: str, args: tuple) -> None:
        if event == "open":  # (path, mode or None, flags)
            mode, flags = args[1], args[2] or 0
            writing = bool(flags & WRITE_FLAGS) or isinstance(mode, str) and set(mode) & set("wax+")
            paths = args[:1] if writing else ()
        else:
            paths = args[:2] if event in WRITE_EVENTS else ()
        if any(inside(p) for p in paths if isinstance(p, str | bytes | os.PathLike)):
            rank = os.environ.get("RANK")
            sys.stderr.write(f"rank {rank} wrote: {event} {paths}\n")
            sys.stderr.flush()
            os._exit(3)

    sys.addaudithook(hook)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--guard"]:
        if os.environ.get("RANK", "0") != "0":
            guard_writes(Path(argv[1]))
        argv = argv[2:]
    argv = argv[1:] if argv[:1] == ["--"] else argv
    import torch

    torch.set_num_threads(1)
    from tweetsent.cli import main as tweetsent_main

    return tweetsent_main(argv)


def run_torchrun(
    nproc: int, args: list[str], guard: Path | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess:
    """Start `nproc` gloo ranks of `tweetsent args` (a free port: --standalone), stdout and
    stderr captured; a job that outlives `timeout` is killed (the test then fails)."""
    src = Path(__file__).resolve().parents[1] / "src"
    path = os.pathsep.join(p for p in (str(src), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={nproc}", "--max-restarts=0", __file__]
    command += (["--guard", str(guard)] if guard else []) + ["--", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
