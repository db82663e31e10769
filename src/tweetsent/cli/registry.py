"""The subcommand registry: each theme module marks its runner with `@command("name")`."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    """Register `func` as the function that runs subcommand `name`."""

    def register(func: Command) -> Command:
        COMMANDS[name] = func
        return func

    return register
