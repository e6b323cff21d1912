"""The run's folder for the frameworks' caches of compiled programs (``--compile-cache``).

A backend whose framework can keep what it compiled on disk declares how (backends/base.py,
``CompileCache``): Keras on JAX, through JAX's persistent compilation cache of XLA executables.
Keras on TensorFlow runs without XLA on a CPU (Keras' ``jit_compile="auto"``), and PyTorch and
Keras on PyTorch run eagerly: they compile nothing a cache could keep.

Each such backend's worker gets a folder of its own, ``ROOT/<backend>/<key>``, where the key
names the installed version of every distribution the declaration lists and a hash of the
declared variables of the worker's environment (XLA_FLAGS): another release, or other compiler
flags, gets another folder and never finds this one's executables. ROOT is ``.cache/compile``
in a source tree (ignored by git), else the user's cache folder.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from conformance.running import adapters
from conformance.running.worker import ROOT, SOURCE_TREE

CHOICES = "on, off, clear or a folder"


def default_root() -> Path:
    if SOURCE_TREE:
        return Path(ROOT) / ".cache" / "compile"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "embedding-conformance" / "compile"


@dataclass(frozen=True)
class Setting:
    """What --compile-cache asked for: a root folder (None: off), cleared first or not."""

    root: Path | None
    clear: bool = False

    @classmethod
    def parse(cls, text: str) -> "Setting":
        if text == "off":
            return cls(None)
        if text in ("on", "clear"):
            return cls(default_root(), clear=text == "clear")
        if not text.strip():
            raise ValueError(f"--compile-cache: {text!r} is neither {CHOICES}")
        return cls(Path(text).expanduser().resolve())


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def key(cache, environ: dict) -> str:
    """The folder name for these installed versions and this environment, e.g.
    ``keras-3.15.1_jax-0.10.2_jaxlib-0.10.2_env-1a2b3c4d5e6f``."""
    versions = "_".join(f"{d}-{re.sub(r'[^A-Za-z0-9.+-]', '-', _version(d))}" for d in cache.distributions)
    env = "\0".join(f"{name}={environ.get(name, '')}" for name in cache.key_env)
    return f"{versions}_env-{hashlib.sha256(env.encode()).hexdigest()[:12]}"


def worker_environ(cls, env_defaults: dict | None = None) -> dict:
    """The environment a backend's worker will have, as far as the cache key needs it: the
    caller's, the adapter's env over it, its env_defaults under it (worker.Worker._start)."""
    return {**(env_defaults if env_defaults is not None else getattr(cls, "env_defaults", {})),
            **os.environ, **getattr(cls, "env", {})}


def folder(cls, root: Path | None, environ: dict | None = None) -> Path | None:
    """The cache folder of backend class ``cls`` under ``root``; None if it has none or it is off."""
    cache = getattr(cls, "compile_cache", None)
    if cache is None or root is None:
        return None
    return root / cls.name / key(cache, worker_environ(cls) if environ is None else environ)


def env(cls, root: Path | None, env_defaults: dict | None = None) -> dict:
    """The variables that switch the framework's cache on in the worker, in its folder
    (``env_defaults``: those the worker gets, when not the adapter's own)."""
    path = folder(cls, root, worker_environ(cls, env_defaults))
    if path is None:
        return {}
    cache = cls.compile_cache
    path.mkdir(parents=True, exist_ok=True)
    values = {cache.folder_env: str(path), **cache.settings}
    for module, more in cache.settings_with.items():
        if adapters.installed(module):  # looked for without importing a package of an adapter's naming
            values.update(more)
    return values


def clear(root: Path, classes) -> list[Path]:
    """Remove the cache folders of these backend classes under ``root`` (never ``root`` itself,
    which may be a folder the caller named); returns those removed."""
    removed = []
    for cls in classes:
        if getattr(cls, "compile_cache", None) is not None and (root / cls.name).is_dir():
            shutil.rmtree(root / cls.name)
            removed.append(root / cls.name)
    return removed


def describe(path: Path) -> str:
    """``N files, S MB`` of a cache folder (what a run starts from: 0 files is a cold cache)."""
    files = [f for f in path.rglob("*") if f.is_file() and not f.name.startswith(".")] if path.is_dir() else []
    return f"{len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB"
