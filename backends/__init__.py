"""Adapters, discovered by subclass (as in einops' _backends.py).

A built-in backend is a class, in a module of this package, that declares itself with
``declaration = Declaration(...)`` (backends/base.py). The modules are found with pkgutil, so
adding a built-in backend is adding its module (and its divergence entries): nothing here, in the
engine or in the tests lists the backends. Importing an adapter module never imports its
framework; that happens inside its methods.

A third-party adapter lives in a package of its own: ``--backend`` finds it by the name it
registers under the entry point group ``embedding_conformance.backends`` (read from the installed
packages' metadata, nothing imported), or as ``package.module:ClassName``. The test process never
imports it: a worker process loads the class (:func:`load_class`) and sends :func:`describe`'s plain
values, which conformance/running/adapters.py checks and resolves (names, clashes) from.
"""
from __future__ import annotations

import functools
import importlib
import importlib.metadata
import pkgutil
import sys
from collections.abc import Mapping
from pathlib import Path

from .base import Backend, Declaration, Unsupported  # noqa: F401


class UnknownBackend(LookupError):
    pass


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@functools.cache
def _discover() -> tuple[type[Backend], ...]:
    """The declared adapter classes of this package's modules (private modules aside), in the
    default order: by ``declaration.order``, then by name."""
    for module in pkgutil.iter_modules(__path__, f"{__name__}."):
        if not module.name.rpartition(".")[2].startswith("_"):
            importlib.import_module(module.name)
    found: dict[str, type[Backend]] = {}
    for cls in _subclasses(Backend):
        declared = cls.__dict__.get("declaration")
        if declared is None or not cls.__module__.startswith(f"{__name__}."):
            continue
        other = found.setdefault(declared.name, cls)
        if other is not cls:
            raise ValueError(f"two built-in backends are named {declared.name!r}: "
                             f"{other.__module__}.{other.__qualname__} and {cls.__module__}.{cls.__qualname__}")
    return tuple(sorted(found.values(), key=lambda cls: (cls.declaration.order, cls.declaration.name)))


def builtin() -> dict[str, type[Backend]]:
    """Name -> adapter class of every built-in backend, in the default order."""
    return {cls.declaration.name: cls for cls in _discover()}


def catalogue() -> tuple[Declaration, ...]:
    """The declarations of the built-in backends, in the default order."""
    return tuple(cls.declaration for cls in _discover())


def document_frameworks() -> frozenset[str]:
    """The frameworks the document describes (Keras): those of the built-in declarations that say
    ``describes_document``. Only their divergences make a statement an erratum of the tutorial."""
    return frozenset(d.framework for d in catalogue() if d.describes_document)


def default_order() -> tuple[str, ...]:
    """The built-in backends' names in the order a run (and a report) takes them."""
    return tuple(d.name for d in catalogue())


def __getattr__(name):
    if name == "DEFAULT_ORDER":  # read when first asked for: discovery imports every adapter module
        return default_order()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


ENTRY_POINT_GROUP = "embedding_conformance.backends"


def declared_name(cls: type[Backend]) -> str | None:
    """The name ``cls`` itself declares (its ``declaration``, or a ``name`` class attribute of its
    own), None when it only inherits one (a subclass of the reference keeps ``module:Class``)."""
    own = cls.__dict__.get("declaration")
    if own is not None:
        return own.name
    name = cls.__dict__.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def where(cls: type[Backend]) -> str:
    """``module:Class`` of ``cls``: where its code is, whatever name it was asked for by."""
    return f"{cls.__module__}:{cls.__qualname__}"


@functools.cache
def _registered() -> dict[str, tuple[tuple[str, str], ...]]:
    """Name -> the distinct ``(module:Class, package)`` registered under it in the entry point group."""
    found: dict[str, dict[str, str]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep.dist, "name", None) or "an unknown package"
        found.setdefault(ep.name, {}).setdefault(ep.value, dist)
    return {name: tuple(values.items()) for name, values in found.items()}


def entry_points() -> dict[str, str]:
    """Name -> ``module:Class`` of every adapter registered under the entry point group, read
    from the installed packages' metadata without importing any adapter (a name two packages
    claim: the first; :func:`claims` refuses it, naming both)."""
    return {name: values[0][0] for name, values in _registered().items()}


def claims(name: str) -> str | None:
    """The one ``module:Class`` registered as ``name``; UnknownBackend if two packages claim it."""
    values = _registered().get(name, ())
    if len(values) > 1:
        (first, first_dist), (other, other_dist) = values[:2]
        raise UnknownBackend(f"two adapters claim the backend name {name!r} (entry point group "
                             f"{ENTRY_POINT_GROUP}): {first} (package {first_dist}) and {other} "
                             f"(package {other_dist})")
    return values[0][0] if values else None


def check_form(spec: str) -> tuple[str, str, str]:
    """``spec`` split as ``package.module``, ``:``, ``ClassName``; UnknownBackend if it is not of that form."""
    module_name, sep, attr = spec.partition(":")
    if not module_name.strip() or not attr.strip():
        raise UnknownBackend(f"{spec!r} is not of the form package.module:ClassName")
    return module_name, sep, attr


def load_class(spec: str) -> type[Backend]:
    """The adapter class ``package.module:ClassName`` names, or the built-in of that name."""
    if ":" not in spec:
        known = builtin()
        if spec not in known:
            raise UnknownBackend(f"unknown built-in backend {spec!r}")
        return known[spec]
    module_name, _, attr = check_form(spec)
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - whatever the import does, name the value
        raise UnknownBackend(f"cannot load adapter {spec!r}: {_one_line(exc)}") from None
    try:
        cls = getattr(module, attr)
    except Exception as exc:  # noqa: BLE001 - a module __getattr__ may raise anything
        raise UnknownBackend(f"cannot load adapter {spec!r}: {_one_line(exc)}") from None
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise UnknownBackend(f"{spec!r} is not a subclass of backends.base.Backend")
    return cls


def describe(cls: type[Backend]) -> dict:
    """What the test process needs of adapter class ``cls``, as plain values (the worker that
    loaded it sends them; conformance/running/adapters.py checks every one). Values are sent as the
    class holds them (a ``requires`` given as a string stays one, to be refused by name); anything
    that is not a plain value is sent as its repr, so the message still crosses the channel."""
    declared = getattr(cls, "declaration", None)
    own = cls.__dict__.get("declaration")
    relative = getattr(declared, "divergences", "") if declared is not None else ""
    module = sys.modules.get(cls.__module__)
    folder = Path(getattr(module, "__file__", None) or ".").resolve().parent
    cache = getattr(cls, "compile_cache", None)
    return {
        "where": where(cls),
        "name": _plain(declared_name(cls)),
        "framework": _plain(getattr(cls, "framework", "")),
        "display": _plain(getattr(declared, "display", "")),
        "requires": _plain(getattr(cls, "requires", ())),
        "env": _plain(getattr(cls, "env", {})),
        "env_defaults": _plain(getattr(cls, "env_defaults", {})),
        "order": _plain(own.order) if own is not None else None,
        "seconds_per_item": _plain(own.seconds_per_item) if own is not None else None,
        "describes_document": _plain(getattr(declared, "describes_document", False)),
        "compile_cache": None if cache is None else _plain({
            "folder_env": cache.folder_env, "distributions": cache.distributions, "key_env": cache.key_env,
            "settings": cache.settings, "settings_with": cache.settings_with}),
        "divergences": _plain(relative),
        # the registry file it ships, relative to its module's folder, resolved here
        "registry": str(folder / relative) if isinstance(relative, str) and relative else None,
        "folder": str(folder) if isinstance(relative, str) and relative else None,
        "drawn_limit": _plain(getattr(cls, "drawn_limit", "")),
        "drawn_inputs_only": _plain(getattr(cls, "drawn_inputs_only", False)),
    }


PLAIN = (str, int, float, bool, type(None))


def _plain(value):
    """``value`` as plain values: mappings as dicts, tuples and lists as they are, the rest of
    what is not plain as its repr."""
    if type(value) in PLAIN:
        return value
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value) if type(value) in (tuple, list) else repr(value)
    return repr(value)
