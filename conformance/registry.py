"""Known divergences: one YAML file per backend in specs/divergences/.

Each entry names a clause, the reason, and where one exists an upstream issue or documentation
link. A registered divergence is an expected, *strict* failure: if the backend starts to conform,
the run fails so that the entry is removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .spec import SPEC_DIR, SpecError

REGISTRY_DIR = SPEC_DIR / "divergences"
ENTRY_KEYS = {"clause", "reason", "link", "snippet"}


@dataclass(frozen=True)
class Divergence:
    backend: str
    clause: str
    reason: str
    link: str | None
    snippet: str | None
    path: Path


def load(directory: Path = REGISTRY_DIR) -> dict[tuple[str, str], Divergence]:
    entries: dict[tuple[str, str], Divergence] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or set(data) - {"backend", "divergences"} or "backend" not in data:
            raise SpecError(path, "a divergence file has 'backend' and 'divergences'")
        backend = data["backend"]
        for n, raw in enumerate(data.get("divergences") or [], 1):
            if not isinstance(raw, dict):
                raise SpecError(path, f"entry #{n} is not a mapping")
            clause = raw.get("clause", f"#{n}")
            unknown = set(raw) - ENTRY_KEYS
            if unknown:
                raise SpecError(path, f"unknown keys {sorted(unknown)}", clause)
            if not raw.get("reason") or "clause" not in raw:
                raise SpecError(path, "every divergence needs 'clause' and 'reason'", clause)
            key = (backend, raw["clause"])
            if key in entries:
                raise SpecError(path, "registered twice", raw["clause"])
            entries[key] = Divergence(backend, raw["clause"], " ".join(raw["reason"].split()),
                                      raw.get("link"), raw.get("snippet"), path)
    return entries


def stale(entries, clause_ids) -> list[Divergence]:
    """Entries that match no clause."""
    ids = set(clause_ids)
    return [d for d in entries.values() if d.clause not in ids]
