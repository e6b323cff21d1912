"""Adapters, discovered by subclass (as in einops' _backends.py).

A built-in backend is a class, in a module of this package, that declares itself with
``declaration = Declaration(...)`` (backends/base.py). The modules are found with pkgutil, so
adding a built-in backend is adding its module (and its divergence entries): nothing here, in the
engine or in the tests lists the backends. Importing an adapter module never imports its
framework; that happens inside its methods.
"""
from __future__ import annotations

import functools
import importlib
import pkgutil

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


def resolve(name: str) -> type[Backend]:
    """A built-in backend name, or ``package.module:ClassName`` for a third-party adapter."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        if not module_name.strip() or not attr.strip():
            raise UnknownBackend(f"{name!r} is not of the form package.module:ClassName")
        try:
            module = importlib.import_module(module_name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - whatever the import does, name the value
            raise UnknownBackend(f"cannot load adapter {name!r}: {_one_line(exc)}") from None
        try:
            cls = getattr(module, attr)
        except Exception as exc:  # noqa: BLE001 - a module __getattr__ may raise anything
            raise UnknownBackend(f"cannot load adapter {name!r}: {_one_line(exc)}") from None
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise UnknownBackend(f"{name!r} is not a subclass of backends.base.Backend")
        return cls
    known = builtin()
    if name not in known:
        raise UnknownBackend(f"unknown backend {name!r}; known: {', '.join(default_order())} "
                             "or package.module:ClassName")
    return known[name]
