"""Outputs of predict, evaluate, serve and export, byte for byte, in two source trees (issue 24).

    python bench/output_parity.py --before-rev main                 # main against this checkout
    python bench/output_parity.py --before ../main/src --after src
    python bench/output_parity.py --before-rev 12865b3 --after-rev HEAD --keep /tmp/parity

A tree is a source folder (`--before SRC`, `--after SRC`; default after: this checkout's src)
or a git revision, checked out with `git worktree add --detach` into a temporary folder and
removed afterwards (`--before-rev REV`, `--after-rev REV`). Every command runs as its own
`python -m tweetsent.cli ...` process with PYTHONPATH set to the tree (checked: the tree's
`tweetsent` is the one imported), from the same working folder layout, so that relative paths
in messages read the same.

The fixture runs are trained once, with the before tree, on a slice of the shared SemEval data
(../shared/data/semeval2017-task4a: 600 training, 200 validation tweets; the synthetic tweets
of tests/synthetic.py where that folder is absent, or with --synthetic): a BiLSTM with max
pooling, a GRU with self-attention pooling (2 hops), a CNN, an n-gram model, and an ensemble of
the BiLSTM and the CNN (weights fitted). Then, per run and per tree:

  predict    --input (150 SemEval test tweets + edge cases) with --backend torch, onnx and
             auto, JSONL (onnx refuses all but the BiLSTM: its one-line error is compared);
             CSV, TSV and Parquet on the BiLSTM; --attention, --attention --hops (JSONL) and
             --attention (Parquet) on the attention run; one tweet as an argument (stdout)
  evaluate   --data (the same labelled file) --out metrics.json
  export     --format onnx and --format torchscript --out FILE (the file and its .json sidecar)
  serve      a real `tweetsent serve RUN --port P`: POST /v1/predict (texts; attention; one
             text; 413 and 422 errors), GET /v1/model, GET /openapi.json: status, content
             type and body of each answer

Standard output, standard error and exit status of every command are outputs too. Each file is
compared by SHA-256; on a mismatch the first differing line is shown. Exit status: 0 when every
output is identical, 1 on any difference, 2 when the check cannot prove anything (a command
that must succeed failed in the before tree, or the trees cannot be set up).

What legitimately differs is listed below (NORMALISED, NOT_COMPARED) with its reason and
normalised narrowly; nothing else is ignored. An intended change of an output (a bug fix) shows
as a difference: judge it, do not normalise it. About 3 minutes on the 2-core development
machine under a load average of 9 (--jobs 3 commands at a time); per-command seconds are in
WORK/logs/seconds.tsv (--keep WORK).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "semeval2017-task4a"
COMMAND_TIMEOUT = 300  # seconds a command may take on a loaded machine
SERVE_TIMEOUT = 120  # seconds a server may take to load its model

# Fixture runs: overrides of a tiny config (random 16-d embeddings, hidden 16, 2 epochs).
RUNS = {
    "lstm-max": {"model.cell": "lstm", "model.pooling": "max"},
    "gru-attention": {
        "model.cell": "gru",
        "model.pooling": "attention",
        "model.attention_hops": 2,
        "model.attention_da": 8,
        "model.attention_mlp": 16,
    },
    "cnn": {"model.kind": "cnn", "model.cnn_filters": 8, "model.cnn_widths": [2, 3]},
    "ngram": {"model.kind": "ngram", "model.ngram_buckets": 4096},
}
ENSEMBLE = ("ensemble", ("lstm-max", "cnn"))
ONNX_RUNS = {"lstm-max"}  # runs the onnx backend scores today (the others: its one-line error)
ATTENTION_RUN = "gru-attention"
EXPORTS = {"onnx": "onnx", "torchscript": "pt"}  # export --format: file suffix
TABLE_RUN = ("lstm-max", "onnx")  # predictions also written as CSV, TSV and Parquet: run, backend

ONE_TEXT = "not bad at all, the movie was better than I expected :)"
# Edge cases, appended to the input file and sent to the server.
EDGE_TEXTS = [
    "I LOVE this!!! 😍😍 #best",
    "worst. day. ever. @united http://t.co/abc123",
    "...",
    "@someone",
    "Ce n'est pas mal du tout, vraiment génial",
    "so good " * 40,
]
TEXTS = [ONE_TEXT, "meeting moved to tuesday", "", *EDGE_TEXTS]

# (file, method, path, JSON body) of each request to a server.
REQUESTS = [
    ("predict.json", "POST", "/v1/predict", {"texts": TEXTS}),
    ("predict-attention.json", "POST", "/v1/predict", {"texts": TEXTS, "attention": True}),
    ("predict-one.json", "POST", "/v1/predict", {"texts": [ONE_TEXT]}),
    ("too-many.json", "POST", "/v1/predict", {"texts": ["x"] * 65}),
    ("unknown-field.json", "POST", "/v1/predict", {"texts": ["x"], "colour": "red"}),
    ("model.json", "GET", "/v1/model", None),
    ("openapi.json", "GET", "/openapi.json", None),
]


def _torchscript_program(data: bytes) -> bytes:
    """A TorchScript archive as its members in order: name without the top folder, compression,
    and the content's SHA-256, except for the debug records and the serialization id."""
    lines = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name = info.filename.partition("/")[2]
            debug = name.endswith(".debug_pkl") or name == ".data/serialization_id"
            digest = "(debug)" if debug else hashlib.sha256(archive.read(info)).hexdigest()
            lines.append(f"{name} {info.compress_type} {digest}\n")
    return "".join(lines).encode()


@dataclass(frozen=True)
class Rule:
    suffix: str  # outputs whose path ends so
    normalise: Callable[[bytes], bytes]
    reason: str


# What legitimately differs between two runs of the same code, each normalised narrowly.
NORMALISED = [
    Rule(
        ".pt",
        _torchscript_program,
        "a TorchScript archive is compared member by member (names, order, compression, "
        "contents), except: its top folder, named by torch.jit.save after the file it writes "
        "(io.atomic_path's random temporary name, .model.XXXXXXXX.tmp); the *.debug_pkl "
        "records, the Python call stack that traced each op (the tree's path, line numbers and "
        "function names in cli/, runs/ and models/: where the code is, not what it computes); "
        "and .data/serialization_id, a hash over every record, the debug ones included",
    ),
]
# What is not compared at all.
NOT_COMPARED = {
    "server logs": "uvicorn's lines carry the port, the process id and timings; every answer "
    "of the server is compared instead",
    "HTTP headers other than the status and Content-Type": "date and server headers",
}


@dataclass(frozen=True)
class Job:
    name: str  # stdout, stderr and exit status go to NAME.stdout, .stderr, .rc
    argv: tuple[str, ...]  # after `python -m tweetsent.cli`
    must_pass: bool = True  # in the before tree; a failure there makes the check vacuous
    serve: str = ""  # a server job: the run directory


class Unusable(Exception):
    """The comparison cannot be made (exit status 2)."""


@dataclass
class Tree:
    label: str  # before | after
    src: Path
    root: Path  # the checkout (its tests/ has the synthetic fixtures)
    failures: list[str] = field(default_factory=list)


def main() -> int:
    args = parse_args()
    if args.build_runs:
        build_runs(Path(args.build_runs), args.synthetic)
        return 0
    try:
        return compare(args)
    except Unusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def compare(args: argparse.Namespace) -> int:
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        work = Path(args.keep) if args.keep else Path(stack.enter_context(_tempdir()))
        if work.exists() and any(work.iterdir()):
            raise Unusable(f"--keep {work}: not empty; give a new folder")
        work.mkdir(parents=True, exist_ok=True)
        before = stack.enter_context(_tree("before", args.before, args.before_rev, work))
        after = stack.enter_context(_tree("after", args.after, args.after_rev, work))
        for tree in (before, after):
            print(f"{tree.label}: {tree.src} ({_imported(tree, args.python)})")
        synthetic = args.synthetic or not SHARED.is_dir()
        print(f"building the fixture runs with the before tree ({_data_name(synthetic)}) ...")
        _build(before, work, args.python, synthetic)
        print(f"  {time.monotonic() - start:.0f} s; running the commands in both trees ...")
        jobs = make_jobs(work / "runs", work / "data" / "input.tsv")
        run_all(jobs, (before, after), work, args.python, args.jobs)
        print(f"  {time.monotonic() - start:.0f} s\n")
        status = report(work / "out", before)
        print(f"\n{time.monotonic() - start:.0f} s in all; work folder: {work}")
        return status


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    before = p.add_mutually_exclusive_group()
    before.add_argument("--before", type=Path, help="source folder of the reference tree")
    before.add_argument("--before-rev", help="git revision of the reference tree")
    after = p.add_mutually_exclusive_group()
    after.add_argument("--after", type=Path, help=f"source folder (default {ROOT / 'src'})")
    after.add_argument("--after-rev", help="git revision of the tree checked")
    p.add_argument("--keep", help="work folder, kept (default: a temporary one, removed)")
    p.add_argument("--jobs", type=int, default=3, help="commands at a time (default 3)")
    p.add_argument("--synthetic", action="store_true", help="synthetic tweets, not SemEval")
    p.add_argument("--python", default=sys.executable, help="interpreter (default: this one)")
    p.add_argument("--build-runs", help=argparse.SUPPRESS)  # internal: run in the before tree
    args = p.parse_args()
    if not args.build_runs and not (args.before or args.before_rev):
        p.error("give --before SRC or --before-rev REV")
    if not args.after and not args.after_rev:
        args.after = ROOT / "src"
    return args


@contextlib.contextmanager
def _tempdir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="output-parity-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _tree(label: str, src: Path | None, rev: str | None, work: Path) -> Iterator[Tree]:
    """A source tree: the folder given, or `rev` checked out into a worktree removed after."""
    if src is not None:
        src = src.resolve()
        if not (src / "tweetsent" / "__init__.py").is_file():
            raise Unusable(f"{src}: no tweetsent package here")
        yield Tree(label, src, src.parent)
        return
    checkout = work / f"tree-{label}"
    git = ["git", "-C", str(ROOT)]
    add = [*git, "worktree", "add", "--detach", "--quiet", str(checkout), rev]
    if subprocess.run(add).returncode:
        raise Unusable(f"git worktree add of {rev!r} failed")
    try:
        yield Tree(label, checkout / "src", checkout)
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(checkout)], check=False)


def _env(tree: Tree) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree.src), "PYTHONUNBUFFERED": "1"}


def _imported(tree: Tree, python: str) -> str:
    """Which tweetsent the tree's processes import: the tree's own, or the check stops."""
    code = "import tweetsent; print(tweetsent.__file__)"
    found = subprocess.run(
        [python, "-c", code], env=_env(tree), capture_output=True, text=True
    ).stdout.strip()
    if Path(found).resolve() != (tree.src / "tweetsent" / "__init__.py").resolve():
        raise Unusable(f"{tree.label}: PYTHONPATH={tree.src} imports {found}, not the tree's")
    return f"imports {found}"


def _data_name(synthetic: bool) -> str:
    return "synthetic tweets" if synthetic else f"SemEval slices of {SHARED}"


def _build(tree: Tree, work: Path, python: str, synthetic: bool) -> None:
    argv = [python, str(Path(__file__).resolve()), "--build-runs", str(work)]
    argv += ["--synthetic"] if synthetic else []
    env = {**_env(tree), "PYTHONPATH": os.pathsep.join([str(tree.src), str(tree.root / "tests")])}
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode:
        print(done.stdout + done.stderr, file=sys.stderr)
        raise Unusable("building the fixture runs with the before tree failed")


# --- the fixture runs (this part runs in a child process, with the before tree) -------------


def build_runs(work: Path, synthetic: bool) -> None:
    """Write WORK/data (train, valid, input TSV files) and train WORK/runs/*."""
    from tweetsent.config import RunConfig
    from tweetsent.runs.ensemble import build_ensemble
    from tweetsent.train import train

    data, runs = work / "data", work / "runs"
    data.mkdir(parents=True, exist_ok=True)
    _write_data(data, synthetic)
    base = {
        "data.train": [str(data / "train.tsv")],
        "data.valid": [str(data / "valid.tsv")],
        "data.min_freq": 2,
        "data.workers": 1,
        "data.cache_dir": str(work / "cache"),
        "embed.kind": "random",
        "embed.dim": 16,
        "model.hidden_size": 16,
        "train.epochs": 2,
        "train.batch_size": 32,
        "train.lr": 0.01,
        "train.progress": False,
        "train.threads": 1,
        "train.seed": 7,
    }
    for name, overrides in RUNS.items():
        config = RunConfig().with_overrides({**base, **overrides, "out": str(runs / name)})
        train(config, log=lambda _: None)
    name, members = ENSEMBLE
    build_ensemble([runs / m for m in members], runs / name, weights="fit", log=lambda *_: None)


def _write_data(data: Path, synthetic: bool) -> None:
    """SemEval slices (the test file's lines as they are: a trailing empty field), or the
    synthetic tweets of the tests; the edge cases appended to the input."""
    edges = [("neutral", text) for text in EDGE_TEXTS]
    if synthetic:
        from synthetic import synthetic_tweets, write_tsv

        write_tsv(data / "train.tsv", synthetic_tweets(600, seed=1))
        write_tsv(data / "valid.tsv", synthetic_tweets(200, seed=2), start_id=5000)
        write_tsv(data / "input.tsv", synthetic_tweets(150, seed=3) + edges, start_id=9000)
        return
    for name, source, rows in (
        ("train.tsv", "twitter-2013train-A.tsv", 600),
        ("valid.tsv", "twitter-2013dev-A.tsv", 200),
        ("input.tsv", "twitter-2016test-A.tsv", 150),
    ):
        with open(SHARED / source, "rb") as handle:
            lines = [handle.readline() for _ in range(rows)]
        if name == "input.tsv":
            lines += [
                f"{9000 + i}\t{label}\t{text}\t\n".encode() for i, (label, text) in enumerate(edges)
            ]
        (data / name).write_bytes(b"".join(lines))


# --- the commands --------------------------------------------------------------------------


def make_jobs(runs: Path, data: Path) -> list[Job]:
    """Every command of the comparison, slow ones (servers, exports) first."""
    names = [*RUNS, ENSEMBLE[0]]
    jobs = [Job(f"serve/{r}/serve", (), serve=str(runs / r)) for r in names]
    for r, (fmt, suffix) in ((r, item) for r in names for item in EXPORTS.items()):
        argv = ("export", str(runs / r), "--format", fmt, "--out", f"export/{r}/model.{suffix}")
        jobs.append(Job(f"export/{r}/{fmt}", argv))
    for r in names:
        argv = ("evaluate", str(runs / r), "--data", str(data))
        jobs.append(Job(f"evaluate/{r}/evaluate", (*argv, "--out", f"evaluate/{r}/metrics.json")))
        jobs.append(Job(f"predict/{r}/one-text", ("predict", str(runs / r), ONE_TEXT)))
        jobs += _predict_jobs(r, runs / r, data)
    return jobs + _attention_jobs(runs / ATTENTION_RUN, data)


def _predict_jobs(name: str, run: Path, data: Path) -> list[Job]:
    """`predict --input` with each backend (JSONL); CSV, TSV and Parquet for TABLE_RUN."""
    outputs = [(backend, "jsonl") for backend in ("torch", "onnx", "auto")]
    if name == TABLE_RUN[0]:
        outputs += [(TABLE_RUN[1], fmt) for fmt in ("csv", "tsv", "parquet")]
    jobs = []
    for backend, fmt in outputs:
        out = f"predict/{name}/{backend}.{fmt}"
        argv = ("predict", str(run), "--input", str(data), "--backend", backend, "--output", out)
        must_pass = backend != "onnx" or name in ONNX_RUNS
        jobs.append(Job(f"predict/{name}/{backend}-{fmt}", (*argv, "--no-progress"), must_pass))
    return jobs


def _attention_jobs(run: Path, data: Path) -> list[Job]:
    """--attention (torch in the command's own process), with and without --hops."""
    name = run.name
    argv = ("predict", str(run), ONE_TEXT, "--attention", "--hops")
    jobs = [Job(f"predict/{name}/one-text-attention", argv)]
    for hops, fmt in ((False, "jsonl"), (True, "jsonl"), (False, "parquet")):
        stem = "attention-hops" if hops else "attention"
        argv = ("predict", str(run), "--input", str(data), "--attention")
        argv += ("--hops",) if hops else ()
        argv += ("--output", f"predict/{name}/{stem}.{fmt}", "--no-progress")
        jobs.append(Job(f"predict/{name}/{stem}-{fmt}", argv))
    return jobs


def run_all(jobs: list[Job], trees: tuple[Tree, ...], work: Path, python: str, n: int) -> None:
    """Every job in every tree, `n` at a time, the trees' copies of a job side by side."""
    for tree in trees:
        (work / "logs" / tree.label).mkdir(parents=True, exist_ok=True)
        for job in jobs:
            (work / "out" / tree.label / job.name).parent.mkdir(parents=True, exist_ok=True)

    def timed(tree: Tree, job: Job) -> str:
        start = time.monotonic()
        (run_server if job.serve else run_command)(tree, job, work, python)
        return f"{time.monotonic() - start:.1f}\t{tree.label}\t{job.name}\n"

    with concurrent.futures.ThreadPoolExecutor(max(1, n)) as pool:
        futures = [pool.submit(timed, tree, job) for job in jobs for tree in trees]
        times = [future.result() for future in futures]
    (work / "logs" / "seconds.tsv").write_text("".join(times), encoding="utf-8")


def run_command(tree: Tree, job: Job, work: Path, python: str) -> None:
    """`python -m tweetsent.cli ARGV` in the tree's output folder: stdout, stderr, status."""
    cwd = work / "out" / tree.label
    proc = subprocess.Popen(
        [python, "-m", "tweetsent.cli", *job.argv],
        cwd=cwd,
        env=_env(tree),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its helper process too is ended on a timeout
    )
    try:
        stdout, stderr = proc.communicate(timeout=COMMAND_TIMEOUT)
        status = str(proc.returncode)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        stdout, stderr = proc.communicate()
        status = f"killed after {COMMAND_TIMEOUT} s"
    base = cwd / job.name
    for suffix, data in ((".stdout", stdout), (".stderr", stderr), (".rc", status.encode())):
        base.with_name(base.name + suffix).write_bytes(data)
    if status != "0" and job.must_pass and tree.label == "before":
        last = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        tree.failures.append(f"{job.name}: exit {status}: {last[0]}")


def run_server(tree: Tree, job: Job, work: Path, python: str) -> None:
    """A real server on a free loopback port: each request's status, type and body."""
    out = (work / "out" / tree.label / job.name).parent
    run = Path(job.serve)
    port = _free_port()
    argv = [python, "-m", "tweetsent.cli", "serve", str(run), "--port", str(port)]
    with open(work / "logs" / tree.label / f"serve-{run.name}.log", "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=out,
            env=_env(tree),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        problem = _wait_ready(url, proc)
        lines = [f"not ready: {problem}\n"] if problem else []
        for name, method, path, body in [] if problem else REQUESTS:
            status, kind, data = _request(url, method, path, body)
            (out / name).write_bytes(data)
            lines.append(f"{method} {path} -> {status} {kind} ({name})\n")
        (out / "status.txt").write_text("".join(lines), encoding="utf-8")
        if problem and tree.label == "before":
            tree.failures.append(f"{job.name}: {problem}")
    finally:
        _stop(proc)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen) -> str:
    """'' once /readyz answers 200, else why not."""
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"the server exited with status {proc.returncode}"
        with contextlib.suppress(OSError):
            status, _, body = _request(url, "GET", "/readyz", None)
            if status == 200:
                return ""
            if b"failed" in body:
                return "the model failed to load"
        time.sleep(0.2)
    return f"not ready after {SERVE_TIMEOUT} s"


def _request(url: str, method: str, path: str, body: object) -> tuple[int, str, bytes]:
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json"}
    request = urllib.request.Request(url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


# --- the comparison ------------------------------------------------------------------------


def report(out: Path, before: Tree) -> int:
    """Print a row per output (size, SHA-256 before and after, result) and the differences;
    return the exit status."""
    sides = [out / "before", out / "after"]
    names = sorted({p.relative_to(side).as_posix() for side in sides for p in _files(side)})
    differ, used = [], {}
    print(f"| output | bytes | before sha256 | after sha256 | result |\n|{'---|' * 5}")
    for name in names:
        first, second = (side / name for side in sides)
        if not (first.is_file() and second.is_file()):
            where = "after" if first.is_file() else "before"
            print(f"| {name} | | | | MISSING in {where} |")
            differ.append((name, f"missing in the {where} tree", None))
            continue
        a, b = first.read_bytes(), second.read_bytes()
        size, sha_a, sha_b = len(a), _sha(a), _sha(b)
        rule = next((r for r in NORMALISED if name.endswith(r.suffix)), None)
        result = "same"
        if a != b and rule is not None:
            a, b = rule.normalise(a), rule.normalise(b)
            result = "same*"
        if a != b:
            result = "DIFFERS"
            differ.append((name, _first_difference(a, b), rule))
        elif result == "same*":
            used[rule.reason] = used.get(rule.reason, 0) + 1
        print(f"| {name} | {size:,} | {sha_a} | {sha_b} | {result} |")
    return _summary(names, differ, used, before)


def _files(side: Path) -> list[Path]:
    return [p for p in side.rglob("*") if p.is_file()]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def _first_difference(a: bytes, b: bytes) -> str:
    """Where two files first differ: line and column of texts, byte offset of binary files."""
    if b"\0" in a or b"\0" in b:
        at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
        at = min(len(a), len(b)) if at is None else at
        return f"binary, {len(a):,} vs {len(b):,} bytes, first difference at byte {at:,}"
    lines_a, lines_b = a.splitlines(keepends=True), b.splitlines(keepends=True)
    n = next((i for i, (x, y) in enumerate(zip(lines_a, lines_b, strict=False)) if x != y), None)
    n = min(len(lines_a), len(lines_b)) if n is None else n
    text_a, text_b = (_line(lines, n) for lines in (lines_a, lines_b))
    col = next((i for i, (x, y) in enumerate(zip(text_a, text_b, strict=False)) if x != y), None)
    col = min(len(text_a), len(text_b)) if col is None else col
    start = max(0, col - 60)
    cut = "..." if start else ""
    return (
        f"line {n + 1}, column {col + 1}:\n    before: {cut}{text_a[start : start + 160]!r}"
        f"\n    after:  {cut}{text_b[start : start + 160]!r}"
    )


def _line(lines: list[bytes], n: int) -> str:
    return lines[n].decode("utf-8", errors="replace") if n < len(lines) else "(end of file)"


def _summary(names: list[str], differ: list, used: dict[str, int], before: Tree) -> int:
    print()
    for name, where, rule in differ:
        note = f" (after normalising: {rule.suffix})" if rule else ""
        print(f"DIFFERS {name}{note}: {where}")
    for reason, count in used.items():
        print(f"same* ({count} files): {reason}")
    for what, reason in NOT_COMPARED.items():
        print(f"not compared: {what}: {reason}")
    if before.failures:
        print("\nthe before tree failed commands that must succeed (the check proves nothing):")
        print("\n".join(f"  {failure}" for failure in before.failures))
        return 2
    if differ:
        print(f"\n{len(differ)} of {len(names)} outputs differ")
        return 1
    print(f"\nall {len(names)} outputs identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
