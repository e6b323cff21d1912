"""Generated blocks in hand-written files (docs/DIVERGENCES.md's divergence table, docs/SELFTEST.md's self-test score):
the text between two marker lines is rewritten, everything else is left as it is."""
from __future__ import annotations

from pathlib import Path


def rewrite(path, start: str, end: str, body: str) -> bool:
    """Replace what stands between ``start`` and ``end`` in ``path`` with ``body``; True when the
    file changed. ValueError when the markers are missing or out of order; OSError when the file
    cannot be read or written."""
    text = Path(path).read_text(encoding="utf-8")
    if start not in text or end not in text.split(start, 1)[1]:
        raise ValueError(f"{path}: no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n{body}{end}{tail}"
    if new != text:
        Path(path).write_text(new, encoding="utf-8")
    return new != text


def current(path, start: str, end: str) -> str:
    """What stands between ``start`` and ``end`` in ``path`` (the text after the start marker's
    line); ValueError when the markers are missing or out of order."""
    text = Path(path).read_text(encoding="utf-8")
    if start not in text or end not in text.split(start, 1)[1]:
        raise ValueError(f"{path}: no {start} ... {end} block")
    body = text.split(start, 1)[1].split(end, 1)[0]
    return body[1:] if body.startswith("\n") else body
