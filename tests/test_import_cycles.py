"""No import cycles among the project's modules — imports inside functions count too, because they
still couple the modules (a function-level import is a cycle waiting for a refactor to trip it).

Read from the source with `ast`, nothing is imported. A package's `__init__` importing its own
submodules is its public face, not a cycle; a submodule importing its package is an edge like any other.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "trainers", "pricing", "dashboards")


def project_modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py") if (ROOT / pkg).exists() else ():
            rel = f.relative_to(ROOT).with_suffix("")
            mods[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = f
    return mods


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        is_pkg = f.name == "__init__.py"
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = m.split(".") if is_pkg else m.split(".")[:-1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                r = resolve(t)
                if r and r != m and not (is_pkg and r.startswith(m + ".")):
                    edges[m].add(r)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    sys.setrecursionlimit(10_000)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_the_walker_finds_a_cycle(tmp_path):
    """The detector itself: a two-module cycle through a function-level import is found."""
    edges = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert cycles(edges) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_project_modules():
    mods = project_modules()
    assert len(mods) > 50  # the walker found the project
    found = cycles(import_graph(mods))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_registries_do_not_import_suites():
    """Suites validate names through the registries; nothing imports suites.py to get a utility."""
    edges = import_graph(project_modules())
    importers = sorted(m for m, deps in edges.items() if "harness.suites" in deps)
    # the dashboard's clip rebuild loads the suite a run was scored with, like a command does
    allowed = {"harness.pipeline", "dashboards.excerpts"} | {m for m in importers if m.startswith("harness.commands.")}
    assert set(importers) <= allowed, f"modules importing harness.suites: {importers}"
