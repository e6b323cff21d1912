"""The adapters a run uses, and all the test process needs of them.

``--backend`` values become adapters here: a built-in name, then a name registered under the entry
point group ``embedding_conformance.backends``, then ``package.module:ClassName``
(backends.resolve_named). The name an adapter declares is its identity everywhere (item ids,
records, report columns, badges, registry files); two adapters claiming one name stop the run,
naming both. The test process keeps of an adapter its class (for ``requires``, ``env`` and
``framework``) and the registry file it ships; its worker imports it again by
``backends.locator``, so moving resolution into the worker changes this module only.

Registries that come with a run, the one a third-party adapter ships (``Declaration(divergences=
"divergences.yaml")``, beside its module) and those given with ``--divergences PATH``, are loaded
with the suite's own (conformance/language/registry.py: same format, same file:line errors, same
pins); a shipped registry registers its own adapter only, and an entry of either for a clause that
does not exist is an error naming the file.
"""
from __future__ import annotations

import sys
from pathlib import Path

import backends
from backends.base import Backend
from conformance.language import registry
from conformance.language.spec import SpecError, _rel

# where a third party's divergence goes when its adapter ships no registry yet
NO_REGISTRY_YET = ("a registry file of your adapter's package (Declaration(..., divergences=\"divergences.yaml\"), "
                   "its path relative to the adapter's module; docs/DIVERGENCES.md has the format), or a "
                   "file given with --divergences PATH,")


def choose(values) -> dict[str, type[Backend]]:
    """Identity -> adapter class for the ``--backend`` values, in their order. The same adapter
    named twice (by its name and by module:Class) runs once; two adapters of one name are an
    UnknownBackend naming both."""
    chosen: dict[str, tuple[str, type[Backend]]] = {}
    for value in dict.fromkeys(values):
        name, cls = backends.resolve_named(value)
        first = chosen.setdefault(name, (value, cls))
        if first[1] is not cls:
            raise backends.UnknownBackend(
                f"two adapters claim the backend name {name!r}: {first[0]} ({backends.locator(first[1])}) "
                f"and {value} ({backends.locator(cls)})")
    return {name: cls for name, (_, cls) in chosen.items()}


def shipped_registry(name: str, cls: type[Backend]) -> Path | None:
    """The registry file the adapter's declaration ships (``divergences``), None without one.
    A declared file that does not exist is a SpecError naming the adapter."""
    declared = getattr(cls, "declaration", None)
    relative = getattr(declared, "divergences", "") if declared is not None else ""
    if not relative or backends.builtin().get(name) is cls:
        return None
    module = sys.modules.get(cls.__module__)
    folder = Path(getattr(module, "__file__", None) or ".").resolve().parent
    path = folder / relative
    if not path.is_file():
        raise SpecError(path, f"no such file: the adapter {name!r} ({backends.locator(cls)}) declares "
                              f"divergences={relative!r}, relative to {_rel(folder)}")
    return path


def registry_files(chosen: dict[str, type[Backend]], given=()) -> dict[Path, str | None]:
    """Every registry file that comes with this run -> the adapter that ships it (None: given with
    ``--divergences``). A given file that does not exist is a SpecError naming it."""
    files: dict[Path, str | None] = {}
    for name, cls in chosen.items():
        path = shipped_registry(name, cls)
        if path is not None:
            files[path] = name
    for text in given:
        path = Path(text).resolve()
        if not path.is_file():
            raise SpecError(path, "--divergences: no such file")
        files.setdefault(path, None)
    return files


def load_registry(directory: Path, files: dict[Path, str | None]) -> dict:
    """The suite's registry (``directory``) and the run's ``files``, as registry.load gives them;
    a shipped file that registers another backend than its adapter is a RegistryError."""
    entries = registry.load(directory, files)
    for entry in entries.values():
        owner = files.get(Path(entry.path).resolve())
        if owner is not None and entry.backend != owner:
            raise registry.RegistryError(entry.path, f"this registry ships with the adapter {owner!r}, so its "
                                                     f"entries are for {owner!r}, not {entry.backend!r}",
                                         entry.clause, entry.line)
    return entries


def home(name: str, cls: type[Backend], directory: Path, entries: dict, files: dict[Path, str | None]) -> str:
    """Where a new divergence of backend ``name`` is registered, as the failure footer says it: a
    built-in's file in the suite's registry; a third party's shipped registry, or the file that
    already registers it (--divergences, or --spec-dir's registry); else how to ship one."""
    if backends.builtin().get(name) is cls:
        return registry.home(name, directory)
    for path, owner in files.items():
        if owner == name:
            return f"{path} (the registry your adapter ships)"
    for entry in entries.values():
        if entry.backend == name:
            return _rel(entry.path)
    return NO_REGISTRY_YET
