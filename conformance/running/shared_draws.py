"""Under xdist (``-n N``), each clause's drawn examples and the reference's observations of them are
computed once per run, by the first xdist worker that needs them, and read by the others.

Every xdist worker is a pytest process of its own, with its own Session: without this each one drew
every clause's examples with Hypothesis and ran the reference on every one of them again (each xdist
worker runs some backends of every clause). The controller makes one folder per run and hands it
to its workers (plugin.py, ``workerinput``); a clause's entry is a pickle of (the drawn examples,
their cases, the reference's reply to the document's case and to each drawn case), written by the
worker holding the clause's lock (``filelock``) and read by the others. Drawing is deterministic
for a run's profile and seed, and the reference is a pure function of a case, so an entry is what
every worker would have computed itself: the records are a serial run's. The folder is the run's
own (the controller removes it at the end), so no entry outlives the code that wrote it.

A serial run does not use it: there one process draws each clause once already. The drawn
examples kept across runs (draw_cache.py) go through :func:`get_or_make` too, in a folder named
by a digest of the specs, the code and the releases instead of the run.
"""
from __future__ import annotations

import os
import pickle
import re
import tempfile
from pathlib import Path

from filelock import FileLock


def new_folder() -> str:
    """A fresh folder for one run's entries (the controller's)."""
    return tempfile.mkdtemp(prefix="conformance-draws-")


def _path(folder: str, clause_id: str, profile: str, seed: int, kind: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", clause_id)
    return Path(folder) / f"{safe}.{profile}.{seed}.{re.sub(r'[^A-Za-z0-9]', '_', kind)}.pickle"


def get_or_make(folder: str, clause_id: str, profile: str, seed: int, make, kind: str = "models"):
    """The entry of ``clause_id`` for this profile, seed and kind of draws (properties.py: models,
    or inputs only for the backends that declare it): read if another worker wrote it, else
    ``make()``'s value, written for the others (atomically, under the clause's lock)."""
    path = _path(folder, clause_id, profile, seed, kind)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            try:
                return pickle.loads(path.read_bytes())
            except Exception:  # noqa: BLE001 - an entry cut short (a kept one, draw_cache.py): made again
                pass
        value = make()
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.replace(path)
        return value
