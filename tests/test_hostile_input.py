"""Hostile input is refused before any test runs, in one line naming the file, clause or option.

End to end through ``python -m pytest conformance`` (and ``python -m conformance``): a duplicate
clause id, a runaway formula, a huge dimension, a broken divergence registry, a bad ``--case-timeout``
and every kind of bad ``--backend`` value. Each must end the run with a usage error (exit 4), never
an INTERNALERROR, a traceback or a run that silently measures the wrong thing.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import backends
from conformance.language import limits, registry
from conformance.language.spec import SpecError
from conformance.running import adapters

ROOT = Path(__file__).resolve().parent.parent

CLAUSE = """\
  - id: {id}
    level: normative
    quote: given an input number i, it outputs the i-th row
    claim: Index i gives row i of the matrix.
    params: {{voc_size: {voc_size}, vec_dim: 2}}
    model:
      layers: [{{embedding: {{input_dim: {input_dim}, output_dim: vec_dim}}}}]
    action: forward
    with: {{inputs: [[[0, 1]]]}}
    expect:
      - {{check: close, of: "outputs[0]", to: reference}}
"""


def clause(id="lookup.sample", voc_size=5, input_dim="voc_size"):
    return CLAUSE.format(id=id, voc_size=voc_size, input_dim=input_dim)


def spec_dir(tmp_path, files=None, registry=None) -> Path:
    """A --spec-dir: {file name: [clause text]} and {registry file name: YAML text}."""
    root = tmp_path / "specs"
    (root / "divergences").mkdir(parents=True)
    for name, clauses in (files or {"01-a.yaml": [clause()]}).items():
        (root / name).write_text("section: Introduction\nclauses:\n" + "".join(clauses))
    for name, text in (registry or {}).items():
        (root / "divergences" / name).write_text(text)
    return root


def run(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def refused(proc) -> str:
    """The one error line of a run stopped by a usage error before any test ran."""
    assert "INTERNALERROR" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), proc.stderr
    assert " passed" not in proc.stdout and " failed" not in proc.stdout and "collected" not in proc.stdout
    return lines[0]


# -- spec files ---------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["-k", "sample"], ["-n", "2"]], ids=["plain", "-k", "-n 2"])
def test_a_duplicate_id_stops_every_kind_of_run(tmp_path, extra):
    specs = spec_dir(tmp_path, {"01-a.yaml": [clause()], "02-b.yaml": [clause(id="lookup.other"), clause()]})
    line = refused(run("--backend", "reference", "--spec-dir", str(specs), *extra))
    assert "02-b.yaml: clause 'lookup.sample': duplicate id, first defined in" in line
    assert line.endswith("01-a.yaml")


def test_a_runaway_formula_is_refused_at_load(tmp_path):
    # four levels took 20 s before formulas were bounded; five never ended
    specs = spec_dir(tmp_path, {"01-a.yaml": [clause(input_dim='"((((9**64)**64)**64)**64)**64"')]})
    start = time.monotonic()
    line = refused(run("--backend", "reference", "--spec-dir", str(specs), timeout=60))
    assert time.monotonic() - start < 30
    assert "01-a.yaml: clause 'lookup.sample': formula '((((9**64)**64)**64)**64)**64'" in line
    assert "limit of 2**64" in line


def test_a_huge_dimension_is_refused_at_load(tmp_path):
    # voc_size 10**9 tried to allocate a 15 GiB matrix in the pytest process
    specs = spec_dir(tmp_path, {"01-a.yaml": [clause(voc_size=10**9)]})
    line = refused(run("--backend", "reference", "--spec-dir", str(specs)))
    assert "01-a.yaml: clause 'lookup.sample': needs about 2,000,000,00" in line
    assert f"over the limit of {limits.MAX_ELEMENTS:,} per clause" in line
    assert "embedding matrix 1000000000 x 2" in line


def test_the_docs_document_the_limits():
    page = (ROOT / "docs" / "RELIABILITY.md").read_text()
    section = page.split("## Resource limits", 1)[1].split("\n#", 1)[0]
    for number in (limits.MAX_ELEMENTS, limits.MAX_STEPS, limits.MAX_COUNT, limits.MAX_NODES):
        assert f"{number:,}" in section
    assert "2**64" in section and "--case-timeout" in section


@pytest.mark.parametrize("option, value, message", [
    ("--case-timeout", "nan", "finite number of seconds above 0"),
    # 1e10 ran, and every clause errored with an OverflowError blamed on judging
    ("--case-timeout", "1e10", "at most 86400 seconds"),
    ("--start-timeout", "0", "finite number of seconds above 0"),
    ("--start-timeout", "1e10", "at most 86400 seconds"),
])
def test_timeouts_must_be_finite_positive_and_at_most_a_day(option, value, message):
    proc = run("--backend", "reference", option, value)
    assert proc.returncode == 4 and "INTERNALERROR" not in proc.stdout + proc.stderr
    assert f"argument {option}: '{value}'" in proc.stderr and message in proc.stderr


# -- divergence registry --------------------------------------------------------------------------
def test_a_registry_file_that_is_not_yaml_is_named_with_its_line(tmp_path):
    specs = spec_dir(tmp_path, registry={"torch.yaml": "backend: torch\ndivergences:\n  - clause: a.b\n"
                                                       "    reason: [unclosed\n"})
    line = refused(run("--backend", "reference", "--spec-dir", str(specs)))
    assert "divergences/torch.yaml: not valid YAML at line 5" in line


def test_an_entry_registered_twice_names_both_files_and_lines(tmp_path):
    entry = ("backend: torch\ndivergences:\n  - {clause: lookup.sample, reason: rows differ, "
             "observed: [{check: raises}]}\n")
    registry_dir = spec_dir(tmp_path, registry={"torch.yaml": entry, "torch-more.yaml": entry}) / "divergences"
    with pytest.raises(SpecError) as info:
        registry.load(registry_dir)
    assert str(info.value) == (f"{registry_dir / 'torch.yaml'}:3: clause 'lookup.sample': registered twice for "
                               f"backend 'torch', first defined in {registry_dir / 'torch-more.yaml'}:3")


def test_a_fact_for_several_backends_registered_again_for_one_of_them_names_both_places(tmp_path):
    shared = ("backends: [keras-jax, keras-torch]\ndivergences:\n"
              "  - {clause: a.b, reason: ok, observed: [{check: raises}]}\n"
              "  - {clause: lookup.sample, reason: rows differ, observed: [{check: raises}]}\n")
    alone = ("backend: keras-torch\ndivergences:\n"
             "  - {clause: lookup.sample, reason: again, observed: [{check: raises}]}\n")
    registry_dir = spec_dir(tmp_path, registry={"keras3.yaml": shared, "keras-torch.yaml": alone}) / "divergences"
    with pytest.raises(SpecError) as info:
        registry.load(registry_dir)
    assert str(info.value) == (f"{registry_dir / 'keras3.yaml'}:4: clause 'lookup.sample': registered twice for "
                               f"backend 'keras-torch', first defined in {registry_dir / 'keras-torch.yaml'}:3")


@pytest.mark.parametrize("entry, message", [
    ("{clause: lookup.sample, reason: {why: 1}}", "clause 'lookup.sample': 'reason' must be text, not {'why': 1}"),
    ("{clause: lookup.sample, reason: ok, link: 5}", "clause 'lookup.sample': 'link' must be text, not 5"),
    ("{clause: lookup.sample, reason: ok, snippet: [a]}", "clause 'lookup.sample': 'snippet' must be text"),
    ("{clause: 7, reason: ok}", "entry #1: 'clause' must be text, not 7"),
    ("{clause: lookup.sample, reason: '  '}", "'reason' must be text"),
    ("just text", "entry #1 is not a mapping"),
])
def test_a_registry_entry_that_is_not_text_is_named(tmp_path, entry, message):
    registry_dir = spec_dir(tmp_path, registry={"torch.yaml": f"backend: torch\ndivergences:\n  - {entry}\n"})
    with pytest.raises(SpecError) as info:
        registry.load(registry_dir / "divergences")
    assert str(info.value).startswith(f"{registry_dir / 'divergences' / 'torch.yaml'}:3: ")
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("observed, message", [
    (None, "clause 'lookup.sample': every divergence pins what the backend shows: add 'observed'"),
    ("[]", "clause 'lookup.sample': observed: top level: [] should be non-empty"),
    ("[{check: nearly, of: outputs}]", "clause 'lookup.sample': observed: 0/check: 'nearly' is not one of"),
    ("[{check: close, of: 'outputs[0](1)'}]", "observed: bad field path 'outputs[0](1)'"),
    ("[{check: within, of: outputs}]", "observed: a within check needs 'low' and 'high'"),
    ("[{check: normal, of: outputs, mean: 0}]", "observed: a normal check needs 'mean' and 'std'"),
    ("[{check: raises, sneaky: 1}]", "observed: 0: Additional properties are not allowed ('sneaky' was unexpected)"),
    # a pin that can never fail: "no warning mentioning a text that never appears" holds for any backend
    ("[{check: no_warning, matching: never printed by anyone}]", "observed: pins nothing that can fail"),
    ("[{check: no_warning, matching: a}, {check: no_warning, matching: b}]", "observed: pins nothing that can fail"),
])
def test_a_registry_entry_whose_pinned_checks_are_malformed_is_named(tmp_path, observed, message):
    pin = "" if observed is None else f", observed: {observed}"
    registry_dir = spec_dir(tmp_path, registry={
        "torch.yaml": f"backend: torch\ndivergences:\n  - {{clause: lookup.sample, reason: ok{pin}}}\n"})
    with pytest.raises(SpecError) as info:
        registry.load(registry_dir / "divergences")
    assert str(info.value).startswith(f"{registry_dir / 'divergences' / 'torch.yaml'}:3: ")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_pinned_formula_is_evaluated_on_its_clause_before_any_test(tmp_path):
    specs = spec_dir(tmp_path, registry={"torch.yaml": "backend: torch\ndivergences:\n  - {clause: lookup.sample, "
                                                       "reason: ok, observed: [{check: equal, of: params, "
                                                       "to: [voc_size/(vec_dim-2)]}]}\n"})
    line = refused(run("--backend", "reference", "--spec-dir", str(specs)))
    assert "divergences/torch.yaml:3: clause 'lookup.sample': observed:" in line and "divides by zero" in line


@pytest.mark.parametrize("text, message", [
    ("backend: [torch]\ndivergences: []\n", "'backend' must be a backend name"),
    ("backend: torch\ndivergences: {clause: a.b}\n", "'divergences' must be a list"),
    ("backend: torch\ndivergences:\n  - clause: a.b\n   reason: x\n", "not valid YAML at line 4, column 4"),
])
def test_a_malformed_registry_file_is_named(tmp_path, text, message):
    registry_dir = spec_dir(tmp_path, registry={"torch.yaml": text}) / "divergences"
    with pytest.raises(SpecError, match=re.escape(f"{registry_dir / 'torch.yaml'}: {message}")):
        registry.load(registry_dir)


# -- --backend ----------------------------------------------------------------------------------
SYNTAX_ERROR = "def broken(:\n    pass\n"


@pytest.mark.parametrize("value, fragment", [
    ("tests.bad_imports.exits_at_import:X", "SystemExit: 3"),
    ("syntax_error_adapter:X", "SyntaxError: invalid syntax"),
])
def test_a_bad_backend_is_a_usage_error_naming_it(tmp_path, value, fragment):
    (tmp_path / "syntax_error_adapter.py").write_text(SYNTAX_ERROR)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    line = refused(run("--backend", value, env=env))
    assert line.startswith("ERROR: --backend: ") and repr(value) in line and fragment in line


def test_requires_given_as_a_string_is_a_usage_error():
    # ("numpy") is a string: every clause skipped as "not installed: n, u, m, p, y", exit 0
    line = refused(run("--backend", "tests.hostile:RequiresAString"))
    assert line == ("ERROR: --backend tests.hostile:RequiresAString: 'requires' must be a tuple of module "
                    "names, e.g. ('numpy',), not 'numpy'")


@pytest.mark.parametrize("value, fragment", [
    (":", "':' is not of the form package.module:ClassName"),
    ("x:", "is not of the form"),
    (":Y", "is not of the form"),
    ("  :Y", "is not of the form"),
    ("tests.bad_imports.raises_at_import:X", "RuntimeError: no GPU context in this module"),
    ("tests.bad_imports.exits_at_import:X", "SystemExit: 3"),
    (".relative:X", "TypeError"),
    ("tests.no_such_module:X", "ModuleNotFoundError"),
    ("tests.fake_backends:NoSuchClass", "AttributeError"),
    ("tests.bad_imports.getattr_raises:X", "KeyError"),
    ("os:path", "is not a subclass of backends.base.Backend"),
    ("os:sep", "is not a subclass of backends.base.Backend"),
])
def test_every_bad_backend_value_is_unknown_backend(value, fragment):
    with pytest.raises(backends.UnknownBackend) as info:
        adapters.choose([value])
    assert repr(value) in str(info.value) and fragment in str(info.value)
    assert "\n" not in str(info.value)


# -- python -m conformance divergences --update ---------------------------------------------------
@pytest.mark.parametrize("content, fragment", [
    (None, "cannot update {path}: No such file or directory"),
    ("# README without the table\n", "{path}: no <!-- divergences:start --> ... <!-- divergences:end --> block"),
    ("<!-- divergences:end -->\n<!-- divergences:start -->\n",
     "{path}: no <!-- divergences:start --> ... <!-- divergences:end --> block"),
])
def test_divergences_update_on_a_bad_file_is_one_line(tmp_path, content, fragment):
    path = tmp_path / "README.md"
    if content is not None:
        path.write_text(content)
    proc = subprocess.run([sys.executable, "-m", "conformance", "divergences", "--update", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "error: " + fragment.format(path=path)
    if content is not None:
        assert path.read_text() == content  # untouched
