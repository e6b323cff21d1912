"""Known divergences: one YAML file per backend in specs/divergences/.

Each entry names a clause, the reason, and where one exists an upstream issue or documentation
link. A registered divergence is an expected, *strict* failure: if the backend starts to conform,
the run fails so that the entry is removed.

An entry may hold for some releases only: ``releases: ">=3.0,<3.3"`` is a version specifier
(packaging.specifiers, PEP 440) matched against the framework version the backend reports (Keras'
for the keras-* backends). A clause may then have several entries, one per range of releases,
each with its own reason; the first whose ``releases`` match applies.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .spec import SPEC_DIR, SpecError

REGISTRY_DIR = SPEC_DIR / "divergences"
ENTRY_KEYS = {"clause", "reason", "link", "snippet", "releases"}


@dataclass(frozen=True)
class Divergence:
    backend: str
    clause: str
    reason: str
    link: str | None
    snippet: str | None
    path: Path
    releases: str | None = None  # a version specifier; None: every release

    def applies_to(self, version: str | None) -> bool:
        """Whether the entry holds for this framework version (an unknown version: only an
        entry for every release). Nightlies and other pre-releases are matched too."""
        if self.releases is None:
            return True
        try:
            return version is not None and SpecifierSet(self.releases).contains(
                Version(version), prereleases=True)
        except InvalidVersion:
            return False


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
            releases = raw.get("releases")
            if releases is not None:
                try:
                    SpecifierSet(str(releases))
                except InvalidSpecifier:
                    raise SpecError(path, f"'releases' is not a version specifier such as "
                                          f"'>=3.0,<3.3': {releases!r}", clause) from None
                releases = str(releases)
            # Entries for some releases only are keyed by their range as well.
            key = (backend, raw["clause"]) + ((releases,) if releases else ())
            if key in entries:
                raise SpecError(path, "registered twice", raw["clause"])
            entries[key] = Divergence(backend, raw["clause"], " ".join(raw["reason"].split()),
                                      raw.get("link"), raw.get("snippet"), path, releases)
    return entries


def find(entries, backend: str, clause: str, version: str | None) -> Divergence | None:
    """The entry for ``clause`` on ``backend`` that holds at this framework ``version``."""
    for entry in entries.values():
        if entry.backend == backend and entry.clause == clause and entry.applies_to(version):
            return entry
    return None


def stale(entries, clause_ids) -> list[Divergence]:
    """Entries that match no clause."""
    ids = set(clause_ids)
    return [d for d in entries.values() if d.clause not in ids]
