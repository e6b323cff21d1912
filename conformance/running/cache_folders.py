"""Folders of the run's caches named by a digest of code, and only the most recently used few kept.

The exported columns' artifacts (backends/_exported.py) and the drawn examples (draw_cache.py)
sit in a folder per version of the code that made them: an entry of older code is never read
again, and a developer editing that code would otherwise add a folder per edit, so each use marks
its folder as used and removes all but the few most recently used others.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def digest_files(paths, base: Path) -> str:
    """A digest of the files ``paths`` (in the order given), each named relative to ``base``."""
    h = hashlib.sha256()
    for path in paths:
        h.update(str(Path(path).relative_to(base)).encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return h.hexdigest()


def used_folder(parent: Path, name: str, keep: int) -> Path:
    """``parent/name``, made and marked as used now; of the other folders in ``parent``, all but
    the ``keep - 1`` most recently used are removed. OSError when the folder cannot be made; a
    tidy that fails costs disk, never a result."""
    folder = Path(parent) / name
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder)

    def used(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:  # removed meanwhile by another run's tidy
            return float("inf")

    try:
        others = sorted((p for p in folder.parent.iterdir() if p.is_dir() and p != folder), key=used, reverse=True)
    except OSError:
        return folder
    for old in others[keep - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    return folder
