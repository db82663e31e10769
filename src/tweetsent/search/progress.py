"""Progress of a study: a live line per worker and an overall bar, or plain lines when off.

Workers send small events (`start`, `epoch`, `end`, `queued`) as tuples of plain values; the
parent process (or the only worker) feeds them to `Display.handle`.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm


class Display:
    """The overall bar (trials finished / planned) and one line per worker."""

    def __init__(
        self, workers: int, total: int, metric: str, enabled: bool = True, maximize: bool = True
    ) -> None:
        self.metric, self.enabled, self.maximize = metric, enabled, maximize
        self.best: float | None = None
        self.finished, self.total = 0, total
        self.bar = tqdm(
            total=total, desc="search", unit="trial", position=0, disable=not enabled,
            dynamic_ncols=True, file=sys.stderr,
        )  # fmt: skip
        self.lines = [
            tqdm(
                total=1,
                position=i + 1,
                disable=not enabled,
                dynamic_ncols=True,
                leave=False,
                bar_format="{desc}{bar:20}| {n_fmt}/{total_fmt} epochs{postfix}",
                desc=f"worker {i}: idle ",
                file=sys.stderr,
            )  # fmt: skip
            for i in range(workers)
        ]

    def handle(self, worker: int, kind: str, number: Any, *rest: Any) -> None:
        line = self.lines[worker] if worker < len(self.lines) else None
        if kind == "note":
            self.write(f"worker {worker}: {number}")
        if kind == "start" and line is not None:
            epochs, origin = rest
            line.reset(total=epochs)
            line.set_description_str(f"worker {worker}: trial {number} [{origin}] ")
        elif kind == "epoch" and line is not None:
            epoch, score = rest
            line.n = epoch
            line.set_postfix_str(f"{self.metric} {score:.4f}")
        elif kind == "queued":
            self.total += number
            self.bar.total = self.total
            self.bar.refresh()
        elif kind == "end":
            self._end(worker, number, *rest)

    def _end(self, worker: int, number: int, state: str, value: float | None) -> None:
        if value is not None and state == "COMPLETE":
            better = self.best is None or (value > self.best) == self.maximize
            self.best = value if better else self.best
        self.finished += 1
        self.bar.update(1)
        if self.best is not None:
            self.bar.set_postfix_str(f"best {self.metric} {self.best:.4f}")
        score = f" {self.metric} {value:.4f}" if value is not None else ""
        self.write(f"trial {number} {state.lower()}{score} (worker {worker})")
        if worker < len(self.lines):
            self.lines[worker].reset(total=1)
            self.lines[worker].set_postfix_str("")
            self.lines[worker].set_description_str(f"worker {worker}: idle ")

    def write(self, text: str) -> None:
        if self.enabled:
            tqdm.write(text, file=sys.stderr)
        else:
            print(text, flush=True)

    def close(self) -> None:
        for line in self.lines:
            line.close()
        self.bar.close()
