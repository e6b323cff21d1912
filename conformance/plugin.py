"""The pytest plugin: ``pytest conformance`` collects one item per clause x backend.

Collection follows pytest's "non-Python tests" example: the ``conformance`` directory is
collected by :class:`SpecDirectory`, each spec file becomes a :class:`SpecFile`, each clause x
backend a :class:`ClauseItem` with its own ``repr_failure``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

import backends
from conformance import SCHEMA
from conformance.judging.outcome import Outcome, judging_error, refused_text
from conformance.judging.status import Status, classify_record
from conformance.language import registry
from conformance.language.spec import SPEC_DIR, SpecError, load_all
from conformance.report import results_file
from conformance.running import adapters, compile_cache, draw_cache, shared_draws
from conformance.running.properties import PROFILES, RunConfig, judge_item
from conformance.running.session import START_TIMEOUT, Session

PACKAGE_DIR = Path(__file__).resolve().parent
STASH = pytest.StashKey["Session"]()
RUN = pytest.StashKey["RunConfig"]()
REGISTRY_FILES = pytest.StashKey["dict"]()  # registry files that came with the run (adapters.py)
XDIST_RUN = "conformance_hypothesis_run"  # the controller's profile and seed, for its workers
XDIST_DRAWS = "conformance_shared_draws"  # the controller's folder of drawn examples (shared_draws.py)
DRAWS = pytest.StashKey[str]()


def _register_profiles():
    """Hypothesis' own pytest plugin loads --hypothesis-profile by name: the conformance run's
    profiles must exist (their settings are properties.PROFILES; these only name them)."""
    from hypothesis import settings

    for profile in PROFILES.values():
        settings.register_profile(profile.name, max_examples=profile.examples, deadline=None)


_register_profiles()


def pytest_addoption(parser):
    group = parser.getgroup("conformance")
    group.addoption("--backend", action="append", default=[], metavar="NAME",
                    help="backend to run (repeatable): " + ", ".join(backends.DEFAULT_ORDER)
                    + ", the name of an adapter registered under the entry point group "
                    + f"{backends.ENTRY_POINT_GROUP}, or package.module:ClassName; default: the built-ins")
    group.addoption("--divergences", action="append", default=[], metavar="PATH",
                    help="a registry file of known divergences to add to the suite's (repeatable), "
                    "e.g. a third-party adapter's")
    group.addoption("--json", metavar="PATH", default=None, help="write the results JSON here")
    group.addoption("--spec-dir", metavar="DIR", default=str(SPEC_DIR),
                    help="the spec files to run (and their divergences/ registry)")
    group.addoption("--case-timeout", type=_seconds, default=180.0,
                    help="seconds one clause may take in a backend's worker before it is killed")
    group.addoption("--start-timeout", type=_seconds, default=START_TIMEOUT,
                    help=f"seconds a backend's worker may take to start (import its framework; default "
                         f"{START_TIMEOUT:.0f}); a restart after a crash also waits at most --case-timeout")
    group.addoption("--compile-cache", type=_compile_cache, default="on", metavar="on|off|clear|DIR",
                    help="the frameworks' on-disk caches of compiled programs (Keras on JAX): on (default: "
                    ".cache/compile in a source tree, else the user's cache folder), off, clear (empty "
                    "it first), or a folder of your own")
    group.addoption("--max-examples", type=_count, default=None, metavar="N",
                    help="drawn examples per clause and backend, in place of the Hypothesis profile's "
                    "(ci: 20, thorough: 300); the records and the replay line say so")
    group.addoption("--framework-defaults", action="store_true", default=False,
                    help="run every framework with its own defaults, as a user's program does: the workers "
                    "get none of the adapters' speed settings (Keras on JAX: XLA at its default "
                    "optimisation, not -O0); a caller's own variables (XLA_FLAGS) still win")


def _compile_cache(text: str) -> compile_cache.Setting:
    """argparse type of --compile-cache."""
    try:
        return compile_cache.Setting.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    """argparse type of --max-examples: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least 1 drawn example per clause and backend")
    return value


MAX_TIMEOUT = 86400.0  # a day: beyond it a timeout overflows the system's waits (1e10 did)


def _seconds(text: str) -> float:
    """argparse type of --case-timeout and --start-timeout: a number of seconds above 0 and at most
    a day (nan would disable the timeout, 1e10 overflows the waits)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: the timeout must be a finite number of seconds above 0")
    if value > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"{text!r}: the timeout must be at most {MAX_TIMEOUT:.0f} seconds (a day)")
    return value


# tryfirst: before Hypothesis' own plugin loads --hypothesis-profile by name (with the package
# installed, its entry point may put that plugin's configure first), so an unknown profile is
# this plugin's usage error, not Hypothesis' INTERNALERROR.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    names = config.getoption("backend") or list(backends.DEFAULT_ORDER)
    try:  # third-party classes are loaded in a worker, never here (conformance/running/adapters.py)
        selected = adapters.choose(names, timeout=config.getoption("start_timeout"))
    except backends.UnknownBackend as exc:
        raise pytest.UsageError(f"--backend: {exc}") from None
    except adapters.BadAdapter as exc:  # e.g. requires=("numpy") is the string "numpy"
        raise pytest.UsageError(f"--backend {exc}") from None
    directory = Path(config.getoption("spec_dir")) / "divergences"
    try:
        files = adapters.registry_files(selected, config.getoption("divergences"))
        known = adapters.load_registry(directory, files)
    except SpecError as exc:
        raise pytest.UsageError(str(exc)) from None
    cache = config.getoption("compile_cache")
    if isinstance(cache, str):  # the default, which argparse does not pass through the type
        cache = compile_cache.Setting.parse(cache)
    if cache.clear and not results_file.is_xdist_worker(config):
        compile_cache.clear(cache.root, selected.values())  # once, before any worker starts
        draw_cache.clear(cache.root)
    session = config.stash[STASH] = Session(selected, known, config.getoption("case_timeout"),
                                            compile_root=cache.root,
                                            framework_defaults=config.getoption("framework_defaults"),
                                            start_timeout=config.getoption("start_timeout"))
    session.homes = {name: adapters.home(adapter, directory, known, files) for name, adapter in selected.items()}
    config.stash[REGISTRY_FILES] = files
    session.shared_draws = getattr(config, "workerinput", {}).get(XDIST_DRAWS)
    given = getattr(config, "workerinput", {}).get(XDIST_RUN)
    try:
        config.stash[RUN] = RunConfig.make(*given) if given else RunConfig.make(
            config.getoption("hypothesis_profile", None), config.getoption("hypothesis_seed", None),
            config.getoption("max_examples", None))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if _collects_specs(config):
        session.kept_draws = draw_cache.folder(cache.root, Path(config.getoption("spec_dir")), config.stash[RUN])
        # Every spec file is loaded and checked here, once, before any test and before xdist
        # starts a worker: a duplicate id across files, or any malformed clause, stops every kind
        # of run (plain, -k, -n) with one line, and the xdist controller has the clauses too.
        try:
            _load_clauses(config, session)
        except SpecError as exc:
            raise pytest.UsageError(f"spec error: {exc}") from None
    config.addinivalue_line("markers", "xdist_group(name): keep one backend on one xdist worker")
    config.addinivalue_line("markers", "normative: the document states the behaviour (the clause quotes it)")
    config.addinivalue_line("markers", "extension: beyond the text but standard; fails like normative, "
                            "scored apart")
    config.addinivalue_line("markers", "characterization: the document is silent; record behaviour")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist: every worker draws with the controller's profile and seed (a random one included),
    and shares each clause's drawn examples and reference replies through one folder per run."""
    run = node.config.stash[RUN]
    node.workerinput[XDIST_RUN] = [run.profile.name, run.seed, run.max_examples]
    if DRAWS not in node.config.stash:
        node.config.stash[DRAWS] = shared_draws.new_folder()
    node.workerinput[XDIST_DRAWS] = node.config.stash[DRAWS]


def pytest_report_header(config):
    """Where each backend's compiled programs are kept, and how full the folder is at the start."""
    session: Session | None = config.stash.get(STASH, None)
    if session is None or not _collects_specs(config):
        return None
    lines = []
    for name, adapter in session.backends.items():
        defaults = adapter.env_defaults
        if defaults:
            given = {k: os.environ[k] for k in defaults if k in os.environ}
            lines.append(f"worker settings: {name}: " + (
                "the framework's own defaults (--framework-defaults)" if session.framework_defaults
                else " ".join(f"{k}={v}" for k, v in defaults.items() if k not in given) or "-")
                + "".join(f"; {k}={v} (the caller's)" for k, v in given.items()))
    cached = [a for a in session.backends.values() if a.compile_cache is not None]
    if cached and session.compile_root is None:
        lines.append(f"compile cache: off ({', '.join(a.name for a in cached)} compile everything anew)")
    for adapter in cached if session.compile_root is not None else ():
        path = compile_cache.folder(adapter, session.compile_root,
                                    compile_cache.worker_environ(adapter, session.env_defaults(adapter.name)))
        lines.append(f"compile cache: {adapter.name}: {path} ({compile_cache.describe(path)})")
    if session.kept_draws is not None:
        lines.append(f"drawn examples: kept in {session.kept_draws} ({compile_cache.describe(session.kept_draws)})")
    return lines or None


def _collects_specs(config) -> bool:
    """Whether this run's arguments reach the conformance directory (``pytest tests`` does not)."""
    for arg in config.args:
        path = (config.invocation_params.dir / str(arg).split("::")[0]).resolve()
        if path == PACKAGE_DIR or path in PACKAGE_DIR.parents or PACKAGE_DIR in path.parents:
            return True
        if config.option.pyargs and str(arg).split("::")[0].split(".")[0] == __package__:
            return True  # pytest --pyargs conformance (an installed suite, run from any folder)
    return False


def _load_clauses(config, session: Session) -> list:
    """All clauses of --spec-dir, loaded once per process; raises SpecError."""
    if not session.clauses:
        clauses = load_all(Path(config.getoption("spec_dir")))
        registry.check_pins(session.known, clauses)  # the pinned checks' formulas, on their clauses
        registry.check_clauses(session.known, [c.id for c in clauses], config.stash[REGISTRY_FILES])
        session.add_clauses(clauses)
    return list(session.clauses.values())


def pytest_unconfigure(config):
    session = config.stash.get(STASH, None)
    if session is not None:
        session.close()
    if DRAWS in config.stash:  # the controller, after its workers
        shutil.rmtree(config.stash[DRAWS], ignore_errors=True)


def pytest_collect_directory(path, parent):
    if Path(path).resolve() == PACKAGE_DIR:
        return SpecDirectory.from_parent(parent, path=Path(path))
    return None


class SpecDirectory(pytest.Directory):
    def collect(self):
        clauses = _load_clauses(self.config, self.config.stash[STASH])
        for path in dict.fromkeys(clause.path for clause in clauses):
            yield SpecFile.from_parent(self, path=path)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, SpecError):
            return f"spec error: {excinfo.value}"
        return super().repr_failure(excinfo)


class SpecFile(pytest.File):
    def collect(self):
        session: Session = self.config.stash[STASH]
        for clause in _load_clauses(self.config, session):
            if clause.path != self.path:
                continue
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
        outcome = judge_item(session, self.clause, self.backend, self.config.stash[RUN])
        outcome.duration = time.monotonic() - start
        self.user_properties.append(("conformance", _record_json(outcome, session)))
        if outcome.status == Status.SKIP:
            pytest.skip(outcome.reason)
        if outcome.status == Status.UNSUPPORTED:
            pytest.skip(f"unsupported: {outcome.reason}")
        if outcome.status == Status.ERROR:
            raise ClauseFailure(outcome)
        if outcome.known and outcome.status == Status.DIVERGE:
            pytest.xfail(f"known divergence: {outcome.reason}")
        if outcome.known:
            raise ClauseFailure(outcome)  # registered divergence that now conforms (strict)
        if outcome.status == Status.DIVERGE and self.clause.judged:
            raise ClauseFailure(outcome)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ClauseFailure):
            return excinfo.value.outcome.explain(self.config.stash[STASH].homes.get(self.backend))
        if isinstance(excinfo.value, pytest.xfail.Exception):
            # a registered divergence: its reason says it all (pytest's default repr would parse
            # this file's source for a traceback nobody reads, 0.15 s per known divergence)
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.clause.id} on {self.backend}"


def _record_json(outcome: Outcome, session: Session) -> str:
    """The item's record as JSON text; a record that cannot be made is an error record."""
    try:
        info = session.info(outcome.backend)
    except Exception as exc:  # noqa: BLE001 - the record matters more than the backend's details
        info = {"framework": session.backends[outcome.backend].framework, "version": None,
                "available": False, "reason": f"{type(exc).__name__}: {exc}"}
    try:
        return json.dumps({**outcome.record(), "backend_info": info}, default=str)
    except Exception as exc:  # noqa: BLE001 - e.g. a value that even str() cannot render
        judging_error(outcome, exc)
        return json.dumps({**outcome.record(), "backend_info": info}, default=repr)


# -- results: collected from reports, so they also arrive from xdist workers ---------------------
# Only the process that owns the run writes the JSON: the xdist controller, never a worker. It is
# written at session finish, so also without the terminal reporter (-p no:terminal).
JSON_PATH = pytest.StashKey["Path | None"]()
_TALLY = results_file.Tally()
_STATE: dict = {}


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """Check --json before anything runs and remove the previous run's file (see results_file)."""
    if results_file.is_xdist_worker(config) or config.option.help or config.option.version:
        return None
    config.stash[JSON_PATH] = results_file.prepare(config.getoption("json"))
    return None


def pytest_sessionstart(session):
    global _TALLY
    _TALLY = results_file.Tally()
    _STATE.clear()


def pytest_collection_finish(session):
    # only clause items make records: pytest conformance tests/test_formula.py --json was INCOMPLETE
    _TALLY.add_collected(item.nodeid for item in session.items if isinstance(item, ClauseItem))
    conformance = session.config.stash.get(STASH, None)
    if conformance is not None and not results_file.is_xdist_worker(session.config):
        # which backends each clause runs on, in order: a clause's first item hands the others
        # their batch ahead (properties.py). An xdist worker runs only some of its items: no plan.
        conformance.set_plan((item.clause.id, item.backend) for item in session.items
                             if isinstance(item, ClauseItem))
        if not session.config.option.collectonly:  # every framework imports at once, from now
            conformance.launch(dict.fromkeys(item.backend for item in session.items if isinstance(item, ClauseItem)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """The item after this one, for properties.py to hand its batch ahead (under xdist, where
    no process knows the whole order, pytest still knows the next item)."""
    conformance: Session | None = item.config.stash.get(STASH, None)
    if conformance is not None:
        conformance.next_item = (nextitem.clause.id, nextitem.backend) if isinstance(nextitem, ClauseItem) else None


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Each backend on one xdist worker, the costliest backends first (conformance/running/scheduling.py)."""
    session: Session | None = config.stash.get(STASH, None)
    if session is None or not _collects_specs(config):
        return None  # e.g. pytest tests -n 2: xdist's own scheduler
    from conformance.running import scheduling  # imports xdist, which only a -n run is sure to have

    return scheduling.make_scheduler(config, log, session.clauses, session.backends)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    # the controller collects nothing itself; its workers tell it (their clause items only)
    conformance: Session | None = node.config.stash.get(STASH, None)
    names = {f"{cid}[{name}]" for cid in conformance.clauses for name in conformance.backends} if conformance else set()
    _TALLY.add_collected(i for i in ids if "::" in i and i.rpartition("::")[2].split("@")[0] in names)


def pytest_collectreport(report):
    if report.failed:
        _TALLY.add_collection_error(report.nodeid, report.longreprtext)


def pytest_keyboard_interrupt(excinfo):
    _STATE["interrupt"] = excinfo.value


def pytest_runtest_logreport(report):
    for key, value in getattr(report, "user_properties", []):
        if key == "conformance" and report.when == "call":
            _TALLY.add_record(report.nodeid, json.loads(value))


def _implements_nothing() -> list[str]:
    """One line per backend every one of whose recorded clauses is unsupported: nothing was
    measured, which must not pass as a run of skips."""
    by_backend: dict[str, list[str]] = {}
    for record in _TALLY.recorded.values():
        by_backend.setdefault(record["backend"], []).append(record["status"])
    return [f"conformance: {name}: all {len(statuses)} of its clauses are unsupported: the adapter implements "
            "nothing they need, so nothing was measured (run it on clauses it implements)"
            for name, statuses in by_backend.items() if set(statuses) == {Status.UNSUPPORTED.value}]


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    path = config.stash.get(JSON_PATH, None)
    conformance: Session | None = config.stash.get(STASH, None)
    if conformance is not None and not results_file.is_xdist_worker(config):
        _STATE["nothing"] = _implements_nothing()
        if _STATE["nothing"] and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if path is None or conformance is None or results_file.is_xdist_worker(config):
        return
    _TALLY.stopped(results_file.stop_reason(exitstatus, session, _STATE.get("interrupt")))
    if config.option.collectonly:
        _TALLY.stopped("--collect-only: no item ran")
    try:
        results_file.write_atomic(path, _results(config, conformance))
    except Exception as exc:  # noqa: BLE001 - say so, fail the run, never INTERNALERROR
        _STATE["write_error"] = f"{type(exc).__name__}: {exc}"
        sys.stderr.write(f"conformance: could not write --json {path}: {_STATE['write_error']}\n")
        if session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        _STATE["written"] = path


def _known_clauses(config, session: Session) -> dict:
    if not session.clauses:  # the xdist controller collects nothing itself
        try:
            session.add_clauses(load_all(Path(config.getoption("spec_dir"))))
        except SpecError:
            pass  # the workers reported it as a collection error; the records carry the metadata
    return session.clauses


def pytest_terminal_summary(terminalreporter, config):
    session: Session | None = config.stash.get(STASH, None)
    results = list(_TALLY.recorded.values())
    if session is not None and results:
        _registry_warnings(terminalreporter, session, _known_clauses(config, session))
        counts: dict[str, dict[str, int]] = {}
        for result in results:
            row = counts.setdefault(result["backend"], {})
            label = classify_record(result).label
            row[label] = row.get(label, 0) + 1
        terminalreporter.section("conformance")
        for backend, row in counts.items():
            terminalreporter.write_line(f"{backend:18} " + ", ".join(f"{v} {k}" for k, v in sorted(row.items())))
        drawn = [r for r in results if r.get("examples") is not None]
        if drawn:
            run = config.stash[RUN]
            terminalreporter.write_line(
                f"drawn examples: {sum(r['examples'] for r in drawn)} over {len(drawn)} clause x backend "
                f"items (profile {run.profile.name}, seed {run.seed}"
                + (f", --max-examples {run.max_examples}" if run.max_examples else "")
                + f"; replay with {run.replay})")
            refused = [r for r in drawn if (r.get("refused") or {}).get("count")]
            for r in refused:  # never silent: each cell that refused drawn examples, with why
                terminalreporter.write_line(f"refused drawn examples: {r['clause']} on {r['backend']}: "
                                            + refused_text(r["refused"], r["examples"]), yellow=True)
    for line in _STATE.get("nothing", []):
        terminalreporter.write_line(line, red=True, bold=True)
    if "written" in _STATE:
        state = _TALLY.completeness()
        if state["complete"]:
            terminalreporter.write_line(f"results written to {_STATE['written']} "
                                        f"(complete: {state['recorded']} of {state['collected']} items)")
        else:
            terminalreporter.write_line(
                f"results written to {_STATE['written']}, INCOMPLETE: {state['recorded']} of "
                f"{state['collected']} collected items recorded"
                + (f"; {state['interrupted']}" if state["interrupted"] else ""), red=True, bold=True)
    elif "write_error" in _STATE:
        terminalreporter.write_line(f"results NOT written: {_STATE['write_error']}", red=True, bold=True)


def _registry_warnings(terminalreporter, session: Session, clauses: dict) -> None:
    known_backends = set(backends.builtin()) | set(session.backends)
    unknown = {(e.path, e.backend) for e in session.known.values() if e.backend not in known_backends}
    for path, backend in sorted(unknown):
        terminalreporter.write_line(f"registry: {path.name} is for backend {backend!r}, which does not exist",
                                    yellow=True)
    for entry in registry.stale(session.known, clauses):
        if entry.backend in session.backends:
            terminalreporter.write_line(
                f"registry: {entry.path.name} lists {entry.clause!r}, which matches no clause",
                yellow=True)


def _hypothesis_header(run: RunConfig) -> dict:
    """The results file's "hypothesis": the profile and seed, and --max-examples where it was given."""
    header = {"profile": run.profile.name, "seed": run.seed}
    if run.max_examples:
        header["max_examples"] = run.max_examples
    return header


def _results(config, session: Session) -> dict:
    clauses = _known_clauses(config, session)
    order = {cid: n for n, cid in enumerate(clauses)}  # document order, not alphabetical
    backend_order = {name: n for n, name in enumerate(session.backends)}
    results = sorted(_TALLY.recorded.values(), key=lambda r: (order.get(r["clause"], len(order)),
                                                               backend_order.get(r["backend"], 99)))
    return {
        "schema": SCHEMA,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hypothesis": _hypothesis_header(config.stash[RUN]),
        **_TALLY.completeness(),
        "backends": {name: _TALLY.backends.get(name) or session.info(name, probe=False)
                     for name in session.backends},
        "clauses": {cid: c.meta() for cid, c in clauses.items()},
        "results": results,
    }
