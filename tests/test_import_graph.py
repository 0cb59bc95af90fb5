"""The import graph: no circles, and every arrow between rooms points down.

Rooms of the backend, bottom to top: ``errors`` (0), ``config`` (1), ``models`` and ``raster`` (2, siblings
that never import each other), ``embedding`` (3), ``query`` (4), ``app`` (5); the stages of ``train`` are in
``TRAIN_RANK``. ``train`` sits above the backend and the plugin beside it: the plugin imports neither the
backend nor torch, the backend never imports ``train``. Every import counts, also one inside a function (a
lazy import is still an arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RANK = {"errors": 0, "config": 1, "models": 2, "raster": 2, "embedding": 3, "query": 4, "app": 5}
# train/, by stage: its command-line helpers, data and readers, conversion (B2C, M2B, training sets), benchmarks,
# pretraining (which evaluates what it trains). The top-level modules besides command_line are the commands
# (``python -m train.b2c``), each a thin entry into its stage's module.
TRAIN_RANK = {"command_line": 0, "data": 1, "conversion": 2, "benchmarks": 3, "pretraining": 4}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Dotted names of everything ``path`` imports, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def graph(package: str) -> dict[str, set[str]]:
    files = sorted((ROOT / package).rglob("*.py"))
    modules = {module_name(f): f for f in files}
    return {name: {m for m in imported_modules(f) if m in modules and m != name} for name, f in modules.items()}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt.endswith(".__main__"):
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


@pytest.mark.parametrize("package", ["backend", "train", "remoteclip_qgis"])
def test_no_import_circles(package):
    # a package's __init__ importing its own modules is not a circle of concepts; none of ours does
    cycle = find_cycle(graph(package))
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_backend_rooms_import_downwards_only():
    edges = graph("backend")
    unknown = sorted({room(m) for m in edges} - set(RANK) - {"__init__", "__main__"})
    assert not unknown, f"modules outside the rooms: {unknown}"
    upward = []
    for src, targets in edges.items():
        if room(src) in ("__init__", "__main__"):
            continue
        for dst in targets:
            a, b = room(src), room(dst)
            if b == "__init__" or a == b:
                continue
            if RANK[b] >= RANK[a]:
                upward.append(f"{src} -> {dst}")
    assert not upward, "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_train_stages_import_downwards_only():
    edges = graph("train")
    upward = []
    for src, targets in edges.items():
        a = room(src)
        if src == "train":
            continue
        if a not in TRAIN_RANK:  # a command entry point
            assert len(src.split(".")) == 2, f"{src} is in no stage of train/"
            continue
        for dst in targets:
            b = room(dst)
            if b in TRAIN_RANK and a != b and TRAIN_RANK[b] >= TRAIN_RANK[a]:
                upward.append(f"{src} -> {dst}")
            assert b in TRAIN_RANK or b == "__init__", f"{src} imports the command module {dst}"
    assert not upward, "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_every_backend_module_is_in_a_room_and_layers_are_nonempty():
    rooms = {room(m) for m in graph("backend")}
    assert set(RANK) <= rooms | {"errors", "config"}
    for name in ("models", "raster", "embedding", "query", "app"):
        assert (ROOT / "backend" / name / "__init__.py").is_file()


def test_plugin_imports_neither_backend_nor_torch():
    bad = []
    for f in sorted((ROOT / "remoteclip_qgis").rglob("*.py")):
        for m in imported_modules(f):
            if m.split(".")[0] in ("backend", "torch", "open_clip", "rasterio", "train"):
                bad.append(f"{f.name}: {m}")
    assert not bad, bad


def test_backend_never_imports_train():
    bad = [f"{f}: {m}" for f in sorted((ROOT / "backend").rglob("*.py")) for m in imported_modules(f)
           if m.split(".")[0] == "train"]
    assert not bad, bad


def test_the_checker_sees_a_circle_and_an_upward_import(tmp_path):
    """The checks above can fail: a made-up graph with a circle and an upward arrow is caught."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert RANK[room("backend.embedding.store")] < RANK[room("backend.query.text_search")]
