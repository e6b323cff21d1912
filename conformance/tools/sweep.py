"""``python -m conformance sweep``: the suite on several releases of each framework.

For each release a built-in adapter declares (``releases`` and its pinned release, backends/base.py
Declaration; ``--releases-file`` names a YAML list instead), the sweep creates a virtual environment of its
own (``python -m venv`` + pip), installs the framework and the suite's dependencies, and runs
``pytest conformance --backend NAME --json OUTPUT/NAME@RELEASE.json`` in it from the repository
root. What could not be installed on this machine is recorded, with pip's own reason, in
OUTPUT/sweep.json, and the sweep goes on: a missing wheel, a release that needs another Python, no
network, a full disk are findings about the machine, not failures of the sweep.

The environments live in the cache directory (default .sweep/, git-ignored) and are reused while
their requirements stay the same; pip's download cache is kept there too.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

import backends
from backends.base import RELEASE_ROLES
from conformance.judging.status import classify_record

ROOT = Path(__file__).resolve().parent.parent.parent
# The suite's own dependencies, unpinned: the pins in pyproject.toml (numpy 2) do not fit old
# frameworks, so pip chooses versions that fit the framework's requirements.
SUITE_DEPS = ("numpy", "pyyaml", "jsonschema", "scipy", "jinja2", "anybadge", "pytest", "pytest-xdist",
              "hypothesis", "packaging")
ROLES = RELEASE_ROLES
INSTALL_TIMEOUT = 3600.0
RUN_TIMEOUT = 3600.0


class SweepError(ValueError):
    """A malformed releases file or an unknown --backend/--release: names the file and entry."""


# A backend name and a release label become file and folder names (the release's venv under the
# cache, its results file under the output): plain names only, so neither can reach outside
# ("../.." once made ``venv --clear`` empty a folder outside the cache).
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")


def _plain(what: str, value) -> str:
    if not isinstance(value, str) or not PLAIN_NAME.fullmatch(value) or ".." in value:
        raise SweepError(f"{what} {value!r} must be a plain name: letters, digits, '.', '_', '+', '-', "
                         "starting with a letter or digit, no '..', at most 64 characters")
    return value


def _texts(what: str, value) -> tuple[str, ...]:
    """A list of pip requirements: a list (or tuple) of non-empty strings, never one string (a
    string is a sequence of letters: "keras==3.0.5" became ``pip install k e r a s ...``)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SweepError(f"{what} must be a list of pip requirements (text), not {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class Target:
    backend: str
    release: str
    role: str
    requirements: tuple[str, ...]
    no_deps: tuple[str, ...] = ()
    pre: bool = False

    def __post_init__(self):
        """Every release, declared by an adapter (backends/base.py Release, a third party's too) or
        read from a releases file, is checked here before anything is built from it."""
        _plain("backend", self.backend)
        _plain(f"{self.backend}: release", self.release)
        where = f"{self.label}:"
        if self.role not in ROLES:
            raise SweepError(f"{where} role must be one of {', '.join(ROLES)}, not {self.role!r}")
        object.__setattr__(self, "requirements", _texts(f"{where} requirements", self.requirements))
        if not self.requirements:
            raise SweepError(f"{where} requirements must name at least one package")
        object.__setattr__(self, "no_deps", _texts(f"{where} no_deps", self.no_deps))
        if type(self.pre) is not bool:
            raise SweepError(f"{where} pre must be true or false, not {self.pre!r}")

    @property
    def label(self) -> str:
        return f"{self.backend}@{self.release}"

    def key(self) -> str:
        """What the environment holds: it is rebuilt when this changes."""
        text = json.dumps([self.requirements, self.no_deps, self.pre, SUITE_DEPS])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Outcome:
    """One release's line in sweep.json."""

    backend: str
    release: str
    role: str
    requirements: list[str]
    status: str                  # ran | not-installed | failed | planned
    reason: str | None = None    # why not installed / why the run failed
    results: str | None = None   # the results JSON
    exit_code: int | None = None  # pytest's: 0 all as registered, 1 new divergences or errors
    installed: dict = field(default_factory=dict)  # the backend info of the results JSON
    counts: dict = field(default_factory=dict)     # status -> number of cells
    seconds: float = 0.0


# -- the plan ---------------------------------------------------------------------------------------
def declared() -> list[Target]:
    """The releases the built-in adapters declare, in the default order of the backends."""
    return [Target(d.name, r.release, r.role, r.requirements, r.no_deps, r.pre)
            for d in backends.catalogue() for r in d.sweep_releases()]


def load(path: Path | None = None) -> list[Target]:
    """The releases of a YAML file (``backends: {name: [{release, role, requirements, no_deps,
    pre}, ...]}``), or, without one, those the adapters declare."""
    if path is None:
        return declared()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SweepError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("backends"), dict):
        raise SweepError(f"{path}: a releases file has 'backends: {{name: [release, ...]}}'")
    targets = []
    for backend, entries in data["backends"].items():
        if entries is not None and not isinstance(entries, list):
            raise SweepError(f"{path}: {backend}: a list of releases, not {entries!r}")
        for n, raw in enumerate(entries or [], 1):
            where = f"{path}: {backend} #{n}"
            if not isinstance(raw, dict) or not raw.get("release") or not raw.get("requirements"):
                raise SweepError(f"{where}: every release needs 'release' and 'requirements'")
            unknown = set(raw) - {"release", "role", "requirements", "no_deps", "pre"}
            if unknown:
                raise SweepError(f"{where}: unknown keys {sorted(unknown)}")
            if not isinstance(raw["release"], str):  # release: 3.10 is the number 3.1 to YAML
                raise SweepError(f"{where}: release {raw['release']!r} must be text: quote it as written "
                                 f"(release: \"3.10\"; YAML reads 3.10 as the number 3.1)")
            try:
                targets.append(Target(backend, raw["release"], raw.get("role"), raw["requirements"],
                                      raw.get("no_deps") or (), raw.get("pre", False)))
            except SweepError as exc:
                raise SweepError(f"{where}: {exc}") from None
    labels = [t.label for t in targets]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise SweepError(f"{path}: {', '.join(twice)} listed twice (one venv and one results file each)")
    return targets


def select(targets: list[Target], backends=(), releases=()) -> list[Target]:
    """The targets of these backends and releases (a release by its label or its role)."""
    known_backends = {t.backend for t in targets}
    for name in backends:
        if name not in known_backends:
            raise SweepError(f"--backend {name!r}: no releases to sweep "
                             f"(known: {', '.join(sorted(known_backends))})")
    chosen = [t for t in targets if not backends or t.backend in backends]
    if releases:
        unknown = set(releases) - {t.release for t in chosen} - {t.role for t in chosen}
        if unknown:
            raise SweepError(f"--release {', '.join(sorted(unknown))}: no such release or role for "
                             f"{', '.join(sorted({t.backend for t in chosen}))}")
        chosen = [t for t in chosen if t.release in releases or t.role in releases]
    return chosen


# -- running ----------------------------------------------------------------------------------------
def _run(cmd, *, timeout, env=None, cwd=None) -> subprocess.CompletedProcess:
    """The one place a command runs (tests replace it)."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL)


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def commands(target: Target, venv: Path, output: Path, python: str) -> list[tuple[str, list[str]]]:
    """(step, command) in order: create the environment, install, run the suite."""
    py = str(_python(venv))
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check"] + (["--pre"] if target.pre else [])
    steps = [("create", [python, "-m", "venv", "--clear", str(venv)]),
             ("install", pip + [*target.requirements, *SUITE_DEPS])]
    if target.no_deps:
        steps.append(("install --no-deps", pip + ["--no-deps", *target.no_deps]))
    steps.append(("run", [py, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-q",
                          "--backend", target.backend, "--json", str(output / f"{target.label}.json")]))
    return steps


def _why(proc) -> str:
    """pip's or pytest's own words: its ERROR lines, else the last lines of its output."""
    text = ((proc.stderr or "") + "\n" + (proc.stdout or "")).strip()
    errors = [line.strip() for line in text.splitlines() if line.lstrip().startswith("ERROR")]
    lines = errors or [line for line in text.splitlines() if line.strip()][-5:]
    return " | ".join(lines)[-1200:] or f"exit code {proc.returncode}"


def _inside(path: Path, folder: Path) -> Path:
    """``path``, refused unless it stays under ``folder`` once resolved (symbolic links included):
    the sweep creates, clears and deletes only what its cache and output hold."""
    resolved = path.resolve()
    if not resolved.is_relative_to(folder.resolve()) or resolved == folder.resolve():
        raise SweepError(f"{path} is not inside {folder}: refusing to touch it")
    return path


def run_target(target: Target, cache: Path, output: Path, python: str) -> Outcome:
    venv = _inside(cache / "venvs" / target.label, cache / "venvs")
    _inside(output / f"{target.label}.json", output)
    outcome = Outcome(target.backend, target.release, target.role, list(target.requirements + target.no_deps),
                      "ran")
    env = {**os.environ, "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(cache / "pip"))}
    start = time.monotonic()
    marker = venv / ".sweep-key"
    reuse = marker.is_file() and marker.read_text().strip() == target.key()
    results = output / f"{target.label}.json"
    for step, cmd in commands(target, venv, output, python):
        if reuse and step != "run":
            continue
        if step == "run" and results.exists():
            results.unlink()  # never report an earlier run's results as this one's
        try:
            proc = _run(cmd, timeout=RUN_TIMEOUT if step == "run" else INSTALL_TIMEOUT, env=env,
                        cwd=str(ROOT) if step == "run" else None)
        except subprocess.TimeoutExpired as exc:
            outcome.status = "failed" if step == "run" else "not-installed"
            outcome.reason = f"{step}: no answer within {exc.timeout:.0f} s"
            break
        except OSError as exc:  # e.g. no such python, a full disk
            outcome.status, outcome.reason = "not-installed", f"{step}: {exc}"
            break
        if step != "run":
            if proc.returncode != 0:
                outcome.status, outcome.reason = "not-installed", f"{step}: {_why(proc)}"
                break
            continue
        if step == "run":
            outcome.exit_code = proc.returncode
            if results.exists():
                outcome.results = str(results)
                _summarize(outcome, results)
            if proc.returncode not in (0, 1) or not results.exists():
                outcome.status, outcome.reason = "failed", f"pytest exit code {proc.returncode}: {_why(proc)}"
            elif outcome.installed.get("available") is False:
                # installed, yet its framework did not import: every clause skipped, nothing ran
                outcome.status = "failed"
                outcome.reason = (f"{target.backend} is not available in its environment: "
                                  f"{outcome.installed.get('reason') or 'no reason given'}")
    if outcome.status != "not-installed":
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(target.key() + "\n")
    elif marker.exists():
        marker.unlink()  # a half-built environment is built again next time
    outcome.seconds = round(time.monotonic() - start, 1)
    return outcome


def _summarize(outcome: Outcome, path: Path) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    outcome.installed = (data.get("backends") or {}).get(outcome.backend) or {}
    counts: dict[str, int] = {}
    for result in data.get("results", []):
        label = classify_record(result).label  # as the plugin's terminal summary words it
        counts[label] = counts.get(label, 0) + 1
    outcome.counts = dict(sorted(counts.items()))


def sweep(targets, cache: Path, output: Path, python: str, dry_run=False, say=print, jobs: int = 1) -> list[Outcome]:
    """Every target in its own environment, ``jobs`` releases at a time (each a venv, a pip install and
    a pytest run of its own: no two share a folder). A progress line when a release starts and when it
    ends; sweep.json is rewritten after each, in the order of ``targets``, so an interrupted sweep
    keeps what ran. The outcomes come in the order of ``targets``, whatever order they finished in."""
    if jobs < 1:
        raise SweepError(f"--jobs {jobs}: at least 1 release at a time")
    cache, output = Path(cache).resolve(), Path(output).resolve()
    for target in targets:
        _inside(cache / "venvs" / target.label, cache / "venvs")  # Target checked the label; this the path
    if dry_run:
        outcomes = []
        for target in targets:
            venv = cache / "venvs" / target.label
            say(f"# {target.label} ({target.role})")
            for _, cmd in commands(target, venv, output, python):
                say("  " + shlex.join(cmd))
            outcomes.append(Outcome(target.backend, target.release, target.role,
                                    list(target.requirements + target.no_deps), "planned"))
        return outcomes
    output.mkdir(parents=True, exist_ok=True)
    finished: list[Outcome | None] = [None] * len(targets)
    lock, total = threading.Lock(), len(targets)

    def one(n: int, target: Target) -> None:
        with lock:
            say(f"{target.label}: installing {' '.join(target.requirements + target.no_deps)} ...")
        outcome = run_target(target, cache, output, python)
        with lock:
            finished[n] = outcome
            done = sum(o is not None for o in finished)
            say(f"[{done}/{total}] {target.label}: {outcome.status} in {outcome.seconds:.0f} s"
                + (f" ({outcome.reason})" if outcome.reason else "")
                + (f" {outcome.counts}" if outcome.counts else ""))
            _write_summary([o for o in finished if o is not None], output, python)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one, n, target) for n, target in enumerate(targets)]
        try:
            for future in futures:
                future.result()
        except BaseException:  # a bug, not a finding (or Ctrl-C): no release starts after it
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [o for o in finished if o is not None]


def _write_summary(outcomes, output: Path, python: str) -> Path:
    path = output / "sweep.json"
    data = {"generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": python, "releases": [asdict(o) for o in outcomes]}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def table(targets) -> str:
    lines = ["| backend | release | role | requirements |", "|---|---|---|---|"]
    for t in targets:
        reqs = " ".join(t.requirements) + "".join(f" (--no-deps {r})" for r in t.no_deps)
        lines.append(f"| {t.backend} | {t.release} | {t.role}{' (pre)' if t.pre else ''} | {reqs} |")
    return "\n".join(lines)


# -- command line -----------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", action="append", default=[], help="only this backend (repeatable)")
    parser.add_argument("--release", action="append", default=[],
                        help="only this release label or role: oldest, middle, pinned, nightly (repeatable)")
    parser.add_argument("--list", action="store_true", help="print the releases and exit")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--output", "-o", default=".sweep/results",
                        help="directory for NAME@RELEASE.json and sweep.json (default .sweep/results)")
    parser.add_argument("--cache", default=".sweep", help="virtual environments and pip cache (default .sweep)")
    parser.add_argument("--releases-file", default=None,
                        help="a list of releases (YAML) instead of those the adapters declare")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                        help="releases at a time, each in its own environment (default 1)")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter the environments are made from (default: this one)")


def main(args) -> int:
    try:
        targets = select(load(args.releases_file and Path(args.releases_file)), args.backend, args.release)
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        print(table(targets))
        return 0
    try:
        outcomes = sweep(targets, Path(args.cache), Path(args.output), args.python, dry_run=args.dry_run,
                         jobs=args.jobs)
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        return 0
    not_installed = [o for o in outcomes if o.status == "not-installed"]
    failed = [o for o in outcomes if o.status == "failed"]
    print(f"{len(outcomes) - len(not_installed) - len(failed)} ran, {len(not_installed)} not installed, "
          f"{len(failed)} failed; summary in {Path(args.output) / 'sweep.json'}")
    return 1 if failed else 0
