"""Known divergences: one YAML file per backend in specs/divergences/.

Each entry names a clause, the reason, where one exists an upstream issue or documentation
link, and what the backend is expected to show (``observed``: checks in the clauses' own check
language, e.g. ``{check: raises, to: ValueError}``). A registered divergence is an expected,
*strict* failure: if the backend starts to conform, the run fails so that the entry is removed;
if it still diverges but no longer as ``observed`` says, the run fails with "known divergence
changed", so a registered reason never goes stale in silence.

An entry may hold for some releases only: ``releases: ">=3.0,<3.3"`` is a version specifier
(packaging.specifiers, PEP 440) matched against the framework version the backend reports (Keras'
for the keras-* backends). A clause may then have several entries, one per range of releases,
each with its own reason; the first whose ``releases`` match applies.

An entry with ``scope: drawn`` is a divergence that shows at some drawn examples only (the
document's example conforms; e.g. a framework's epsilon that shows on rows of tiny norm, which
only some seeds draw). It is expected and pinned where it shows, and not strict: a cell whose drawn
examples never show it conforms, since a sample that misses it says nothing about a fix. Pair it
with a clause that shows the divergence at every seed (with a plain, strict entry), so that a fix
upstream still fails the run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance.language.spec import SPEC_DIR, SpecError, _rel, check_checks, check_errors, read_yaml

REGISTRY_DIR = SPEC_DIR / "divergences"
ENTRY_KEYS = {"clause", "reason", "link", "snippet", "releases", "observed", "scope"}
SCOPES = ("drawn",)  # where an entry holds: default every example; "drawn": at some drawn examples only


@dataclass(frozen=True)
class Divergence:
    backend: str
    clause: str
    reason: str
    link: str | None
    snippet: str | None
    path: Path
    releases: str | None = None  # a version specifier; None: every release
    # the checks (dicts) the backend's observation is pinned to; dicts do not hash, so not compared
    observed: tuple = field(default=(), compare=False)
    scope: str | None = None  # None: every example, the document's included; "drawn" (see above)

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
    """Every entry of every registry file. Any problem is a SpecError naming the file (and the
    line, for bad YAML) and the entry; an entry registered twice names both files."""
    entries: dict[tuple[str, str], Divergence] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        data = read_yaml(path)
        if not isinstance(data, dict) or set(data) - {"backend", "divergences"} or "backend" not in data:
            raise SpecError(path, "a divergence file has 'backend' and 'divergences'")
        backend = data["backend"]
        if not isinstance(backend, str) or not backend.strip():
            raise SpecError(path, f"'backend' must be a backend name, not {backend!r}")
        listed = data.get("divergences") or []
        if not isinstance(listed, list):
            raise SpecError(path, "'divergences' must be a list of entries")
        for n, raw in enumerate(listed, 1):
            entry = _entry(path, backend, n, raw)
            # Entries for some releases only are keyed by their range as well.
            key = ((backend, entry.clause) + ((entry.releases,) if entry.releases else ())
                   + ((entry.scope,) if entry.scope else ()))
            if key in entries:
                raise SpecError(path, f"registered twice for backend {backend!r}, first defined in "
                                      f"{_rel(entries[key].path)}", entry.clause)
            entries[key] = entry
    return entries


def _entry(path: Path, backend: str, n: int, raw) -> Divergence:
    if not isinstance(raw, dict):
        raise SpecError(path, f"entry #{n} is not a mapping")
    clause = raw.get("clause")
    where = clause if isinstance(clause, str) and clause else None
    entry = "" if where else f"entry #{n}: "  # named by its clause where it has one
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise SpecError(path, f"{entry}unknown keys {sorted(map(str, unknown))}", where)
    if not raw.get("reason") or "clause" not in raw:
        raise SpecError(path, f"{entry}every divergence needs 'clause' and 'reason'", where)
    for key in ("clause", "reason", "link", "snippet"):
        required = key in ("clause", "reason")
        if (required or raw.get(key) is not None) and not (isinstance(raw[key], str) and raw[key].strip()):
            raise SpecError(path, f"{entry}{key!r} must be text, not {raw[key]!r}", where)
    observed = raw.get("observed")
    if observed is None:
        raise SpecError(path, f"{entry}every divergence pins what the backend shows: add 'observed', a "
                              "list of checks in the clauses' check language (e.g. {check: raises, to: "
                              "ValueError})", where)
    problem = check_errors(observed)
    if problem is None:
        try:
            check_checks(observed, {}, formulas=False)
        except ValueError as exc:
            problem = str(exc)
    if problem:
        raise SpecError(path, f"{entry}observed: {problem}", where)
    releases = raw.get("releases")
    if releases is not None:
        try:
            SpecifierSet(str(releases))
        except InvalidSpecifier:
            raise SpecError(path, f"{entry}'releases' is not a version specifier such as "
                                  f"'>=3.0,<3.3': {releases!r}", where) from None
        releases = str(releases)
    scope = raw.get("scope")
    if scope is not None and scope not in SCOPES:
        raise SpecError(path, f"{entry}'scope' is {' or '.join(SCOPES)} (a divergence shown at some drawn "
                              f"examples only) or absent (every example), not {scope!r}", where)
    return Divergence(backend, clause, " ".join(raw["reason"].split()), raw.get("link"),
                      raw.get("snippet"), path, releases=releases, observed=tuple(observed), scope=scope)


def find(entries, backend: str, clause: str, version: str | None, drawn: bool = False) -> Divergence | None:
    """The entry for ``clause`` on ``backend`` that holds at this framework ``version``, for the
    document's example or (``drawn``) for a drawn one, where a ``scope: drawn`` entry holds too."""
    drawn_only = None  # a plain entry wins over a ``scope: drawn`` one
    for entry in entries.values():
        if entry.backend == backend and entry.clause == clause and entry.applies_to(version):
            if entry.scope is None:
                return entry
            if drawn and drawn_only is None:
                drawn_only = entry
    return drawn_only


def check_pins(entries, clauses) -> None:
    """The formulas of every entry's ``observed`` checks, evaluated on its clause's parameters
    (known once the spec files are loaded); a SpecError names the registry file and clause."""
    by_id = {c.id: c for c in clauses} if not isinstance(clauses, dict) else clauses
    for entry in entries.values():
        clause = by_id.get(entry.clause)
        if clause is None:
            continue  # a stale entry: reported as such, never run
        try:
            check_checks(list(entry.observed), clause.params)
        except ValueError as exc:
            raise SpecError(entry.path, f"observed: {exc}", entry.clause) from None


def stale(entries, clause_ids) -> list[Divergence]:
    """Entries that match no clause."""
    ids = set(clause_ids)
    return [d for d in entries.values() if d.clause not in ids]
