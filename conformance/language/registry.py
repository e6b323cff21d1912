"""Known divergences: YAML files in specs/divergences/, each fact registered once.

Each entry names a clause, the reason, where one exists an upstream issue or documentation
link, and what the backend is expected to show (``observed``: checks in the clauses' own check
language, e.g. ``{check: raises, to: ValueError}``). A registered divergence is an expected,
*strict* failure: if the backend starts to conform, the run fails so that the entry is removed;
if it still diverges but no longer as ``observed`` says, the run fails with "known divergence
changed", so a registered reason never goes stale in silence.

A file names the backends its facts hold on: ``backend: torch``, or ``backends: [keras-tensorflow,
keras-jax, keras-torch]`` for backends that share their facts (Keras 3 on three frameworks, one
file: keras3.yaml). An entry holds on every backend of its file unless it lists some
(``backends: [keras-jax]``, only names the file declares). Its reason, link and snippet are written
once; a file's ``variables`` (backend -> {name: text}) fill ``${name}`` in its snippets, so each
backend gets its own runnable snippet (a file without ``variables`` keeps its snippets as written).
``observed`` is one list of checks for every backend, or a mapping backend -> checks where what
they show differs. :func:`load` expands every entry to one :class:`Divergence` per backend; those
of one entry share its ``fact`` (file and line), by which the reports group them.

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

Any problem is a SpecError naming the file, the line of the entry and its clause. A backend name
the run does not know is not refused here (backends can be added at run time, e.g. the
self-test's mutants): the run warns about it (plugin.py).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance.language.spec import SAFE_LOADER, SPEC_DIR, SpecError, _rel, check_checks, check_errors, read_yaml

REGISTRY_DIR = SPEC_DIR / "divergences"
FILE_KEYS = {"backend", "backends", "variables", "divergences"}
ENTRY_KEYS = {"clause", "reason", "link", "snippet", "releases", "observed", "scope", "backends"}
SCOPES = ("drawn",)  # where an entry holds: default every example; "drawn": at some drawn examples only


class RegistryError(SpecError):
    """A SpecError that names the line as well: ``file:line: clause 'id': message``."""

    def __init__(self, path, message, clause=None, line=None):
        super().__init__(path, message, clause)
        if line is not None:
            ValueError.__init__(self, f"{_rel(path)}:{line}: " + (f"clause {clause!r}: " if clause else "")
                                + message)


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
    line: int | None = field(default=None, compare=False)  # of the entry in its file
    backends: tuple = field(default=(), compare=False)  # every backend its entry holds on, in order
    variables: tuple = field(default=(), compare=False)  # (name, text) its snippet was filled with

    @property
    def fact(self) -> tuple:
        """The registry entry this comes from, the same for every backend the entry lists."""
        return (str(self.path), self.line, self.clause, self.releases, self.scope)

    @property
    def key(self) -> tuple:
        """(backend, clause), with the releases and scope where the entry has them."""
        return ((self.backend, self.clause) + ((self.releases,) if self.releases else ())
                + ((self.scope,) if self.scope else ()))

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


def load(directory: Path = REGISTRY_DIR, files=()) -> dict[tuple, Divergence]:
    """Every entry of every registry file of ``directory``, then of the other ``files`` (a
    third-party adapter's, ``--divergences``), one per backend it holds on, keyed by
    :attr:`Divergence.key`. An entry registered twice for a backend (in one file or two) names
    both places."""
    entries: dict[tuple, Divergence] = {}
    paths = sorted(Path(directory).glob("*.yaml")) if directory is not None else []
    for path in dict.fromkeys([*paths, *map(Path, files)]):
        for entry in read_file(path):
            first = entries.get(entry.key)
            if first is not None:
                raise RegistryError(path, f"registered twice for backend {entry.backend!r}, first defined in "
                                          f"{_rel(first.path)}:{first.line}", entry.clause, entry.line)
            entries[entry.key] = entry
    return entries


def read_file(path: Path) -> list[Divergence]:
    """The entries of one registry file, expanded to one per backend."""
    data = read_yaml(path)
    lines = _entry_lines(path)
    if not isinstance(data, dict) or set(data) - FILE_KEYS or not {"backend", "backends"} & set(data):
        raise SpecError(path, "a divergence file has 'backend' (or a list, 'backends'), 'divergences' and "
                              "optionally 'variables'")
    backends = _file_backends(path, data)
    variables = _variables(path, data.get("variables"), backends)
    listed = data.get("divergences") or []
    if not isinstance(listed, list):
        raise SpecError(path, "'divergences' must be a list of entries")
    out = []
    for n, raw in enumerate(listed, 1):
        out += _entries(path, backends, variables, n, raw, lines[n - 1] if n <= len(lines) else None)
    return out


def _entry_lines(path: Path) -> list[int]:
    """The line each item of ``divergences`` starts at (composed nodes keep their marks)."""
    try:
        root = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return []
    for key, value in root.value if isinstance(root, yaml.MappingNode) else ():
        if key.value == "divergences" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _file_backends(path: Path, data: dict) -> tuple:
    if "backend" in data and "backends" in data:
        raise SpecError(path, "a divergence file has 'backend' (one) or 'backends' (a list), not both")
    if "backend" in data:
        backend = data["backend"]
        if not isinstance(backend, str) or not backend.strip():
            raise SpecError(path, f"'backend' must be a backend name, not {backend!r}")
        return (backend,)
    return _names(path, data["backends"], "'backends'")


def _names(path: Path, names, what: str, clause=None, line=None) -> tuple:
    """A non-empty list of backend names, none twice."""
    if not isinstance(names, list) or not names or not all(isinstance(b, str) and b.strip() for b in names):
        raise RegistryError(path, f"{what} must be a non-empty list of backend names, not {names!r}", clause, line)
    twice = sorted({b for b in names if names.count(b) > 1})
    if twice:
        raise RegistryError(path, f"{what} lists {', '.join(map(repr, twice))} twice", clause, line)
    return tuple(names)


def _variables(path: Path, variables, backends: tuple) -> dict | None:
    """backend -> {name: text}: the same names for every backend of the file."""
    if variables is None:
        return None
    if not isinstance(variables, dict) or set(variables) != set(backends):
        raise SpecError(path, f"'variables' maps each backend of the file ({', '.join(backends)}) to its "
                              f"{{name: text}}, not {variables!r}")
    names = None
    for backend, values in variables.items():
        if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in values.items()):
            raise SpecError(path, f"'variables' of {backend!r} must map names to text, not {values!r}")
        if names is not None and set(values) != names:
            raise SpecError(path, f"'variables' of {backend!r} name {sorted(values)}, not the "
                                  f"{sorted(names)} of the others")
        names = set(values)
    return variables


def _entries(path: Path, file_backends: tuple, variables, n: int, raw, line) -> list[Divergence]:
    """One entry of a file, checked, as one Divergence per backend it holds on."""
    if not isinstance(raw, dict):
        raise RegistryError(path, f"entry #{n} is not a mapping", line=line)
    clause = raw.get("clause")
    where = clause if isinstance(clause, str) and clause else None
    entry = "" if where else f"entry #{n}: "  # named by its clause where it has one

    def refuse(message):
        return RegistryError(path, entry + message, where, line)

    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise refuse(f"unknown keys {sorted(map(str, unknown))}")
    if not raw.get("reason") or "clause" not in raw:
        raise refuse("every divergence needs 'clause' and 'reason'")
    for key in ("clause", "reason", "link", "snippet"):
        required = key in ("clause", "reason")
        if (required or raw.get(key) is not None) and not (isinstance(raw[key], str) and raw[key].strip()):
            raise refuse(f"{key!r} must be text, not {raw[key]!r}")
    backends = file_backends
    if "backends" in raw:
        backends = _names(path, raw["backends"], entry + "'backends'", where, line)
        foreign = [b for b in backends if b not in file_backends]
        if foreign:
            raise refuse(f"'backends' names {', '.join(map(repr, foreign))}, not a backend of this file "
                         f"({', '.join(file_backends)}): declare it in the file's 'backends'")
    observed = _observed(raw.get("observed"), backends, refuse)
    releases = raw.get("releases")
    if releases is not None:
        try:
            SpecifierSet(str(releases))
        except InvalidSpecifier:
            raise refuse(f"'releases' is not a version specifier such as '>=3.0,<3.3': {releases!r}") from None
        releases = str(releases)
    scope = raw.get("scope")
    if scope is not None and scope not in SCOPES:
        raise refuse(f"'scope' is {' or '.join(SCOPES)} (a divergence shown at some drawn examples only) "
                     f"or absent (every example), not {scope!r}")
    reason = " ".join(raw["reason"].split())
    return [Divergence(b, clause, reason, raw.get("link"), _snippet(raw.get("snippet"), variables, b, refuse),
                       path, releases=releases, observed=observed[b], scope=scope, line=line, backends=backends,
                       variables=tuple(sorted((variables or {}).get(b, {}).items())))
            for b in backends]


def _observed(observed, backends: tuple, refuse) -> dict:
    """backend -> the checks it is pinned to: one list for all, or a mapping per backend."""
    if observed is None:
        raise refuse("every divergence pins what the backend shows: add 'observed', a list of checks in "
                     "the clauses' check language (e.g. {check: raises, to: ValueError})")
    per = observed if isinstance(observed, dict) else dict.fromkeys(backends, observed)
    if set(per) != set(backends):
        raise refuse(f"'observed' per backend names {', '.join(map(repr, per))}; the entry holds on "
                     f"{', '.join(backends)}: give each of them its checks (or one list for all)")
    for backend, checks in per.items():
        mine = f"observed for {backend}: " if isinstance(observed, dict) else "observed: "
        problem = check_errors(checks)
        if problem is None:
            try:
                check_checks(checks, {}, formulas=False)
            except ValueError as exc:
                problem = str(exc)
        if problem:
            raise refuse(mine + problem)
        if all(check["check"] == "no_warning" for check in checks):
            # "no warning mentioning X" holds whatever the backend computes (X never appearing
            # included): such a pin could never fail, so a changed divergence would pass as known
            raise refuse(mine + "pins nothing that can fail: no_warning alone holds whatever the backend "
                         "computes; add a check of what it shows (e.g. {check: raises, to: ValueError})")
    return {b: tuple(per[b]) for b in backends}


def _snippet(snippet: str | None, variables, backend: str, refuse) -> str | None:
    """The snippet for one backend: ``${name}`` filled from the file's variables (if it has any)."""
    if snippet is None or variables is None:
        return snippet
    try:
        return Template(snippet).substitute(variables[backend])
    except KeyError as exc:
        raise refuse(f"snippet: ${{{exc.args[0]}}} is not one of the file's variables "
                     f"({', '.join(sorted(variables[backend])) or 'none'})") from None
    except ValueError as exc:  # a "$" that starts no variable
        raise refuse(f"snippet: {exc}; write $$ for a dollar sign") from None


def as_entry(entry: Divergence) -> dict:
    """One backend's divergence as an entry of a file of its own (``backend: <name>``), its snippet
    filled in: what the self-test registers again under a mutant's name."""
    raw = {"clause": entry.clause, "reason": entry.reason, "link": entry.link, "snippet": entry.snippet,
           "releases": entry.releases, "scope": entry.scope, "observed": list(entry.observed)}
    return {k: v for k, v in raw.items() if v is not None}


@functools.lru_cache(maxsize=8)
def home(backend: str, directory: Path = REGISTRY_DIR) -> str:
    """The registry file a new divergence of ``backend`` belongs in: the one whose ``backend`` or
    ``backends`` names it, else a file of its own (``<backend>.yaml``), as a path to show."""
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            data = read_yaml(path)
        except SpecError:
            continue  # a broken file is reported when the registry is loaded, not here
        if isinstance(data, dict) and (data.get("backend") == backend or backend in (data.get("backends") or [])):
            return _rel(path)
    return _rel(Path(directory) / f"{backend}.yaml")


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
    (known once the spec files are loaded); a SpecError names the registry file, line and clause."""
    by_id = {c.id: c for c in clauses} if not isinstance(clauses, dict) else clauses
    for entry in entries.values():
        clause = by_id.get(entry.clause)
        if clause is None:
            continue  # a stale entry: reported as such, never run
        try:
            check_checks(list(entry.observed), clause.params)
        except ValueError as exc:
            raise RegistryError(entry.path, f"observed for {entry.backend}: {exc}" if len(entry.backends) > 1
                                else f"observed: {exc}", entry.clause, entry.line) from None


def by_fact(entries) -> list[list[Divergence]]:
    """The entries grouped by the registry entry (fact) they come from, each group in the order
    of its backends; groups in the order loaded."""
    groups: dict = {}
    for entry in entries.values():
        groups.setdefault(entry.fact, []).append(entry)
    return [sorted(group, key=lambda e: e.backends.index(e.backend) if e.backend in e.backends else 0)
            for group in groups.values()]


def check_clauses(entries, clause_ids, files) -> None:
    """Entries of ``files`` (registries that come with a run, not the suite's own) must each name
    a clause: one that matches none is a RegistryError naming its file and line."""
    wanted = {Path(f).resolve() for f in files}
    for entry in stale(entries, clause_ids):
        if Path(entry.path).resolve() in wanted:
            raise RegistryError(entry.path, "no such clause (the clause ids are in the suite's spec files, "
                                            "docs/SPEC-LANGUAGE.md and the report)", entry.clause, entry.line)


def stale(entries, clause_ids) -> list[Divergence]:
    """Entries that match no clause."""
    ids = set(clause_ids)
    return [d for d in entries.values() if d.clause not in ids]
