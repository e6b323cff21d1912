"""The engine's shape: no import cycles, layers that only look down, a docstring on every module.

The flow is spec -> case -> worker -> observation -> judgement -> record -> report, and the
packages follow it: ``conformance.language`` (what a spec says) is imported by every later stage
and imports none of them; ``judging`` never imports ``running``; nothing below the plugin imports
the plugin. Imports inside functions count too: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("conformance", "backends")

# layer -> the layers it may import (besides itself); modules outside a layer are unconstrained
LAYERS = {
    "conformance.language": set(),
    "conformance.judging": {"conformance.language"},
    "conformance.running": {"conformance.language", "conformance.judging"},
    "conformance.report": {"conformance.language", "conformance.judging"},
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_package(name: str, found) -> bool:
    return found.get(name, Path()).name == "__init__.py"


def imports(name: str, path: Path, found) -> set[str]:
    """Project modules ``name`` imports, anywhere in its body."""
    package = name if _is_package(name, found) else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            # the deepest project module the name denotes
            while target and target not in found:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, found) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _parent_packages(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_module_imports_one_that_imports_it_back():
    edges = graph()
    # a package's __init__ is imported whenever one of its modules is: not a dependency edge back
    edges = {v: {w for w in ws if w not in _parent_packages(v)} for v, ws in edges.items()}
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def _layer(name: str) -> str | None:
    return next((layer for layer in LAYERS if name == layer or name.startswith(layer + ".")), None)


def test_each_layer_imports_only_the_layers_before_it():
    wrong = []
    for name, targets in graph().items():
        layer = _layer(name)
        if layer is None:
            continue
        for target in targets:
            other = _layer(target) or (target if target.startswith("conformance") else None)
            if other and other not in (layer, "conformance") and other not in LAYERS[layer]:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_every_module_says_what_it_holds():
    missing = [str(path.relative_to(ROOT)) for name, path in modules().items()
               if not ast.get_docstring(ast.parse(path.read_text()))]
    assert missing == []


def test_contributing_names_every_module_of_the_engine_and_the_adapters():
    """CONTRIBUTING.md's "How it is built" tree is where a newcomer learns the layout: a module it
    does not name is a module nobody is told about."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    tree = text[text.index("## How it is built"):text.index("## A clause")]
    missing = [str(path.relative_to(ROOT)) for name, path in modules().items()
               if path.name != "__init__.py" and path.name not in tree]
    assert missing == [], "add these to CONTRIBUTING.md's tree"


def test_every_package_of_the_engine_is_installed():
    """pyproject.toml lists the packages a wheel holds; a subpackage missing there imports in the
    source tree and fails only once installed (tests/test_install.py, slow, would see it later)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert packages - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
