"""The package's layers import one way: no circles, no module importing a higher layer.

Layers, lowest first: shared (errors, registry, metrics, naming, native_stderr, backends) ← config
← data, models ← engine ← execution; store ← shared only; report ← store and shared
only; cli (with arguments and __main__) on top. Read from the source with ``ast``, so it costs no imports.
"""

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "normexp"
SHARED = {"errors", "registry", "metrics", "naming", "native_stderr", "backends", "__init__"}
ALLOWED = {
    "shared": set(),
    "config": {"shared"},
    "data": {"config", "shared"},
    "models": {"config", "shared"},
    "engine": {"models", "data", "config", "shared"},
    "store": {"shared"},
    "execution": {"engine", "models", "data", "config", "store", "shared"},
    "report": {"store", "shared"},
    "cli": {"execution", "engine", "models", "data", "config", "store", "report", "shared"},
}


def module_name(path):
    return ".".join(("normexp", *path.relative_to(PACKAGE).with_suffix("").parts))


def layer(module):
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in SHARED:
        return "shared"
    return "cli" if parts[1] in ("cli", "arguments", "__main__") else parts[1]


def imports(path):
    """Every normexp module ``path`` imports, lazily or not (``from normexp import x``
    counts as importing ``normexp.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("normexp")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("normexp"):
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(target):
    """The module a dotted import target names (``normexp.config.study.load_study`` →
    ``normexp.config.study``)."""
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target if target in MODULES else None


@functools.cache
def graph():
    edges = {}
    for name, path in MODULES.items():
        targets = {resolve(target) for target in imports(path)} - {None, name}
        edges[name] = {target for target in targets if not name.startswith(target + ".")}
    return edges


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module):
    upward = [target for target in graph()[module]
              if layer(target) != layer(module) and layer(target) not in ALLOWED[layer(module)]]
    assert not upward, f"{module} ({layer(module)}) imports {upward}"


def test_no_import_circles():
    edges, state, circles = graph(), {}, []

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                circles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not circles


def test_the_checker_sees_an_upward_import(tmp_path):
    # A lower layer importing a higher one must be caught: the checker is not vacuous.
    fake = tmp_path / "fake.py"
    fake.write_text("from normexp.report import plots\n")
    targets = {resolve(target) for target in imports(fake)}
    assert "normexp.report.plots" in targets
    assert layer("normexp.report.plots") not in ALLOWED["models"]
