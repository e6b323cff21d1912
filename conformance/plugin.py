"""The pytest plugin: ``pytest conformance`` collects one item per clause x backend.

Collection follows pytest's "non-Python tests" example: the ``conformance`` directory is
collected by :class:`SpecDirectory`, each spec file becomes a :class:`SpecFile`, each clause x
backend a :class:`ClauseItem` with its own ``repr_failure``.
"""
from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

import pytest

import backends

from . import SCHEMA, registry
from .outcome import Outcome, judge
from .session import Session
from .spec import SPEC_DIR, SpecError, load_all, load_file

PACKAGE_DIR = Path(__file__).resolve().parent
STASH = pytest.StashKey["Session"]()


def pytest_addoption(parser):
    group = parser.getgroup("conformance")
    group.addoption("--backend", action="append", default=[], metavar="NAME",
                    help="backend to run (repeatable): " + ", ".join(backends.DEFAULT_ORDER)
                    + " or package.module:ClassName; default: all")
    group.addoption("--json", metavar="PATH", default=None, help="write the results JSON here")
    group.addoption("--spec-dir", metavar="DIR", default=str(SPEC_DIR),
                    help="the spec files to run (and their divergences/ registry)")
    group.addoption("--case-timeout", type=float, default=180.0,
                    help="seconds one clause may take in a backend's worker before it is killed")


def pytest_configure(config):
    available = backends.builtin()
    names = config.getoption("backend") or [n for n in backends.DEFAULT_ORDER if n in available]
    selected = {}
    for name in dict.fromkeys(names):
        try:
            selected[name] = backends.resolve(name)
        except backends.UnknownBackend as exc:
            raise pytest.UsageError(f"--backend: {exc}") from None
    try:
        known = registry.load(Path(config.getoption("spec_dir")) / "divergences")
    except SpecError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[STASH] = Session(selected, known, config.getoption("case_timeout"))
    config.addinivalue_line("markers", "xdist_group(name): keep one backend on one xdist worker")
    config.addinivalue_line("markers", "normative: the document states the behaviour (the clause quotes it)")
    config.addinivalue_line("markers", "extension: beyond the text but standard; fails like normative, "
                            "scored apart")
    config.addinivalue_line("markers", "characterization: the document is silent; record behaviour")


def pytest_unconfigure(config):
    session = config.stash.get(STASH, None)
    if session is not None:
        session.close()


def pytest_collect_directory(path, parent):
    if Path(path).resolve() == PACKAGE_DIR:
        return SpecDirectory.from_parent(parent, path=Path(path))
    return None


class SpecDirectory(pytest.Directory):
    def collect(self):
        spec_dir = Path(self.config.getoption("spec_dir"))
        files = sorted(spec_dir.glob("*.yaml"))
        if not files:
            raise SpecError(spec_dir, "no spec files (*.yaml) found")
        for path in files:
            yield SpecFile.from_parent(self, path=path)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, SpecError):
            return f"spec error: {excinfo.value}"
        return super().repr_failure(excinfo)


class SpecFile(pytest.File):
    def collect(self):
        session: Session = self.config.stash[STASH]
        clauses = load_file(self.path)
        session.add_clauses(clauses)
        for clause in clauses:
            for name in session.backends:
                item = ClauseItem.from_parent(self, name=f"{clause.id}[{name}]", clause=clause,
                                              backend=name)
                item.add_marker(pytest.mark.xdist_group(name))
                item.add_marker(getattr(pytest.mark, clause.level))
                yield item

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, SpecError):
            return f"spec error: {excinfo.value}"
        return super().repr_failure(excinfo)


class ClauseFailure(AssertionError):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.summary())
        self.outcome = outcome


class ClauseItem(pytest.Item):
    def __init__(self, *, clause, backend, **kwargs):
        super().__init__(**kwargs)
        self.clause, self.backend = clause, backend

    def runtest(self):
        session: Session = self.config.stash[STASH]
        start = time.monotonic()
        outcome = judge(session, self.clause, self.backend)
        outcome.duration = time.monotonic() - start
        record = {**outcome.record(), "backend_info": session.info(self.backend)}
        self.user_properties.append(("conformance", json.dumps(record, default=str)))
        if outcome.status == "skip":
            pytest.skip(outcome.reason)
        if outcome.status == "unsupported":
            pytest.skip(f"unsupported: {outcome.reason}")
        if outcome.status == "error":
            raise ClauseFailure(outcome)
        if outcome.known and outcome.status == "diverge":
            pytest.xfail(f"known divergence: {outcome.reason}")
        if outcome.known:
            raise ClauseFailure(outcome)  # registered divergence that now conforms (strict)
        if outcome.status == "diverge" and self.clause.judged:
            raise ClauseFailure(outcome)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ClauseFailure):
            return excinfo.value.outcome.explain()
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.clause.id} on {self.backend}"


# -- results: collected from reports, so they also arrive from xdist workers ---------------------
_RESULTS: list[dict] = []
_BACKENDS: dict[str, dict] = {}


def pytest_runtest_logreport(report):
    for key, value in getattr(report, "user_properties", []):
        if key == "conformance" and report.when == "call":
            record = json.loads(value)
            _BACKENDS[record["backend"]] = record.pop("backend_info")
            _RESULTS.append(record)


def pytest_terminal_summary(terminalreporter, config):
    session: Session | None = config.stash.get(STASH, None)
    if session is None or not _RESULTS:
        return
    if not session.clauses:  # the xdist controller collects nothing itself
        session.add_clauses(load_all(Path(config.getoption("spec_dir"))))
    known_backends = set(backends.builtin()) | set(session.backends)
    for path in sorted({e.path for e in session.known.values() if e.backend not in known_backends}):
        terminalreporter.write_line(f"registry: {path.name} is for a backend that does not exist", yellow=True)
    stale = registry.stale(session.known, session.clauses)
    for entry in stale:
        if entry.backend in session.backends:
            terminalreporter.write_line(
                f"registry: {entry.path.name} lists {entry.clause!r}, which matches no clause",
                yellow=True)
    counts: dict[str, dict[str, int]] = {}
    for result in _RESULTS:
        row = counts.setdefault(result["backend"], {})
        row[_label(result)] = row.get(_label(result), 0) + 1
    terminalreporter.section("conformance")
    for backend, row in counts.items():
        terminalreporter.write_line(f"{backend:18} " + ", ".join(f"{v} {k}" for k, v in sorted(row.items())))
    path = config.getoption("json")
    if path:
        _write_json(path, session)
        terminalreporter.write_line(f"results written to {path}")


def _label(result) -> str:
    if result["level"] == "characterization" and result["status"] in ("conform", "diverge"):
        return "characterized" + ("" if result["agrees"] else " (differs from reference)")
    if result["status"] == "diverge":
        return "diverge (known)" if result["known"] else "DIVERGE (new)"
    return result["status"]


def _write_json(path, session: Session):
    order = {cid: n for n, cid in enumerate(session.clauses)}  # document order, not alphabetical
    backend_order = {name: n for n, name in enumerate(session.backends)}
    data = {
        "schema": SCHEMA,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "backends": {name: _BACKENDS.get(name) or session.info(name, probe=False)
                     for name in session.backends},
        "clauses": {cid: c.meta() for cid, c in session.clauses.items()},
        "results": sorted(_RESULTS, key=lambda r: (order.get(r["clause"], len(order)),
                                                    backend_order.get(r["backend"], 99))),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")

