"""Issue 11 item 6: ``pip install .`` gives a pytest plugin (entry point) and the packaged specs, so
that ``python -m conformance run`` and ``pytest --pyargs conformance`` work from any folder.

The package is built from a copy of the sources and installed (no dependencies, no build isolation:
nothing is downloaded) into a fresh virtual environment that sees this interpreter's packages (the
frameworks, pytest, setuptools, pip) through a .pth file; it then runs from a folder outside the
repository, with nothing of the repository on its path.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conformance.language.spec import load_all

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "conformance", "backends", "specs")
pytestmark = pytest.mark.slow  # a package built and installed, then whole runs from outside the repository


def _call(cmd, cwd, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of the fresh venv, its site-packages) with the suite installed from a copy of the sources."""
    base = tmp_path_factory.mktemp("install")
    venv = base / "venv"
    try:
        made = _call([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot create a virtual environment here: {exc}")
    if made.returncode != 0:
        pytest.skip(f"cannot create a virtual environment here: {made.stderr.strip()[-500:]}")
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site_dir = Path(_call([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          cwd=base).stdout.strip())
    parent = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site_dir / "_parent_environment.pth").write_text("\n".join(parent) + "\n")
    missing = _call([python, "-c", "import pip, setuptools, pytest"], cwd=base)
    if missing.returncode != 0:
        pytest.skip(f"this environment cannot build the package offline: {missing.stderr.strip()[-300:]}")
    source = base / "source"  # a copy: building writes build/ and *.egg-info next to the sources
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    pip = _call([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                 "--disable-pip-version-check", "-q", source], cwd=base)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-3000:]
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return python, site_dir, elsewhere


def test_the_installed_package_holds_the_engine_the_specs_and_the_plugin(installed):
    python, site_dir, elsewhere = installed
    probe = _call([python, "-c", "import conformance.language.spec as s, importlib.metadata as m; print(s.__file__); "
                   "print(s.SPEC_DIR); print([e.value for e in m.entry_points(group='pytest11') "
                   "if e.value.startswith('conformance')])"], cwd=elsewhere)
    engine, spec_dir, entry = probe.stdout.splitlines()
    assert Path(engine).is_relative_to(site_dir)
    assert Path(spec_dir) == site_dir / "conformance" / "specs"
    for sub in ("", "divergences"):
        installed_files = sorted(p.name for p in (Path(spec_dir) / sub).glob("*.yaml"))
        assert installed_files == sorted(p.name for p in (ROOT / "specs" / sub).glob("*.yaml")) != []
    for data in ("tools/mutants.py", "tools/weak_clauses.yaml", "report/results.schema.json",
                 "language/spec.schema.json", "run.ini", "report/templates/report.md.j2",
                 "report/templates/report.html.j2"):
        assert (site_dir / "conformance" / data).is_file(), data
    assert entry == "['conformance.plugin']"


def test_the_installed_adapters_are_discovered_and_declare_the_sweeps_releases(installed):
    """Built-in backends are found by pkgutil in the installed backends package, as in the source tree."""
    import backends
    from conformance.tools import sweep

    python, site_dir, elsewhere = installed
    probe = _call([python, "-c", "import backends; print(backends.__file__); print(' '.join(backends.DEFAULT_ORDER))"],
                  cwd=elsewhere)
    assert probe.returncode == 0, probe.stderr[-3000:]
    where, names = probe.stdout.splitlines()
    assert Path(where).is_relative_to(site_dir)
    assert names.split() == list(backends.default_order())
    listed = _call([python, "-m", "conformance", "sweep", "--list"], cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert listed.stdout.strip() == sweep.table(sweep.declared())


def test_python_m_conformance_run_from_a_folder_outside_the_repository(installed):
    python, site_dir, elsewhere = installed
    out = elsewhere / "results.json"
    proc = _call([python, "-m", "conformance", "run", "--backend", "reference", "--json", "results.json", "-q"],
                 cwd=elsewhere)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    clauses = load_all(ROOT / "specs")
    assert data["complete"] is True and len(data["results"]) == len(clauses)
    assert {r["clause"] for r in data["results"]} == {c.id for c in clauses}
    assert all(r["status"] == "conform" for r in data["results"] if r["level"] == "normative")
    assert data["backends"]["reference"]["available"] is True
    assert not (elsewhere / ".pytest_cache").exists()


def test_pytest_pyargs_conformance_from_a_folder_outside_the_repository(installed):
    python, _, elsewhere = installed
    proc = _call([python, "-m", "pytest", "--pyargs", "conformance", "--backend", "reference", "-k", "lookup",
                  "--json", "pyargs.json", "-p", "no:cacheprovider", "-q"], cwd=elsewhere)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((elsewhere / "pyargs.json").read_text())
    assert data["complete"] is True and data["results"]
    assert all("lookup" in r["clause"] for r in data["results"])


def test_python_m_conformance_selftest_from_a_folder_outside_the_repository(installed):
    """The mutants and the weak list are installed with the engine: two mutants (one a patch of the
    reference's lookup, inside its worker only) run and are caught, from a folder of no repository."""
    python, site_dir, elsewhere = installed
    proc = _call([python, "-m", "conformance", "selftest", "--mutant", "OffByOneLookup", "--mutant",
                  "LastIndexOffByOne", "--jobs", "1"], cwd=elsewhere)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "score: 2/2 mutants caught by a clause they name (100%)" in proc.stdout
    assert "OffByOneLookup: caught by lookup.rows-are-matrix-rows" in proc.stdout
    assert "LastIndexOffByOne: caught by lookup.every-index-in-contract" in proc.stdout
    assert "self-test passed" in proc.stdout
    mutants = _call([python, "-c", "import conformance.tools.mutants as m; print(m.__file__)"], cwd=elsewhere)
    assert Path(mutants.stdout.strip()).is_relative_to(site_dir)
    assert not (elsewhere / ".pytest_cache").exists()


def test_the_source_trees_conftest_and_the_entry_point_register_the_plugin_once(installed):
    """The repository's conftest.py asks for conformance.plugin, and so does the installed entry point:
    `pytest tests` and `pytest conformance` must run, not fail on a plugin registered twice."""
    python, _, _ = installed
    for args in (["tests/test_formula.py"], ["conformance", "--backend", "reference", "-k", "lookup.rows"]):
        proc = _call([python, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q"], cwd=ROOT)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "passed" in proc.stdout.splitlines()[-1]


def _readme_third_party_commands() -> list[str]:
    """The commands of the README's "Your framework too" block, as written (comments aside)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Your framework too", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_a_third_party_package_installed_beside_the_suite_runs_by_name_from_any_folder(installed, tmp_path):
    """Issue 18 items 3, 6, 7: the README's commands for a third party, run as written from a folder
    outside the repository on a toy adapter package pip-installed beside the suite (its entry point
    and the registry it ships); then its results and a source-tree run merge into one report."""
    from tests import third_party_toy as toy

    python, site_dir, _ = installed
    commands = _readme_third_party_commands()
    assert [c.split()[:4] for c in commands] == [["pip", "install", "./flaxnnx-adapter"],
                                                 ["python", "-m", "conformance", "run"],
                                                 ["pytest", "--pyargs", "conformance", "--backend"],
                                                 ["python", "-m", "conformance", "report"]]
    project = toy.write_project(tmp_path / "flaxnnx-adapter")
    folder = tmp_path / "anywhere"
    folder.mkdir()
    pip = _call([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                 "--disable-pip-version-check", "-q", project], cwd=folder)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-3000:]
    assert (site_dir / "toyext" / "divergences.yaml").is_file()
    bindir = Path(python).parent
    for command in commands[1:]:
        words = command.replace("flax-nnx", "toy-ext").split()
        words[0] = str(bindir / words[0]) if words[0] == "python" else words[0]
        if words[0] == "pytest":
            words = [str(python), "-m", "pytest", *words[1:]]
        if "report" not in words:
            words += ["-k", toy.CLAUSE, "-p", "no:cacheprovider", "-rA"]
        proc = _call(words, cwd=folder)
        assert proc.returncode == 0, command + "\n" + proc.stdout[-3000:] + proc.stderr[-3000:]
        if "pytest" in words[2:3]:
            assert f"{toy.CLAUSE}[toy-ext]" in proc.stdout and "XFAIL" in proc.stdout
    data = json.loads((folder / "flax.json").read_text())
    (record,) = data["results"]
    assert (record["backend"], record["status"], record["known"]) == ("toy-ext", "diverge", True)
    assert data["clauses"][toy.CLAUSE]["file"] == "specs/05-dense-and-rnn.yaml"  # as in a source tree
    assert "toy-ext" in (folder / "report" / "report.md").read_text()
    # this installed run and a run of the source tree merge into one report
    source = _call([sys.executable, "-m", "conformance", "run", "--backend", "reference", "-k", toy.CLAUSE,
                    "--json", str(folder / "source.json"), "-p", "no:cacheprovider"], cwd=ROOT)
    assert source.returncode == 0, source.stdout[-2000:]
    merged = _call([python, "-m", "conformance", "report", "flax.json", "source.json", "--output", "both"],
                   cwd=folder)
    assert merged.returncode == 0, merged.stdout[-2000:] + merged.stderr[-2000:]
    report = (folder / "both" / "report.md").read_text()
    assert "toy-ext" in report and "reference" in report
