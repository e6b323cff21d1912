"""The adapters a run uses, and all the test process knows of them: plain values.

``--backend`` values become :class:`Adapter` records here: a built-in name, then a name registered
under the entry point group ``embedding_conformance.backends``, then ``package.module:ClassName``.
The name an adapter declares is its identity everywhere (item ids, records, report columns, badges,
registry files); two adapters claiming one name stop the run, naming both.

**The test process never imports a third party's adapter code**: a module's import could replace
the judge itself (an adapter answering zeros everywhere once got 57 "conform", issue 20). The
built-in adapters (the package ``backends``, discovered by pkgutil) are the project's own code and
are described in this process; every other class (an entry point's, a ``module:Class``) is loaded
in a worker process of its own (worker.resolve, one for all of a run's values), which sends what
the class declares (backends.describe) as plain values; :func:`checked` refuses any field of the
wrong type, naming the adapter. Entry points are read from the installed packages' metadata, which
imports nothing. Each backend's worker sends the same values again at its handshake, and one whose
class declares anything else is refused (worker.Worker.declared); a module required by a dotted
name is looked for without importing its packages (:func:`installed`).

Registries that come with a run, the one a third-party adapter ships (``Declaration(divergences=
"divergences.yaml")``, beside its module: the worker resolves the path) and those given with
``--divergences PATH``, are loaded with the suite's own (conformance/language/registry.py: same
format, same file:line errors, same pins); a shipped registry registers its own adapter only, and
an entry of either for a clause that does not exist is an error naming the file.
"""
from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import backends
from backends.base import CompileCache
from conformance.language import registry
from conformance.language.spec import SpecError, _rel
from conformance.running import worker

# where a third party's divergence goes when its adapter ships no registry yet
NO_REGISTRY_YET = ("a registry file of your adapter's package (Declaration(..., divergences=\"divergences.yaml\"), "
                   "its path relative to the adapter's module; docs/DIVERGENCES.md has the format), or a "
                   "file given with --divergences PATH,")
RESOLVE_TIMEOUT = 600.0  # the resolving worker imports adapter modules only, never a framework


class BadAdapter(ValueError):
    """An adapter's declaration the test process cannot use; the message starts with its name."""


@dataclass(frozen=True)
class Adapter:
    """A backend of this run, as plain values (the attribute names are the adapter class's, so
    compile_cache.py reads either)."""

    name: str                     # the identity: --backend NAME, item ids, records, report column
    locator: str                  # what its worker loads: a built-in's name, else module:Class
    where: str                    # module:Class of the class: two values naming one class run once
    builtin: bool
    framework: str
    display: str
    requires: tuple[str, ...]
    env: dict
    env_defaults: dict
    order: int | None             # its own declaration's, None without one
    seconds_per_item: float | None
    describes_document: bool
    compile_cache: CompileCache | None
    divergences: str              # the registry file it ships, as declared (relative to its module)
    registry: Path | None         # that file, resolved by the worker that loaded the class
    declared: dict = field(repr=False)  # what arrived (backends.describe): each worker's handshake must match
    # why it refuses some drawn examples (backends/base.py), as the class holds it: the session
    # refuses a value that is not a str on every item of the backend, naming it
    drawn_limit: object = ""
    # its drawn examples keep one model per clause and vary the inputs only (backends/base.py)
    drawn_inputs_only: bool = False


FIELDS = frozenset({"where", "name", "framework", "display", "requires", "env", "env_defaults", "order",
                    "seconds_per_item", "describes_document", "compile_cache", "divergences", "registry",
                    "folder", "drawn_limit", "drawn_inputs_only"})


def _str_map(value, what: str) -> dict:
    if type(value) is not dict or not all(type(k) is str and type(v) is str for k, v in value.items()):
        raise BadAdapter(f"{what} must map names to strings, not {value!r}")
    return dict(value)


def _names(value, what: str, example: str) -> tuple[str, ...]:
    if type(value) not in (tuple, list) or not all(type(m) is str and m for m in value):
        raise BadAdapter(f"{what} must be a tuple of {example}, not {value!r}")
    return tuple(value)


def _cache(value, who: str) -> CompileCache | None:
    if value is None:
        return None
    what = f"{who}: 'compile_cache'"
    if type(value) is not dict or set(value) != {"folder_env", "distributions", "key_env", "settings", "settings_with"}:
        raise BadAdapter(f"{what} is not a CompileCache: {value!r}")
    if type(value["folder_env"]) is not str or type(value["settings_with"]) is not dict:
        raise BadAdapter(f"{what} is not a CompileCache: {value!r}")
    try:
        return CompileCache(
            value["folder_env"], _names(value["distributions"], f"{what} distributions", "distribution names"),
            _names(value["key_env"] or (), f"{what} key_env", "variable names"),
            _str_map(value["settings"], f"{what} settings"),
            {_names((m,), f"{what} settings_with", "module names")[0]: _str_map(v, f"{what} settings_with")
             for m, v in value["settings_with"].items()})
    except ValueError as exc:
        raise BadAdapter(f"{what}: {exc}") from None


def checked(locator: str, identity: str, d: dict, builtin: bool = False) -> Adapter:
    """The :class:`Adapter` that description ``d`` (backends.describe, from the worker that loaded
    ``locator``) makes, every field checked; BadAdapter naming ``identity`` otherwise."""
    if set(d) != FIELDS:
        raise BadAdapter(f"{identity}: its worker described it with the fields {sorted(map(str, d))}, "
                         f"not {sorted(FIELDS)}")
    for key in ("where", "framework", "display", "divergences"):
        if type(d[key]) is not str:
            raise BadAdapter(f"{identity}: {key!r} must be a string, not {d[key]!r}")
    if ":" not in d["where"]:
        raise BadAdapter(f"{identity}: its class is not at a module:Class ({d['where']!r})")
    if d["name"] is not None and (type(d["name"]) is not str or not d["name"].strip()):
        raise BadAdapter(f"{identity}: the name it declares must be a non-empty string, not {d['name']!r}")
    requires = _names(d["requires"], f"{identity}: 'requires'", "module names, e.g. ('numpy',)")
    if d["order"] is not None and type(d["order"]) is not int:
        raise BadAdapter(f"{identity}: 'order' must be an integer, not {d['order']!r}")
    cost = d["seconds_per_item"]
    if cost is not None and not (type(cost) in (int, float) and math.isfinite(cost) and cost > 0):
        raise BadAdapter(f"{identity}: 'seconds_per_item' must be a number of seconds above 0, not {cost!r}")
    if type(d["describes_document"]) is not bool:
        raise BadAdapter(f"{identity}: 'describes_document' must be True or False, not {d['describes_document']!r}")
    if type(d["drawn_inputs_only"]) is not bool:
        raise BadAdapter(f"{identity}: 'drawn_inputs_only' must be True or False, not {d['drawn_inputs_only']!r}")
    path = None
    if d["divergences"] and not builtin:
        if type(d["registry"]) is not str or not Path(d["registry"]).is_absolute() or type(d["folder"]) is not str:
            raise BadAdapter(f"{identity}: its worker gave no absolute path for divergences={d['divergences']!r} "
                             f"({d['registry']!r})")
        path = Path(d["registry"]).resolve()
    return Adapter(identity, locator, d["where"], builtin, d["framework"], d["display"], requires,
                   _str_map(d["env"], f"{identity}: 'env'"), _str_map(d["env_defaults"], f"{identity}: 'env_defaults'"),
                   d["order"], cost, d["describes_document"], _cache(d["compile_cache"], identity),
                   d["divergences"], path, d, drawn_limit=d["drawn_limit"],
                   drawn_inputs_only=d["drawn_inputs_only"])


@functools.cache
def builtins() -> dict[str, Adapter]:
    """Name -> Adapter of every built-in backend, in the default order (described in this process:
    the project's own code)."""
    return {name: checked(name, name, backends.describe(cls), builtin=True)
            for name, cls in backends.builtin().items()}


def choose(values, timeout: float = RESOLVE_TIMEOUT) -> dict[str, Adapter]:
    """Identity -> Adapter for the ``--backend`` values, in their order. The same adapter named
    twice (by its name and by module:Class) runs once; two adapters of one name are an
    UnknownBackend naming both; a declaration of the wrong types is a BadAdapter."""
    known = builtins()
    by_where = {a.where: a for a in known.values()}
    plan: list[tuple[str, Adapter | str]] = []  # value -> its built-in, or the module:Class to load
    for value in dict.fromkeys(values):
        if ":" in value:
            backends.check_form(value)
            plan.append((value, by_where.get(value, value)))
            continue
        claimed = backends.claims(value)
        if value in known and claimed is not None:
            raise backends.UnknownBackend(f"two adapters claim the backend name {value!r}: the built-in "
                                          f"{known[value].where} and {claimed} (entry point group "
                                          f"{backends.ENTRY_POINT_GROUP})")
        if value in known:
            plan.append((value, known[value]))
        elif claimed is None:
            listed = ", ".join([*known, *sorted(backends.entry_points())])
            raise backends.UnknownBackend(f"unknown backend {value!r}; known: {listed} or package.module:ClassName")
        else:
            plan.append((value, claimed))
    described = _described([x for _, x in plan if isinstance(x, str)], timeout)
    chosen: dict[str, tuple[str, Adapter]] = {}
    for value, x in plan:
        adapter = x if isinstance(x, Adapter) else _third_party(value, x, described[x], by_where)
        first = chosen.setdefault(adapter.name, (value, adapter))
        if first[1].where != adapter.where:
            raise backends.UnknownBackend(
                f"two adapters claim the backend name {adapter.name!r}: {first[0]} ({first[1].locator}) "
                f"and {value} ({adapter.locator})")
    return {name: adapter for name, (_, adapter) in chosen.items()}


def _described(locators: list[str], timeout: float) -> dict:
    """module:Class -> ("ok", description) or ("error", line), from one resolving worker."""
    locators = list(dict.fromkeys(locators))
    if not locators:
        return {}
    try:
        return dict(zip(locators, worker.resolve(locators, timeout)))
    except (worker.WorkerDied, OSError) as exc:
        raise backends.UnknownBackend(f"cannot load adapter {', '.join(map(repr, locators))}: "
                                      f"{str(exc).splitlines()[-1]}") from None


def _third_party(value: str, locator: str, answer: tuple, by_where: dict) -> Adapter:
    kind, d = answer
    if kind == "error":
        raise backends.UnknownBackend(d)
    name = d.get("name")
    if ":" not in value:  # an entry point's name
        if name != value and name is not None:
            raise backends.UnknownBackend(f"the entry point {value!r} loads {locator}, which declares the name "
                                          f"{name!r}: give the entry point the adapter's name")
        return checked(locator, value, d)
    if type(d.get("where")) is str and d["where"] in by_where:  # a built-in, named by another path (backends:Reference)
        return by_where[d["where"]]
    identity = name if type(name) is str and name.strip() else value
    adapter = checked(locator, identity, d)
    if name is None:
        return adapter
    known = builtins()
    if name in known:
        raise backends.UnknownBackend(f"two adapters claim the backend name {name!r}: the built-in "
                                      f"{known[name].where} and {value}")
    claimed = backends.claims(name)
    if claimed is not None and claimed != adapter.where:
        raise backends.UnknownBackend(f"two adapters claim the backend name {name!r}: {claimed} "
                                      f"(entry point group {backends.ENTRY_POINT_GROUP}) and {value}")
    return adapter


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing anything: importlib.util.find_spec
    imports the packages of a dotted name, which would run an adapter package's code here."""
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts):
        return False
    if module in sys.modules:
        return True
    try:
        spec = importlib.util.find_spec(parts[0])
        for n in range(2, len(parts) + 1):
            if spec is None or spec.submodule_search_locations is None:
                return False
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:n]), list(spec.submodule_search_locations))
    except (ImportError, ValueError):
        return False
    return spec is not None


def missing(adapter: Adapter) -> list[str]:
    """The modules ``adapter`` requires that are not installed."""
    return [m for m in adapter.requires if not installed(m)]


def shipped_registry(adapter: Adapter) -> Path | None:
    """The registry file the adapter's declaration ships (``divergences``), None without one.
    A declared file that does not exist is a SpecError naming the adapter."""
    if adapter.registry is None:
        return None
    if not adapter.registry.is_file():
        raise SpecError(adapter.registry, f"no such file: the adapter {adapter.name!r} ({adapter.locator}) declares "
                                          f"divergences={adapter.divergences!r}, relative to "
                                          f"{_rel(Path(adapter.declared['folder']))}")
    return adapter.registry


def registry_files(chosen: dict[str, Adapter], given=()) -> dict[Path, str | None]:
    """Every registry file that comes with this run -> the adapter that ships it (None: given with
    ``--divergences``). A given file that does not exist is a SpecError naming it."""
    files: dict[Path, str | None] = {}
    for name, adapter in chosen.items():
        path = shipped_registry(adapter)
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


def home(adapter: Adapter, directory: Path, entries: dict, files: dict[Path, str | None]) -> str:
    """Where a new divergence of ``adapter`` is registered, as the failure footer says it: a
    built-in's file in the suite's registry; a third party's shipped registry, or the file that
    already registers it (--divergences, or --spec-dir's registry); else how to ship one."""
    if adapter.builtin:
        return registry.home(adapter.name, directory)
    for path, owner in files.items():
        if owner == adapter.name:
            return f"{path} (the registry your adapter ships)"
    for entry in entries.values():
        if entry.backend == adapter.name:
            return _rel(entry.path)
    return NO_REGISTRY_YET
