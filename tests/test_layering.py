"""The layers of the code depend one way: the domain core knows neither the UI nor ingest.

geodata (the core) imports neither ingest nor dashboard nor streamlit; ingest never imports
streamlit or dashboard; dashboard does not import ingest. And no package has an import loop
between its modules at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANNED = {
    "geodata": {"dashboard", "ingest", "streamlit", "streamlit_folium", "folium"},
    "ingest": {"dashboard", "streamlit", "streamlit_folium"},
    "dashboard": {"ingest"},
}


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, top-level?) of every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            out += [(node.lineno, m, id(node) in top) for m in mods]
    return out


def test_packages_import_only_downwards():
    wrong = []
    for package, banned in BANNED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module, _ in _imports(path):
                if module.split(".")[0] in banned:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, wrong


def test_no_import_cycles_between_modules():
    """Top-level imports between the project's modules form no cycle."""
    modules = {}
    for package in ("geodata", "ingest", "dashboard"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    graph = {
        name: {m for _, m, top in _imports(path) if top and m in modules and m != name}
        for name, path in modules.items()
    }
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles
