"""Drawn examples kept across runs, in the run's cache folder (``--compile-cache``: on by default,
``off``, ``clear`` or a folder).

Drawing every clause's examples with Hypothesis is most of the test process's own work in a run
that reads its compiled programs from the cache: 2.5 s of CPU for the whole spec under ci, again in
every run (about 25 full runs in ``make test``). The examples are a pure function of the clause,
the profile, the seed and the code that draws them, so a run keeps each clause's examples (one
pickle per clause and kind of draws, through :func:`shared_draws.get_or_make`, which the xdist
workers of one run share too) in ``<root>/draws/<key>/``, and the next run with the same key
reads them instead (milliseconds).

The key is a digest of everything the examples depend on: the spec files of the run's
``--spec-dir`` (the clauses and the models they name), every module of the engine and of the
built-in backends (``conformance/``, ``backends/``: the drawing code, the reference's seeded
weights), and the Python, NumPy and Hypothesis versions. Another spec, another line of code or
another release is another folder, which never reads this one's entries; the
:data:`KEPT_KEYS` most recently used folders are kept. Only a profile's own seed is kept (ci's 0):
a random seed (thorough, or ``--hypothesis-seed``) draws anew. The cases made from the examples
(seeded weights and all) are made again in each run: as a pickle they would take 240 MB. The
records are the same with the cache and without (tests/test_draw_cache.py).
"""
from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

from conformance.running import cache_folders, shared_draws

FOLDER = "draws"
KEPT_KEYS = 10  # a run with a spec folder of its own (a test's) makes another
PACKAGES = ("conformance", "backends")  # the engine and the built-in backends, beside each other
_CODE: list[str] = []


def _code_digest() -> str:
    """A digest of every module of the engine and the built-in backends (once per process)."""
    if not _CODE:
        top = Path(__file__).resolve().parents[2]
        paths = [path for package in PACKAGES for path in sorted((top / package).rglob("*.py"))]
        _CODE.append(cache_folders.digest_files(paths, top))
    return _CODE[0]


def key(spec_dir: Path) -> str:
    """The digest naming the folder of examples drawn from these spec files by this code."""
    import hypothesis
    import numpy

    h = hashlib.sha256(_code_digest().encode())
    h.update(f"{sys.version}|numpy {numpy.__version__}|hypothesis {hypothesis.__version__}".encode())
    h.update(cache_folders.digest_files(sorted(Path(spec_dir).glob("*.yaml")), Path(spec_dir)).encode())
    return h.hexdigest()[:24]


def folder(root: Path | None, spec_dir: Path, run) -> Path | None:
    """This run's folder of kept examples (made, and marked as just used), or None: the cache is
    off, or the run's seed is not its profile's own (a random one is never drawn again)."""
    if root is None or run.profile.seed is None or run.seed != run.profile.seed:
        return None
    try:
        return cache_folders.used_folder(Path(root) / FOLDER, key(spec_dir), KEPT_KEYS)
    except OSError:
        return None  # a cache that cannot be written costs time, never a result


def get_or_make(path: Path, clause_id: str, run, kind: str, make) -> list:
    """The clause's examples of ``kind`` kept in ``path``, else ``make()``'s, kept there. A folder
    that cannot be written (or that another run tidied away meanwhile) costs a draw, never a result."""
    try:
        return shared_draws.get_or_make(str(path), clause_id, run.draws, run.seed, make, kind=kind)
    except OSError:
        return make()


def clear(root: Path | None) -> Path | None:
    """Remove every kept example under ``root`` (``--compile-cache clear``); the folder removed."""
    path = Path(root) / FOLDER if root is not None else None
    if path is not None and path.is_dir():
        shutil.rmtree(path)
        return path
    return None
