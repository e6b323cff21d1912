"""Adapters, discovered by subclass (as in einops' _backends.py).

Importing an adapter module never imports its framework; that happens inside its methods.
"""
from __future__ import annotations

import importlib

from .base import Backend, Unsupported  # noqa: F401

BUILTIN_MODULES = ("reference", "keras3", "tf_keras", "pytorch")
DEFAULT_ORDER = ("reference", "keras-tensorflow", "keras-jax", "keras-torch", "tf-keras", "torch")


class UnknownBackend(LookupError):
    pass


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def builtin() -> dict[str, type[Backend]]:
    for module in BUILTIN_MODULES:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{module}":
                raise
    return {cls.name: cls for cls in _subclasses(Backend) if cls.name and cls.__module__.startswith(__name__)}


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
        raise UnknownBackend(f"unknown backend {name!r}; known: {', '.join(DEFAULT_ORDER)} "
                             "or package.module:ClassName")
    return known[name]
