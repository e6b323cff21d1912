"""``python -m conformance selftest``: the mutation self-test.

Every mutant of conformance/tools/mutants.py is a framework with one plausible bug, run through
the public third-party path (``python -m conformance run --backend conformance.tools.mutants:Name``),
each in a worker process of its own. The self-test runs them all (the mutants split over ``--jobs``
pytest runs, each mutant still alone in its worker), then reads the results:

* a clause **catches** a mutant when it fails the run on it: a normative or extension clause
  that diverges anew (a new divergence, or a known divergence that changed), a registered
  divergence that now conforms, or an error;
* a characterization clause never fails a run (the document is silent there): one that records
  a behaviour differing from the reference's only **notices** the mutant. A mutant that clauses
  it names only notice is listed apart, and not counted as caught;
* every mutant must be caught, or noticed, by a clause it names (its ``kills``): the score is
  the share that are caught;
* every normative clause must catch at least one mutant, or be listed as weak, with a reason, in
  conformance/tools/weak_clauses.yaml; an entry there for a clause that does catch one is stale.

It prints the kill matrix (clause x mutant) and the score, and exits 1 if a mutant survives, a
normative clause is weak without being listed or a listed one is not weak; 2 on a usage error.
``--update docs/SELFTEST.md`` (:data:`DOC`) rewrites the block between the selftest markers
(tests/test_selftest.py keeps it current).

The mutants and the weak list are package data, and the runs use the packaged suite's own pytest
configuration (:func:`conformance.pytest_command`), so the self-test runs the same from a source
tree and from an installed package (``pip install .``), from any folder. ``--module`` takes another
importable module of mutants (tests/test_selftest.py uses tests.fake_backends).
"""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from conformance import pytest_command
from conformance.language import registry
from conformance.language.spec import ROOT, SPEC_DIR, SpecError, _rel, load_all, read_yaml
from conformance.tools import blocks

MODULE = "conformance.tools.mutants"
WEAK_FILE = Path(__file__).with_name("weak_clauses.yaml")
SOURCE_TREE = (ROOT / "pyproject.toml").is_file()   # not an installed package
START, END = "<!-- selftest:start -->", "<!-- selftest:end -->"
# the README's one-line score (issue 16: "with the score in the README")
SCORE_START, SCORE_END = "<!-- selftest-score:start -->", "<!-- selftest-score:end -->"
DOC = "docs/SELFTEST.md"  # the page holding the block, from the repository root
FRAMEWORK_COST = 10   # a mutant of a real framework (imports it, runs it) costs about ten NumPy ones
TIMEOUT = 1800.0


class SelftestError(RuntimeError):
    """The self-test could not run or read its results; the message says what and where."""


@dataclass(frozen=True)
class Mutant:
    name: str          # the class name
    backend: str       # what --backend gets: module:Class
    bug: str           # the docstring's first sentence
    kills: tuple       # the clauses that must catch it
    base: str | None   # a real framework's backend name, whose registered divergences it keeps
    keeps: tuple = ()  # (backend, clause): registered divergences of another backend it reproduces
    # runs on the clauses it names only (``only_named = True`` on its class): a planted fault in an
    # exported artifact, whose column costs minutes in full and whose fault only those clauses meet
    only_named: bool = False

    @property
    def cost(self) -> int:
        return FRAMEWORK_COST if self.base else 1


def discover(module: str = MODULE) -> list[Mutant]:
    """The mutants defined in ``module`` (classes with a non-empty ``kills``), in file order."""
    if SOURCE_TREE and str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # --module tests.fake_backends: the repository's, from any folder
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure is a usage error naming the module
        raise SelftestError(f"cannot import mutant module {module!r}: {type(exc).__name__}: {exc}") from None
    found = []
    for name, cls in vars(mod).items():
        kills = getattr(cls, "kills", None) if isinstance(cls, type) else None
        if not kills or cls.__module__ != mod.__name__:
            continue
        if isinstance(kills, str) or not all(isinstance(k, str) and k for k in kills):
            raise SelftestError(f"{module}:{name}: 'kills' must be a tuple of clause ids, not {kills!r}")
        doc = " ".join((cls.__doc__ or "").split())
        if not doc:
            raise SelftestError(f"{module}:{name}: a mutant says what its bug is in its docstring")
        only_named = getattr(cls, "only_named", False)
        if type(only_named) is not bool:
            raise SelftestError(f"{module}:{name}: 'only_named' must be True or False, not {only_named!r}")
        found.append(Mutant(name, f"{module}:{name}", doc, tuple(kills), getattr(cls, "base", None),
                            _keeps(module, name, getattr(cls, "keeps", None) or {}), only_named))
    return found


def _keeps(module: str, name: str, keeps) -> tuple:
    """A mutant's ``keeps`` ({backend: (clause, ...)}) as (backend, clause) pairs."""
    if not isinstance(keeps, dict) or not all(
            isinstance(b, str) and isinstance(cs, tuple) and all(isinstance(c, str) for c in cs)
            for b, cs in keeps.items()):
        raise SelftestError(f"{module}:{name}: 'keeps' maps a backend name to a tuple of clause ids, not {keeps!r}")
    return tuple((b, c) for b, cs in keeps.items() for c in cs)


def load_weak(path: Path = WEAK_FILE) -> dict[str, str]:
    """weak_clauses.yaml: ``weak: [{clause, reason}]``, clause id -> reason."""
    if not Path(path).exists():
        return {}
    try:
        data = read_yaml(path)
    except SpecError as exc:
        raise SelftestError(str(exc)) from None
    entries = (data or {}).get("weak") if isinstance(data, dict) else None
    if not isinstance(data, (dict, type(None))) or not isinstance(entries, (list, type(None))):
        raise SelftestError(f"{path}: a mapping with 'weak', a list of {{clause, reason}}")
    weak = {}
    for n, entry in enumerate(entries or [], 1):
        if (not isinstance(entry, dict) or set(entry) != {"clause", "reason"}
                or not all(isinstance(v, str) and v.strip() for v in entry.values())):
            raise SelftestError(f"{path}: entry #{n} needs exactly 'clause' and 'reason', both text")
        weak[entry["clause"]] = " ".join(entry["reason"].split())
    return weak


# -- running ------------------------------------------------------------------------------------
def _spec_dir(tmp: Path, spec_dir: Path, mutants) -> Path:
    """A --spec-dir: the spec files, and for each framework mutant its framework's registered
    divergences (and those it ``keeps`` of another backend), registered again under the mutant's
    name (so they stay expected failures, and one the bug changes is a "known divergence changed")."""
    target = tmp / "specs"
    (target / "divergences").mkdir(parents=True)
    for path in sorted(Path(spec_dir).glob("*.yaml")):
        shutil.copyfile(path, target / path.name)
    known = registry.load(Path(spec_dir) / "divergences")
    for n, mutant in enumerate(m for m in mutants if m.base or m.keeps):
        mine = [registry.as_entry(e) for e in known.values()
                if e.backend == mutant.base or (e.backend, e.clause) in mutant.keeps]
        missing = [f"{b}: {c}" for b, c in mutant.keeps if not any(
            (e.backend, e.clause) == (b, c) for e in known.values())]
        if missing:
            raise SelftestError(f"{mutant.backend} keeps divergences that are not registered: {', '.join(missing)}")
        if mine:
            (target / "divergences" / f"mutant-{n}-{mutant.base or 'keeps'}.yaml").write_text(
                yaml.safe_dump({"backend": mutant.backend, "divergences": mine}, sort_keys=False), encoding="utf-8")
    return target


def _groups(mutants, jobs: int) -> list[list[Mutant]]:
    """Mutants split over ``jobs`` runs of about equal cost, each in file order."""
    loads = [[0, []] for _ in range(max(1, min(jobs, len(mutants))))]
    for mutant in sorted(mutants, key=lambda m: -m.cost):
        lightest = min(loads, key=lambda g: g[0])
        lightest[0] += mutant.cost
        lightest[1].append(mutant)
    order = {m.name: i for i, m in enumerate(mutants)}
    return [sorted(g, key=lambda m: order[m.name]) for _, g in loads if g]


def plan(mutants, jobs: int) -> list[tuple[list[Mutant], tuple[str, ...]]]:
    """The pytest runs: (mutants, extra arguments). The mutants are split over ``jobs`` runs on
    every clause; a mutant that runs on the clauses it names only (``only_named``) has a run of its
    own, filtered by ``-k``."""
    runs = [(g, ()) for g in _groups([m for m in mutants if not m.only_named], jobs)]
    return runs + [([m], ("-k", " or ".join(m.kills))) for m in mutants if m.only_named]


def run(mutants, jobs: int = 2, spec_dir: Path = SPEC_DIR, timeout: float = TIMEOUT,
        echo=None, max_examples: int | None = None) -> list[dict]:
    """Run every mutant on every clause; returns the result records."""
    if not mutants:
        raise SelftestError("no mutants to run")
    with tempfile.TemporaryDirectory(prefix="selftest-") as tmp:
        tmp = Path(tmp)
        specs = _spec_dir(tmp, spec_dir, mutants)
        procs = []
        for n, (group, only) in enumerate(plan(mutants, jobs)):
            out, log = tmp / f"results-{n}.json", tmp / f"log-{n}.txt"
            args = pytest_command("-q", "--spec-dir", str(specs), "--json", str(out), *only,
                                  *(("--max-examples", str(max_examples)) if max_examples else ()))
            for mutant in group:
                args += ["--backend", mutant.backend]
            # a source tree's modules are importable from its root; an installed suite's from anywhere,
            # and a --module of the caller's from the caller's folder
            with open(log, "wb") as fh:
                procs.append((subprocess.Popen(args, cwd=ROOT if SOURCE_TREE else None, stdout=fh,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL),
                              out, log, group))
            if echo:
                echo(f"run {n + 1}: {len(group)} mutant(s): {', '.join(m.name for m in group)}")
        deadline = time.monotonic() + timeout
        records = []
        try:
            for proc, out, log, group in procs:
                try:
                    proc.wait(timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise SelftestError(f"the run of {', '.join(m.name for m in group)} took more than "
                                        f"{timeout:.0f} s") from None
                records += _read(proc, out, log)
        finally:
            for proc, *_ in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return records


def _read(proc, out: Path, log: Path) -> list[dict]:
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    if proc.returncode not in (0, 1) or not out.exists():
        raise SelftestError(f"a mutant run stopped (exit {proc.returncode}) without results:\n{tail}")
    data = json.loads(out.read_text())
    if not data.get("complete"):
        raise SelftestError(f"a mutant run is incomplete ({data.get('recorded')} of {data.get('collected')} "
                            f"items; {data.get('interrupted')}):\n{tail}")
    return data["results"]


# -- judging ------------------------------------------------------------------------------------
def caught(record: dict) -> bool:
    """Whether the record fails the run on its backend, so catches it (see the module docstring)."""
    if record["level"] == "characterization":
        return False  # the document is silent: never fails a run (see noticed)
    if record["status"] == "error":
        return True
    if record.get("known"):
        return record["status"] in ("conform", "emulated")  # a registered divergence that vanished
    return record["status"] == "diverge"


def noticed(record: dict) -> bool:
    """Whether a characterization clause records a behaviour that differs from the reference's."""
    return record["level"] == "characterization" and record["status"] == "diverge"


@dataclass
class Verdict:
    mutants: list
    clauses: list                 # every clause, in spec order
    cells: dict                   # (mutant name, clause id) -> "kill" | "error" | "noticed" | ""
    weak_listed: dict             # clause -> reason, from weak_clauses.yaml
    complete: bool = True         # every mutant of the module ran (the weak check needs them all)
    survivors: list = field(default_factory=list)   # neither caught nor noticed by a clause they name
    noticed: list = field(default_factory=list)     # only noticed (characterization): not counted as caught
    weak: list = field(default_factory=list)        # normative clauses catching no mutant
    unlisted: list = field(default_factory=list)    # weak and not listed
    stale: list = field(default_factory=list)       # listed, but not a weak normative clause
    broken: list = field(default_factory=list)      # its own code failed on a clause it names: proves nothing

    @property
    def killed(self) -> int:
        return len(self.mutants) - len(self.survivors) - len(self.noticed) - len(self.broken)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / len(self.mutants) if self.mutants else 0.0

    @property
    def ok(self) -> bool:
        return not self.survivors and not self.unlisted and not self.stale and not self.broken

    def catches(self, mutant) -> list[str]:
        """The clauses it names that caught it (failed the run on it)."""
        return [c for c in mutant.kills if self.cells.get((mutant.name, c)) in CAUGHT]

    def notices(self, mutant) -> list[str]:
        """The characterization clauses it names that noticed it."""
        return [c for c in mutant.kills if self.cells.get((mutant.name, c)) == "noticed"]

    def killers(self, clause_id) -> list[str]:
        return [m.name for m in self.mutants if self.cells.get((m.name, clause_id)) in CAUGHT]


CAUGHT = ("kill", "error")  # the cells that fail the run


def broken(record: dict) -> bool:
    """Whether the record is an error of the mutant's own code (an adapter error: the adapter, not
    the framework, raised), e.g. an override whose signature no longer matches the adapter it
    patches. Such a record fails the run, but catches no bug: the planted one never ran."""
    cause = record.get("cause") or {}
    return (record["status"] == "error" and cause.get("where") == "backend"
            and str(cause.get("message", "")).startswith("adapter error"))


def judge(mutants, records, clauses, weak_listed=None, complete=True) -> Verdict:
    ids = {c.id for c in clauses}
    for mutant in mutants:
        unknown = [k for k in mutant.kills if k not in ids]
        if unknown:
            raise SelftestError(f"{mutant.backend} names clauses that do not exist: {', '.join(unknown)}")
    by_backend = {m.backend: m for m in mutants}
    cells = {}
    for r in records:
        mutant = by_backend.get(r["backend"])
        if mutant is not None:
            cells[(mutant.name, r["clause"])] = ("broken" if broken(r) else "error" if r["status"] == "error"
                                                 else "kill" if caught(r) else "noticed" if noticed(r) else "")
    verdict = Verdict(list(mutants), list(clauses), cells, dict(weak_listed or {}), complete)
    verdict.broken = [m.name for m in mutants if any(verdict.cells.get((m.name, c)) == "broken" for c in m.kills)]
    verdict.noticed = [m.name for m in mutants if m.name not in verdict.broken
                       and not verdict.catches(m) and verdict.notices(m)]
    verdict.survivors = [m.name for m in mutants if m.name not in verdict.broken
                         and not verdict.catches(m) and not verdict.notices(m)]
    if complete:
        normative = [c.id for c in clauses if c.level == "normative"]
        verdict.weak = [c for c in normative if not verdict.killers(c)]
        verdict.unlisted = [c for c in verdict.weak if c not in verdict.weak_listed]
        verdict.stale = [c for c in verdict.weak_listed if c not in verdict.weak]
    return verdict


# -- showing ------------------------------------------------------------------------------------
SYMBOLS = {"named": "X", "other": "x", "error": "!", "broken": "B", "noticed": "n", "": "."}


def _symbol(verdict, mutant, clause_id) -> str:
    cell = verdict.cells.get((mutant.name, clause_id), "")
    if cell == "kill":
        return SYMBOLS["named"] if clause_id in mutant.kills else SYMBOLS["other"]
    return SYMBOLS[cell] if cell in SYMBOLS else "?"


def matrix_text(verdict: Verdict) -> str:
    """The kill matrix: one row per judged clause (and per characterization clause a mutant names),
    one column per mutant (numbered; the list follows)."""
    named = {k for m in verdict.mutants for k in m.kills}
    rows = [c for c in verdict.clauses if c.level != "characterization" or c.id in named]
    width = max(len(c.id) for c in rows) + 4
    n = len(verdict.mutants)
    numbers = [f"{i + 1:>3}" for i in range(n)]
    head = [" " * (width + 2) + "".join(num[k] for num in numbers) for k in range(3)]
    lines = ["kill matrix: X caught by a clause the mutant names, x by another clause, ! error (fails the run: "
             "caught), B the mutant's own code failed (broken: not caught), n noticed only, . not caught",
             "(a characterization clause never fails a run: behaving differently from the reference, it only "
             "notices a mutant)", ""]
    lines += [h.rstrip() for h in head if h.strip()]
    for c in rows:
        level = {"normative": "N", "extension": "E", "characterization": "C"}[c.level]
        cells = "".join(_symbol(verdict, m, c.id) for m in verdict.mutants)
        lines.append(f"{c.id:<{width - 2}}{level}   {cells}")
    lines += ["", "mutants:"]
    for i, m in enumerate(verdict.mutants, 1):
        lines.append(f"{i:>3}  {m.name}: {_state(verdict, m)}")
    return "\n".join(lines)


def _state(verdict, mutant) -> str:
    if mutant.name in verdict.broken:
        return "BROKEN: its own code fails on a clause it names (an adapter error); fix the mutant"
    got = verdict.catches(mutant)
    if got:
        return f"caught by {', '.join(got)}"
    seen = verdict.notices(mutant)
    if seen:
        return f"NOTICED only by {', '.join(seen)} (characterization: never fails a run; not counted as caught)"
    return f"SURVIVED (names {', '.join(mutant.kills)})"


def summary_text(verdict: Verdict) -> str:
    lines = [f"score: {verdict.killed}/{len(verdict.mutants)} mutants caught by a clause they name "
             f"({verdict.score:.0f}%)"]
    if verdict.noticed:
        lines.append(f"noticed only (by a characterization clause, not caught): {', '.join(verdict.noticed)}")
    if verdict.survivors:
        lines.append(f"SURVIVED: {', '.join(verdict.survivors)}")
    if verdict.broken:
        lines.append("BROKEN (the mutant's own code failed, an adapter error: not caught): "
                     + ", ".join(verdict.broken))
    if not verdict.complete:
        lines.append("weak clauses not checked: only some of the mutants ran (--mutant)")
        return "\n".join(lines + ["self-test " + ("passed" if verdict.ok else "FAILED")])
    normative = sum(c.level == "normative" for c in verdict.clauses)
    lines.append(f"normative clauses: {normative}, {normative - len(verdict.weak)} catching at least one mutant")
    for c in verdict.weak:
        reason = verdict.weak_listed.get(c)
        lines.append(f"  weak: {c}" + (f" (listed: {reason})" if reason else
                                         " NOT LISTED: add a mutant it catches, or list it with a reason "
                                         f"in {_rel(WEAK_FILE)}"))
    for c in verdict.stale:
        lines.append(f"  STALE weak entry: {c} is not a weak normative clause; remove it from "
                     f"{_rel(WEAK_FILE)}")
    lines.append("self-test " + ("passed" if verdict.ok else "FAILED"))
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(verdict: Verdict) -> str:
    """The block of docs/SELFTEST.md: the score, every mutant with the clauses that caught it, the weak list."""
    normative = sum(c.level == "normative" for c in verdict.clauses)
    lines = [f"**Mutation score: {verdict.killed}/{len(verdict.mutants)} ({verdict.score:.0f}%).** "
             f"{len(verdict.mutants)} mutants (`conformance/tools/mutants.py`), each a plausible framework bug "
             "run as a third-party backend; each must be caught by a clause it names: fail the run (a new "
             "normative or extension divergence, a known one changed or gone, or an error). "
             + (f"{len(verdict.noticed)} only noticed (a characterization clause records a behaviour that "
                "differs from the reference's, which never fails a run), not counted: "
                + ", ".join(f"`{n}`" for n in verdict.noticed) + ". " if verdict.noticed else "")
             + f"{normative - len(verdict.weak)} of the {normative} normative clauses catch at least one.",
             "", "Weak normative clauses (catching no mutant, listed with a reason in "
             "`conformance/tools/weak_clauses.yaml`): " + (", ".join(
                 f"`{c}` ({_md(verdict.weak_listed.get(c, 'NOT LISTED'))})" for c in verdict.weak) or "none") + ".",
             "", "| # | Mutant | The bug | Caught by the clauses it names |", "|---|---|---|---|"]
    for i, m in enumerate(verdict.mutants, 1):
        got, seen = verdict.catches(m), verdict.notices(m)
        lines.append(f"| {i} | `{m.name}` | {_md(m.bug)} | " + (
            "**broken** (its own code fails: not caught)" if m.name in verdict.broken else
            ", ".join(f"`{c}`" for c in got) if got else
            "noticed only, by " + ", ".join(f"`{c}`" for c in seen) + " (not caught)" if seen else
            "**survived**") + " |")
    return "\n".join(lines) + "\n"


def score_line(verdict: Verdict) -> str:
    """The README's line: how many mutants the run catches, how many are only noticed."""
    noticed = (f"; {len(verdict.noticed)} more only noticed by a characterization clause (the document "
               "is silent there, so nothing can fail)" if verdict.noticed else "")
    return (f"**Self-test: {verdict.killed} of {len(verdict.mutants)} mutants caught** (each fails the "
            f"run){noticed}; every one, and the clauses that catch it: [docs/SELFTEST.md](docs/SELFTEST.md).\n")


def update(path, verdict: Verdict) -> bool:
    """Rewrite the selftest block (docs/SELFTEST.md) and the score line (README.md), whichever
    ``path`` holds; True when the file changed."""
    text = Path(path).read_text(encoding="utf-8")
    if START not in text and SCORE_START not in text:
        raise SelftestError(f"{path}: no {START} ... {END} block and no {SCORE_START} ... {SCORE_END} line")
    changed = False
    try:
        if START in text:
            changed |= blocks.rewrite(path, START, END, markdown(verdict))
        if SCORE_START in text:
            changed |= blocks.rewrite(path, SCORE_START, SCORE_END, score_line(verdict))
    except ValueError as exc:
        raise SelftestError(str(exc)) from None
    return changed


def current(path) -> str:
    """The block as it stands in ``path``."""
    text = Path(path).read_text(encoding="utf-8")
    return text.split(START, 1)[1].split(END, 1)[0].lstrip("\n") if START in text else ""


# -- the command --------------------------------------------------------------------------------
def selftest(module: str = MODULE, only=(), jobs: int = 2, spec_dir: Path = SPEC_DIR,
             weak_file: Path = WEAK_FILE, echo=None, max_examples: int | None = None) -> Verdict:
    """Every mutant (or those named in ``only``) on every clause; ``max_examples``: drawn examples
    per clause and mutant in place of the ci profile's (``pytest conformance --max-examples``)."""
    if max_examples is not None and max_examples < 1:
        raise SelftestError(f"--max-examples must be at least 1, not {max_examples}")
    mutants = discover(module)
    if only:
        known = {m.name: m for m in mutants}
        missing = [n for n in only if n not in known]
        if missing:
            raise SelftestError(f"no mutant named {', '.join(missing)} in {module} "
                                f"(known: {', '.join(known)})")
        mutants = [known[n] for n in dict.fromkeys(only)]
    try:
        clauses = load_all(Path(spec_dir))
    except SpecError as exc:
        raise SelftestError(f"spec error: {exc}") from None
    weak = load_weak(weak_file)
    judge(mutants, [], clauses, weak, complete=False)  # names checked before anything runs
    records = run(mutants, jobs, spec_dir, echo=echo, max_examples=max_examples)
    return judge(mutants, records, clauses, weak, complete=not only)


def main(args) -> int:
    """The ``selftest`` subcommand (argparse namespace from conformance/__main__.py)."""
    try:
        if args.update and args.mutant:
            raise SelftestError("--update needs the whole self-test: drop --mutant")
        if args.update and args.max_examples:
            raise SelftestError("--update needs the whole self-test: drop --max-examples")
        if args.jobs < 1:
            raise SelftestError(f"--jobs must be at least 1, not {args.jobs}")
        verdict = selftest(args.module, args.mutant or (), args.jobs, Path(args.spec_dir),
                           Path(args.weak), echo=print, max_examples=args.max_examples)
        print(matrix_text(verdict), summary_text(verdict), sep="\n\n")
        for path in args.update:
            changed = update(path, verdict)
            print(f"{path}: {'updated' if changed else 'already up to date'}")
    except SelftestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0 if verdict.ok else 1
