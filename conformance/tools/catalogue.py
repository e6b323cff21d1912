"""``python -m conformance catalogue``: the built-in backends as their adapters declare them
(backends/base.py, Declaration), and the blocks of the project's files made from the declarations.

pyproject.toml's extras, tox.ini's backend environments (and its env_list and the report's
``depends``), the CI workflow's matrix, the Makefile's ``--no-deps`` install and the README's
backend table sit between marker lines; ``--write`` rewrites them, ``--check`` (and
tests/test_ci_config.py) fails naming the file and block that differ from the declarations.
"""
from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

import backends
from backends.base import Declaration
from conformance.tools import blocks

ROOT = Path(__file__).resolve().parent.parent.parent
COMMAND = "python -m conformance catalogue --write"
NOTE = f"generated from the adapters' declarations by {COMMAND}"
# tox environments after the backends', in env_list
OTHER_TOX_ENVS = ("report", "tests", "lint")


@dataclass(frozen=True)
class Block:
    """A generated block: ``file`` (relative to the source tree) between ``start`` and ``end``."""

    file: str
    name: str
    start: str
    end: str
    make: Callable[[tuple[Declaration, ...]], str]


def check_pins(declarations) -> None:
    """ValueError when a pin is not one exact version (``name==version``), or when two backends pin
    one package at different versions (the ``all`` extra could not install both)."""
    pinned: dict[str, tuple[str, str]] = {}
    for d in declarations:
        for text in d.pins + d.no_deps:
            try:
                req = Requirement(text)
            except InvalidRequirement as exc:
                raise ValueError(f"backend {d.name!r}: pin {text!r}: {exc}") from None
            specs = list(req.specifier)
            if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
                raise ValueError(f"backend {d.name!r}: {text!r} is not an exact pin (name==version)")
            name = req.name.lower().replace("_", "-")
            other = pinned.setdefault(name, (text, d.name))
            if other[0] != text:
                raise ValueError(f"backend {d.name!r} pins {text!r} but {other[1]!r} pins {other[0]!r}: "
                                 "one environment (the 'all' extra) cannot hold both")


def _all_pins(declarations) -> list[str]:
    return list(dict.fromkeys(p for d in declarations for p in d.pins))


def _no_deps(declarations) -> list[str]:
    return list(dict.fromkeys(p for d in declarations for p in d.no_deps))


def _comment(text: str, prefix: str = "# ") -> list[str]:
    return [prefix + line for line in textwrap.wrap(text, 100 - len(prefix))]


def _why_no_deps(d: Declaration) -> str:
    return f"{d.name}: {' '.join(d.no_deps)} is installed with pip --no-deps: {d.no_deps_why}"


def _quoted(items) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


# -- the blocks -------------------------------------------------------------------------------------
def pyproject_extras(declarations) -> str:
    lines = []
    for d in declarations:
        if not d.pins and not d.no_deps:
            continue
        if d.no_deps:
            lines += _comment(_why_no_deps(d))
        lines.append(f"{d.name} = {_quoted(d.pins)}")
    for group in dict.fromkeys(d.group for d in declarations if d.group):  # e.g. export
        if group in {d.name for d in declarations}:
            raise ValueError(f"group extra {group!r} has a backend's name")
        lines.append(f"{group} = {_quoted(_all_pins([d for d in declarations if d.group == group]))}")
    lines.append(f"all = {_quoted(_all_pins(declarations))}")
    return "".join(line + "\n" for line in lines)


def tox_env_list(declarations) -> str:
    return f"env_list = {', '.join([d.name for d in declarations] + list(OTHER_TOX_ENVS))}\n"


def tox_envs(declarations) -> str:
    lines = []
    for d in declarations:
        lines += [f"[testenv:{d.name}]", f"description = run the conformance suite on {d.display}"]
        if d.pins:
            lines += ["deps =", *(f"    {pin}" for pin in d.pins)]
        if d.no_deps:
            lines += [*_comment(_why_no_deps(d)), "commands_pre =",
                      f"    python -m pip install --no-deps {' '.join(d.no_deps)}", "    {[testenv]commands_pre}"]
        lines.append("")
    return "\n".join(lines)


def tox_report_depends(declarations) -> str:
    return f"depends = {', '.join(d.name for d in declarations)}\n"


def workflow_matrix(declarations) -> str:
    return f"        backend: [{', '.join(d.name for d in declarations)}]\n"


def workflow_sweep_matrix(declarations) -> str:
    """The weekly sweep's matrix: one job per (backend, release) the adapters declare."""
    rows = [f"          - {{backend: {d.name}, release: \"{r.release}\"}}\n"
            for d in declarations for r in d.sweep_releases()]
    return "        include:\n" + "".join(rows)


def makefile_no_deps(declarations) -> str:
    no_deps = _no_deps(declarations)
    if not no_deps:
        return ""
    why = [line for d in declarations if d.no_deps for line in _comment(_why_no_deps(d), "\t@# ")]
    return "".join(line + "\n" for line in why) + f"\t$(PY) -m pip install --quiet --no-deps {' '.join(no_deps)}\n"


def readme_table(declarations) -> str:
    lines = ["| backend | what runs | installs (exact pins) |", "|---|---|---|"]
    for d in declarations:
        what = d.display + (f": {d.summary}" if d.summary else "")
        installs = [f"`{p}`" for p in d.pins] + [f"`{p}` (`--no-deps`)" for p in d.no_deps]
        lines.append(f"| `{d.name}` | {what} | {', '.join(installs) or 'nothing but the suite'} |")
    return "\n".join(lines) + "\n"


def _hash_block(file, name, make, indent="") -> Block:
    return Block(file, name, f"{indent}# {name}:start ({NOTE})", f"{indent}# {name}:end", make)


BLOCKS = (
    _hash_block("pyproject.toml", "backend-extras", pyproject_extras),
    _hash_block("tox.ini", "backend-env-list", tox_env_list),
    _hash_block("tox.ini", "backend-envs", tox_envs),
    _hash_block("tox.ini", "backend-report-depends", tox_report_depends),
    _hash_block(".github/workflows/conformance.yml", "backend-matrix", workflow_matrix, indent="        "),
    _hash_block(".github/workflows/conformance.yml", "sweep-matrix", workflow_sweep_matrix, indent="        "),
    Block("Makefile", "backend-no-deps", f"\t@# backend-no-deps:start ({NOTE})", "\t@# backend-no-deps:end",
          makefile_no_deps),
    Block("README.md", "backend-table", f"<!-- backend-table:start ({NOTE}) -->", "<!-- backend-table:end -->",
          readme_table),
)


# -- checking and writing ---------------------------------------------------------------------------
def stale(root: Path = ROOT, declarations=None) -> list[str]:
    """One line per block that is missing or differs from what the declarations make."""
    declarations = backends.catalogue() if declarations is None else declarations
    check_pins(declarations)
    problems = []
    for block in BLOCKS:
        path = Path(root) / block.file
        try:
            current = blocks.current(path, block.start, block.end)
        except (OSError, ValueError) as exc:
            problems.append(f"{block.file}: {exc}; put the block's marker lines back "
                            f"({block.start!r} ... {block.end!r}) and run {COMMAND}")
            continue
        if current != block.make(declarations):
            problems.append(f"{block.file}: the {block.name} block differs from the adapters' declarations "
                            f"(backends/*.py): run {COMMAND}")
    return problems


def write(root: Path = ROOT, declarations=None) -> list[str]:
    """Rewrite every block; the files that changed."""
    declarations = backends.catalogue() if declarations is None else declarations
    check_pins(declarations)
    changed = []
    for block in BLOCKS:
        if blocks.rewrite(Path(root) / block.file, block.start, block.end, block.make(declarations)):
            changed.append(block.file)
    return list(dict.fromkeys(changed))


def table(declarations) -> str:
    """The catalogue, for people: what each backend declares."""
    lines = ["| order | backend | framework | what runs | requires | s/item | worker env | sweep releases |",
             "|---|---|---|---|---|---|---|---|"]
    for d in declarations:
        env = " ".join(f"{k}={v}" for k, v in {**d.env_defaults, **d.env}.items())
        releases = ", ".join(f"{r.release} ({r.role})" for r in d.sweep_releases())
        lines.append(f"| {d.order} | {d.name} | {d.framework} | {d.display} | {' '.join(d.requires)} | "
                     f"{d.seconds_per_item:g} | {env} | {releases} |")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true",
                        help="rewrite the generated blocks of pyproject.toml, tox.ini, the CI workflow, "
                             "the Makefile and README.md")
    action.add_argument("--check", action="store_true",
                        help="exit 1, naming file and block, when a generated block is out of date")


def main(args) -> int:
    try:
        declarations = backends.catalogue()
        check_pins(declarations)
        if not (args.write or args.check):
            print(table(declarations))
            return 0
        if not (ROOT / "pyproject.toml").is_file():
            print(f"error: {ROOT} is not a source tree: the generated blocks live in the repository's files",
                  file=sys.stderr)
            return 2
        if args.check:
            problems = stale()
            for line in problems:
                print(line, file=sys.stderr)
            return 1 if problems else 0
        changed = write()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot update {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    print("updated " + ", ".join(changed) if changed else "every generated block is up to date")
    return 0
