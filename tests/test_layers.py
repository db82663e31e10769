"""The import graph follows the layer order of docs/ARCHITECTURE.md: no module imports upward,
and no import hides inside a function to dodge a cycle.

Every `import` of a tweetsent module is read from the source (ast, imports inside functions
included). Two checks:
- layers: a module may import its own top-level package or module (`tweetsent.embed.*` within
  embed) and anything in a lower layer; never a higher one, nor a sibling of its own layer
  (train and pretrain do not import each other);
- cycles: with every import treated as if it were at module level, the module graph has no
  cycle. So an import inside a function is only ever a lazy import (of a heavy package, or the
  CLI's commands), never one that would be circular at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "tweetsent"

# Bottom to top; each entry is a layer (a tuple: siblings that may not import each other).
LAYERS: list[tuple[str, ...]] = [
    ("version",),
    ("errors",),
    ("paths",),
    ("io",),
    ("config",),
    ("device",),
    ("distributed",),
    ("parallel",),
    ("metrics",),
    ("checkpoint",),
    ("text",),
    ("lexicons",),
    ("data",),
    ("embed",),
    ("models",),
    ("runs",),
    ("train", "pretrain"),
    ("search",),
    ("study",),
    ("serve",),
    ("demo", "cli"),
    ("",),  # the package face, tweetsent/__init__.py
]
RANK = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _unit(module: str) -> str:
    """The top-level package or module below `tweetsent` ("" for the face)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _target(name: str) -> str:
    """The module an imported dotted name loads (a name imported from a package is its
    attribute, e.g. a class, unless a submodule of that name exists)."""
    return name if name in MODULES else name.rpartition(".")[0]


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported tweetsent module, line, inside a function or class) of a module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [n if n in MODULES else base for n in names]
        for name in names:
            if name == "tweetsent" or name.startswith("tweetsent."):
                found.append(
                    (
                        _target(name) if name not in MODULES else name,
                        node.lineno,
                        id(node) not in top,
                    )
                )
    return found


def test_every_unit_has_a_layer() -> None:
    units = {_unit(m) for m in MODULES}
    assert units <= set(RANK), f"put these in LAYERS: {sorted(units - set(RANK))}"


def test_no_upward_or_sideways_imports() -> None:
    bad = []
    for module in MODULES:
        here = _unit(module)
        for target, line, _ in imports(module):
            there = _unit(target)
            if there != here and RANK[there] >= RANK[here]:
                bad.append(f"{MODULES[module].relative_to(SRC)}:{line}: {module} -> {target}")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself
    (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_no_cycles_even_with_function_level_imports_at_the_top() -> None:
    graph = {module: {target for target, _, _ in imports(module)} for module in MODULES}
    cycles = _cycles(graph)
    lazy = {
        (module, target): line
        for module in MODULES
        for target, line, inner in imports(module)
        if inner
    }
    details = []
    for component in cycles:
        inner = [
            f"  {MODULES[m].relative_to(SRC)}:{lazy[m, t]}: {m} -> {t} (inside a function)"
            for m in component
            for t in sorted(graph[m] & set(component))
            if (m, t) in lazy
        ]
        details.append(" <-> ".join(component) + "\n" + "\n".join(inner))
    assert not cycles, "import cycles (an import inside a function hides one):\n" + "\n".join(
        details
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from tweetsent.models import build_model\n", "tweetsent.models"),
        ("from tweetsent.runs import rundir\n", "tweetsent.runs.rundir"),
        ("def f():\n    from tweetsent.train.loop import train\n", "tweetsent.train.loop"),
    ],
)
def test_imports_are_read_from_functions_too(tmp_path, monkeypatch, source, expected) -> None:
    fake = PACKAGE / "text" / "normalize.py"  # any module: its path is only read
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert [t for t, _, _ in imports("tweetsent.text.normalize")] == [expected], fake
