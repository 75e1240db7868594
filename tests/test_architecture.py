"""The package's architecture, enforced: no import cycles, public names outside the package,
small modules, entry points at their places, no machine paths in what users read.

See ``docs/architecture.md``.
"""

from __future__ import annotations

import ast
import re
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import ncverify

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(ncverify.__file__).resolve().parent
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, level: int, target: str | None) -> str:
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([target] if target else []))


def _edges(module: str) -> set[str]:
    """Modules of ncverify that ``module`` imports, at any depth of its code (function-level
    imports included: deferring an import hides a cycle from Python, not from the design)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node.level, node.module) if node.level else node.module
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:  # `import ncverify.x.y` names a module or package
                t = t.rpartition(".")[0]
            if t and t.startswith("ncverify") and t != module:
                out.add(t)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path) or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def _part(module: str) -> str:
    """The architectural part a module belongs to: ``ncverify.<sub-package>`` (the catalogue's
    families count separately), or the module itself for top-level modules."""
    parts = module.split(".")
    if parts[:2] == ["ncverify", "catalog"] and len(parts) > 2:
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def test_the_import_graph_walker_finds_a_cycle():
    """Negative control of the two cycle tests below."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert "ncverify.spec._verdict" in _edges("ncverify.spec._core")
    assert "ncverify.metrics" in _edges("ncverify.catalog.jswm._measure")  # deferred import


def test_no_import_cycle_between_modules():
    graph = {m: _edges(m) for m in MODULES}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_no_import_cycle_between_parts():
    """spec, metrics, nets, train, ufm, catalog families, strategies, data, pytest_plugin,
    report, cli: a layered graph (the registry loads the catalogue by name, like plug-ins)."""
    graph: dict[str, set[str]] = {}
    for m in MODULES:
        graph.setdefault(_part(m), set()).update(p for p in map(_part, _edges(m)) if p != _part(m))
    graph.pop("ncverify", None)  # the root only defers to the parts by name
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


_PRIVATE = re.compile(r"\bncverify(\.[A-Za-z0-9]+)*\._[A-Za-z]")


def _user_facing_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in ("theorems", "examples", "docs", "benchmarks", "scripts"):
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in (".py", ".md", "") and "__pycache__" not in p.parts
        ]
    return files


def test_public_names_only_outside_the_package():
    bad = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in _user_facing_files()
        for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if _PRIVATE.search(line)
    ]
    assert not bad, "\n".join(bad)


def test_private_name_pattern():
    assert _PRIVATE.search("from ncverify._profiles import x")
    assert _PRIVATE.search("ncverify.catalog.jswm._specs")
    assert not _PRIVATE.search("from ncverify.pytest_plugin import hypothesis_settings")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    n = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{module} has {n} lines (> {MAX_LINES}): split it"


def test_entry_points_point_at_the_new_places():
    """The installed console script and pytest11 plugin (pyproject.toml) load."""
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "ncverify"]
    assert script.value == "ncverify.cli:main" and callable(script.load())
    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "ncverify"]
    module = import_module(plugin.value)
    assert callable(module.pytest_addoption) and callable(module.pytest_configure)


def test_headline_names_and_parts_resolve():
    for name in ncverify.__all__:
        assert getattr(ncverify, name) is not None
    for part in (
        "spec",
        "metrics",
        "ufm",
        "nets",
        "train",
        "catalog",
        "strategies",
        "data",
        "pytest_plugin",
        "report",
        "cli",
    ):
        assert getattr(ncverify, part).__name__ == f"ncverify.{part}"


_MACHINE_PATH = re.compile(r"(?<![\w.])/(work|root|home|tmp|Users)/[\w.-]+")


def test_no_machine_paths_in_docs_benchmarks_and_reports():
    files = _user_facing_files() + [
        p
        for p in (ROOT / "reports").rglob("*")
        if p.is_file() and p.suffix in (".json", ".md", ".html", ".log")
    ]
    bad = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in files
        for m in _MACHINE_PATH.finditer(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not bad, "\n".join(bad[:20])
