"""The markdown tables of docs/results.md's transformer section, from what the benchmarks
appended: OUT/results.jsonl (accuracy.py), OUT/recipe.jsonl (recipe.py), OUT/ensembles.jsonl
(ensembles.py). Mean ± sd over the seeds present.

    python bench/transformer/report.py [--out bench/out/transformer]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

KEYS = ("avgrec", "f1_pn", "accuracy")
ENSEMBLES = {  # ensembles.py --name -> the row's label
    "recipe+frozen": "recipe, 4 members, frozen member: all 7 layers (session 7)",
    "recipe-2ep": "recipe, 4 members, the 2-epoch fine-tuned member (session 8)",
    "recipe-frozen-l3": "recipe, configs/semeval-transformer.toml: frozen member layer 3 + proj 64",
}


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def table(out: Path) -> str:
    lines = ["| model | seeds | valid AvgRec | test AvgRec | test F1-PN | test accuracy |"]
    lines.append("|---|---|---|---|---|---|")
    groups: dict[str, list[tuple[dict, dict]]] = {}
    ensembles = [row for row in _rows(out / "ensembles.jsonl") if row["test"]]
    for row in _rows(out / "results.jsonl"):
        if row["row"] == "frozen-bilstm" and ensembles:
            continue  # scored as an ensemble member, every seed (below)
        if row["test"]:
            groups.setdefault(row["row"], []).append((row["valid"], row["test"]))
    recipe = ENSEMBLES["recipe+frozen"]
    for row in _rows(out / "recipe.jsonl"):
        size = len(row["test"]) - 1
        for name, test in row["test"].items():
            if name == "ensemble":  # end-to-end runs: 3 members, then 4 (all layers)
                label = recipe if size == 4 else "recipe without the frozen member (3 members)"
                valid = row["valid"]
            else:
                label = "frozen-bilstm" if name == "frozen" else f"recipe member {name}"
                valid = row["valid_members"][name]
            groups.setdefault(label, []).append((valid, test))
    for row in ensembles:  # ensembles of the seeds' runs (ensembles.py), by their --name
        label = ENSEMBLES.get(row["name"], f"ensemble {row['name']}")
        groups.setdefault(label, []).append((row["valid"], row["test"]["ensemble"]))
        for name, test in row["test"].items():
            if row["name"] == "recipe+frozen" and name.startswith("frozen-bilstm-s"):
                valid = {"avgrec": row["valid_members"][name]}
                groups.setdefault("frozen-bilstm", []).append((valid, test))
    for name, pairs in groups.items():
        valid = _cell([v["avgrec"] for v, _ in pairs])
        tests = " | ".join(_cell([t[k] for _, t in pairs]) for k in KEYS)
        lines.append(f"| {name} | {len(pairs)} | {valid} | {tests} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/transformer"))
    print(table(parser.parse_args().out))


if __name__ == "__main__":
    main()
