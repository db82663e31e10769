"""The `tweetsent` command: a thin argparse layer over the Python API.

Every subcommand parses its flags, calls one API function, and prints. User mistakes raise
`TweetsentError` and end as one line on stderr with exit status 2, never a traceback (under
torchrun, one line per rank that failed, prefixed `[rank N]` after rank 0).

The subcommands live by theme: `runs` (train, evaluate, predict, data), `tools` (serve, export,
search, explain) and `elmo` (the `elmo` group). Each module has one `_add_X(sub)` that builds the
subparser and one `@command("X")` function that runs it (`registry`); the API behind each
command is imported only when it runs, so that `tweetsent --help` stays fast.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

from tweetsent.cli import elmo, runs, tools, transformer
from tweetsent.cli.registry import COMMANDS, command
from tweetsent.cli.runs import config_from_args
from tweetsent.errors import TweetsentError
from tweetsent.version import __version__

__all__ = ["COMMANDS", "build_parser", "command", "config_from_args", "main"]

# Subcommands in the order `tweetsent --help` lists them.
ADDERS = [*runs.ADDERS, *tools.ADDERS, *elmo.ADDERS, *transformer.ADDERS]


# What `tweetsent --help` says above and below the list of commands (for users, not developers).
DESCRIPTION = """\
Sentiment analysis of tweets: train a classifier (BiLSTM/GRU, CNN, n-gram, fine-tuned
transformer, ensembles) on labelled tweets, then label new ones from the command line, a
file or a REST API."""
EPILOG = """\
a first run:
  tweetsent train --data train.tsv --out runs/first      train, save the run directory
  tweetsent predict runs/first "I love this :)"          label tweets (or --input FILE)
  tweetsent evaluate runs/first --data test.tsv          scores on labelled tweets
  tweetsent serve runs/first                             REST API and web page

`tweetsent COMMAND --help` tells more about each command."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `tweetsent` parser; with `only` (a command's name) the subparser of that command
    alone is built, the others' flags are skipped (`main` does so: building all of them is
    ~6 ms of every command's start, `train` alone has some sixty flags)."""
    parser = argparse.ArgumentParser(
        prog="tweetsent",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    for add in ADDERS:
        add(sub if only is None else _OneCommand(sub, only))
    return parser


class _OneCommand:
    """The subparsers action as `build_parser(only=...)` hands it to the adders: the named
    command's parser is built, any other is a `_Skipped` that takes whatever it is given
    (its name stays among the choices, so that usage lines read as with every command)."""

    def __init__(self, sub: Any, only: str) -> None:
        self.sub, self.only = sub, only

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if name == self.only:
            return self.sub.add_parser(name, **kwargs)
        self.sub.choices[name] = None  # never parsed: `main` built this one for `only`
        return _Skipped()


class _Skipped:
    """A parser that is not built: every method call is accepted and ignored."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: _Skipped()


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """`parser.parse_args`, except that a command whose defaults name a list of positionals
    (`set_defaults(positionals="texts")`) takes them anywhere, options between them included:
    `predict RUN --backend onnx "good day"` (argparse alone takes them right after RUN only);
    after `--` even those that start with a dash."""
    args, extra = parser.parse_known_args(argv)
    if not extra:
        return args
    name = getattr(args, "positionals", None)
    cut = extra.index("--") if "--" in extra else len(extra)
    head, tail = extra[:cut], extra[cut + 1 :]
    if name is None or any(e.startswith("-") and e != "-" for e in head):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    getattr(args, name).extend(head + tail)
    return args


def _version() -> str:
    return f"tweetsent {__version__}"


def _rank_prefix() -> str:
    """Under torchrun every rank reports its own error; ranks other than 0 say which they are."""
    rank = os.environ.get("RANK", "0") if "WORLD_SIZE" in os.environ else "0"
    return "" if rank == "0" else f"[rank {rank}] "


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; `argv` None (the `tweetsent` command, `python -m tweetsent.cli`) reads
    sys.argv and also makes the interpreter's exit fast (`_fast_exit`)."""
    if argv is None:
        _fast_exit()
    words = sys.argv[1:] if argv is None else list(argv)
    name = words[0] if words and words[0] in COMMANDS else None  # else: every command's help
    args = parse_args(build_parser(name), argv)
    try:
        return COMMANDS[args.command](args)
    except TweetsentError as exc:
        print(f"error: {_rank_prefix()}{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _fast_exit() -> None:
    """Freeze the garbage collector's objects when the interpreter exits.

    Once torch is imported, the collections that Python runs while it shuts down walk torch's
    object graph: about 0.6 s of every command on the 2-core development machine (0.1 s
    frozen; docs/benchmarks.md, issue 15). Frozen objects are still freed by reference
    counting and `atexit`/`weakref.finalize` hooks still run; only garbage cycles left at exit
    stay uncollected, as the process ends anyway (outputs are closed by their `with` blocks
    before). Only for the command itself: a Python caller of `main(argv)` keeps its collector.
    """
    atexit.register(gc.freeze)
