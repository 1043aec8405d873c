"""The package layering of ``docs/architecture.md``, checked on the source (a small AST walk, no imports).

Every ``import`` in ``skelzoo/`` counts, at module level or inside a function (a lazy import is still a
dependency), and so does ``importlib.import_module("skelzoo...")``. The rules:

1. no upward import: a unit (a sub-package or a top-level module of ``skelzoo``) imports only units of its
   own layer or of lower layers (:data:`LAYERS`);
2. no cycle between modules;
3. no private import across units: outside its own unit, nobody imports a ``_module`` or a ``_name``;
4. outside :mod:`skelzoo.models`, no use of the backbones' private stage hooks (:data:`STAGE_API`): chunked
   inference goes through the public stage API (``stem``, ``forward_stages``, ``unfold_persons``).

Imports under ``if TYPE_CHECKING:`` are for type checkers only and do not count.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "skelzoo"

#: lowest first; a unit may import units of its own layer or below. ``skelzoo/__init__.py`` (the lazy facade)
#: sits above everything; ``backbones``, ``zoo`` and ``convert`` are aliases kept for old import paths.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "layouts", "graphs", "dataset_info", "ranking", "progress", "runtime"),
    ("io",),
    ("data",),
    ("blocks", "necks", "heads", "hub"),
    ("localization",),
    ("models", "backbones", "zoo", "convert"),
    ("contrastive", "evaluation", "export", "viz"),
    ("training",),
    ("cli",),
)
#: private backbone internals that other units must reach through the public stage API
STAGE_API = ("_stem", "_unfold", "_run_stage")


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. "skelzoo.models.stgcn"
    target: str  # imported module, e.g. "skelzoo.models._registry"
    name: str | None  # the imported name for ``from X import name`` (None for ``import X``)
    line: int


def module_name(path: Path, pkg: Path = PKG) -> str:
    parts = list(path.relative_to(pkg.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str, pkg: Path) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    base = pkg / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _walk_runtime(tree: ast.AST):
    """``ast.walk`` without the bodies of ``if TYPE_CHECKING:`` blocks (imports for type checkers only)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                todo += child.orelse
                continue
            todo.append(child)


def collect_imports(pkg: Path = PKG) -> tuple[list[Import], dict[str, ast.Module]]:
    """Every skelzoo-internal import of every module under ``pkg``."""
    out: list[Import] = []
    trees: dict[str, ast.Module] = {}
    for path in sorted(pkg.rglob("*.py")):
        mod = module_name(path, pkg)
        tree = ast.parse(path.read_text(), filename=str(path))
        trees[mod] = tree
        here = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in _walk_runtime(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != pkg.name:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if _is_module(sub, pkg):  # ``from pkg import module``
                        out.append(Import(mod, sub, None, node.lineno))
                    else:
                        out.append(Import(mod, target, alias.name, node.lineno))
            elif isinstance(node, ast.Import):
                out += [Import(mod, a.name, None, node.lineno) for a in node.names
                        if a.name.split(".")[0] == pkg.name]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "import_module" and node.args
                  and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                  and node.args[0].value.split(".")[0] == pkg.name):
                out.append(Import(mod, node.args[0].value, None, node.lineno))
    return out, trees


def unit(module: str) -> str:
    """``skelzoo.models.stgcn`` -> ``models``; ``skelzoo.layouts`` -> ``layouts``; ``skelzoo`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(u: str) -> int:
    for i, units in enumerate(LAYERS):
        if u in units:
            return i
    raise KeyError(u)


def upward_imports(imports: list[Import]) -> list[str]:
    bad = []
    for imp in imports:
        src, dst = unit(imp.source), unit(imp.target)
        if src == "" or src == dst or (dst == "" and (imp.name or "").startswith("__")):
            continue  # the facade, the unit itself, ``from skelzoo import __version__``
        if dst == "" or layer_of(dst) > layer_of(src):
            bad.append(f"{imp.source}:{imp.line} imports {imp.target} (layer {dst or 'skelzoo'} is above "
                       f"{src})")
    return bad


def private_imports(imports: list[Import]) -> list[str]:
    bad = []
    for imp in imports:
        if unit(imp.source) == unit(imp.target):
            continue
        parts = imp.target.split(".")[1:] + ([imp.name] if imp.name else [])
        private = [p for p in parts if p.startswith("_") and not p.startswith("__")]
        if private:
            bad.append(f"{imp.source}:{imp.line} imports {imp.target}{'.' + imp.name if imp.name else ''} "
                       f"(private {private[0]!r} of another unit)")
    return bad


def cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.source != imp.target:
            graph.setdefault(imp.source, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def private_stage_access(trees: dict[str, ast.Module]) -> list[str]:
    bad = []
    for mod, tree in trees.items():
        for node in ast.walk(tree):
            if (unit(mod) != "models" and isinstance(node, ast.Attribute) and node.attr in STAGE_API
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                bad.append(f"{mod}:{node.lineno} uses .{node.attr} of another object (use the public stage API)")
    return bad


@pytest.fixture(scope="module")
def graph() -> tuple[list[Import], dict[str, ast.Module]]:
    return collect_imports()


def test_every_unit_has_a_layer(graph) -> None:
    units = {unit(m) for m in graph[1]} - {""}
    missing = sorted(u for u in units if not any(u in layer for layer in LAYERS))
    assert not missing, f"units without a layer in LAYERS (add them, and to docs/architecture.md): {missing}"


def test_no_upward_imports(graph) -> None:
    bad = upward_imports(graph[0])
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_no_import_cycles(graph) -> None:
    found = cycles(graph[0])
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_private_imports_across_units(graph) -> None:
    bad = private_imports(graph[0])
    assert not bad, "private names imported across units:\n" + "\n".join(bad)


def test_no_private_stage_access(graph) -> None:
    bad = private_stage_access(graph[1])
    assert not bad, "\n".join(bad)


def test_the_checks_catch_planted_violations(tmp_path: Path) -> None:
    """The rules are not vacuous: a planted cycle, upward import and private import are all reported."""
    pkg = tmp_path / "skelzoo"
    (pkg / "io").mkdir(parents=True)
    (pkg / "models").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "layouts.py").write_text("def f():\n    from .io import reader\n")
    (pkg / "io" / "__init__.py").write_text("")
    (pkg / "io" / "reader.py").write_text("from ..layouts import f\nfrom ..models._registry import get\n")
    (pkg / "models" / "__init__.py").write_text("")
    (pkg / "models" / "_registry.py").write_text("def get():\n    return 1\n")
    (pkg / "io" / "chunks.py").write_text("def run(backbone):\n    return backbone._stem(1)\n")
    imports, trees = collect_imports(pkg)
    assert cycles(imports) == [["skelzoo.io.reader", "skelzoo.layouts"]]
    assert len(upward_imports(imports)) == 2  # layouts -> io, io -> models
    assert len(private_imports(imports)) == 1
    assert len(private_stage_access(trees)) == 1
