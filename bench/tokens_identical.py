"""Check that two source trees clean and tokenize every SemEval text identically.

Every text of ../shared/data/semeval2017-task4a (each row, read with the NEW tree's reader),
also upper-cased and with curly apostrophes, goes through each tree's `Normalizer` in a child
process of its own (PYTHONPATH=the tree), under several `TextConfig`s (the default, each rule
switched off, no case folding, the stop-word modes, a small `max_tokens`):

  tokenize      `Normalizer(config).tokenize(text)`, text by text
  map_chunks    the batch path (`map_chunks` over all texts with `chunk_tokens`), with the
                default memo; for the default config and the small cap also with a memo of
                1,000 chunks (cleared again and again) and with none (every tenth text)
  aligned       `aligned(text, "raw")` and `aligned(text, "lower")` (what ELMo reads), for
                the default config and without case folding
  ids           `IdEncoder(normalizer, vocab).encode(texts)` with RUN's vocabulary (flat ids and
                offsets), when --run is given

Each child writes one digest per (config, path); where two differ, the parent asks both trees
for that output's rows and prints the first text whose output differs. Exit status 0 when
everything is equal.

    python bench/tokens_identical.py --old /tmp/base/src --new src [--run RUN]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2017-task4a"

CONFIGS: list[dict] = [
    {},
    {"lowercase": False},
    {"urls": False},
    {"users": False},
    {"hashtags": False},
    {"elongations": False},
    {"numbers": False},
    {"html_entities": False},
    {"stopwords": "study"},
    {"stopwords": "study-strict"},
    {"max_tokens": 0},
    {"max_tokens": 8},
    {
        "lowercase": False,
        "urls": False,
        "users": False,
        "hashtags": False,
        "elongations": False,
        "numbers": False,
        "html_entities": False,
    },
]

CHILD = r"""
import hashlib, json, sys
import numpy as np
from tweetsent.config import TextConfig
from tweetsent.text import Normalizer

texts = json.load(open(sys.argv[1], encoding="utf-8"))
configs = json.loads(sys.argv[2])
run, detail = sys.argv[3], sys.argv[4]
out = {}

def digest(name, rows):
    h = hashlib.sha256()
    kept = []
    for row in rows:
        line = json.dumps(row, ensure_ascii=False)
        h.update(line.encode("utf-8") + b"\n")
        if name == detail:
            kept.append(line)
    out[name] = {"sha256": h.hexdigest(), "rows": kept}

def per_text(flat, lengths):
    start = 0
    for n in lengths:
        yield flat[start : start + n]
        start += n

for k, overrides in enumerate(configs):
    config = TextConfig(**overrides)
    n = Normalizer(config)
    digest(f"{k}/tokenize", (n.tokenize(t) for t in texts))
    for size in (200_000, 1000, 0) if k in (0, 11) else (200_000,):
        some = texts if size else texts[::10]
        flat = []
        lengths = Normalizer(config).map_chunks(some, n.chunk_tokens, {}, size, flat)
        digest(f"{k}/map_chunks memo {size}", per_text(flat, lengths))
    if k in (0, 1):
        for mode in ("raw", "lower"):
            rows = []
            for t in texts:
                tokens, inp = n.aligned(t, mode)
                rows.append([tokens, list(inp.pieces), list(inp.index)])
            digest(f"{k}/aligned {mode}", rows)
if run:
    from tweetsent.runs.inference import IdEncoder
    from tweetsent.runs.rundir import read_run

    loaded = read_run(run)
    ids, offsets = IdEncoder(Normalizer(loaded.config.text), loaded.vocab).encode(texts)
    digest("run/ids", per_text(ids.tolist(), np.diff(offsets).tolist()))
print(json.dumps(out))
"""


def read_texts() -> list[str]:
    """Every text of the SemEval files (each row, duplicates kept), plus two variants each."""
    from tweetsent.data import read_examples

    files = sorted(str(p) for p in DATA.glob("twitter-*-A.tsv"))
    examples, _ = read_examples(files)
    texts = list(examples.texts)
    curly = [t.replace("'", "\u2019").replace('"', "\u201c") for t in texts]
    return texts + [t.upper() for t in texts] + curly


def run_tree(src: str, texts_file: str, run: str, detail: str = "") -> dict:
    env = dict(os.environ, PYTHONPATH=src)
    argv = [sys.executable, "-c", CHILD, texts_file, json.dumps(CONFIGS), run, detail]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{src}: the child failed:\n{done.stderr}")
    return json.loads(done.stdout)


def first_difference(a: list[str], b: list[str], texts: list[str]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            text = texts[i] if i < len(texts) else "?"
            return f"row {i}: text {text!r}\n  old {x[:300]}\n  new {y[:300]}"
    return f"{len(a)} rows against {len(b)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the old tree's src folder")
    parser.add_argument("--new", required=True, help="the new tree's src folder")
    parser.add_argument("--run", default="", help="a run directory: also compare its ids")
    args = parser.parse_args()
    texts = read_texts()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        old = run_tree(args.old, str(path), args.run)
        new = run_tree(args.new, str(path), args.run)
        bad = [name for name in old if old[name]["sha256"] != new.get(name, {}).get("sha256")]
        for name in bad[:3]:  # the rows of the first few that differ
            a = run_tree(args.old, str(path), args.run, name)[name]["rows"]
            b = run_tree(args.new, str(path), args.run, name)[name]["rows"]
            print(f"DIFFERENT {name}: {first_difference(a, b, texts)}")
    print(
        f"{len(texts):,} texts ({len(texts) // 3:,} SemEval rows, upper-cased, curly quotes), "
        f"{len(CONFIGS)} text configs, {len(old)} outputs compared: "
        + ("all identical" if not bad else f"{len(bad)} differ: {', '.join(bad)}")
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
