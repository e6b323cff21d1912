"""The plugin end to end: mutants are caught, crashes and hangs are isolated, results are written."""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from conformance.language.spec import load_all
from tests.shared_runs import conformance_run

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "conformance" / "report" / "results.schema.json").read_text())


def run(tmp_path, *args, timeout=300):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider",
                           "--json", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    data = json.loads(out.read_text()) if out.exists() else None
    return proc, data


def statuses(data, backend):
    return {r["clause"]: r["status"] for r in data["results"] if r["backend"] == backend}


def test_reference_conforms_to_every_normative_clause_and_json_is_valid(tmp_path_factory):
    proc, data = conformance_run(tmp_path_factory, "--backend", "reference")  # tests/test_drawn.py reads it too
    assert proc.returncode == 0, proc.stdout[-3000:]
    jsonschema.validate(data, SCHEMA)
    clauses = load_all()
    assert len(data["results"]) == len(clauses)
    assert set(data["clauses"]) == {c.id for c in clauses}
    normative = [r for r in data["results"] if r["level"] == "normative"]
    assert normative and all(r["status"] == "conform" for r in normative)
    assert data["backends"]["reference"]["available"] is True


def test_a_mutant_fails_its_clause_with_expected_and_observed_values(tmp_path):
    # every mutant of conformance/tools/mutants.py is run by the mutation self-test (tests/test_selftest.py)
    backend, clause = "conformance.tools.mutants:OffByOneLookup", "lookup.rows-are-matrix-rows"
    proc, data = run(tmp_path, "--backend", backend, "-k", "lookup")
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert statuses(data, backend)[clause] == "diverge"
    assert f"{clause}[{backend}]" in proc.stdout and "expected" in proc.stdout and "observed" in proc.stdout


def test_a_crashing_backend_does_not_take_down_the_others(tmp_path):
    crasher = "tests.fake_backends:CrashesOnMask"
    proc, data = run(tmp_path, "--backend", "reference", "--backend", crasher, "-k", "mask")
    ref, crashed = statuses(data, "reference"), statuses(data, crasher)
    assert ref and all(s == "conform" for c, s in ref.items() if not c.startswith("char."))
    assert crashed["mask.marks-nonzero-indices"] == "error"
    # the worker was replaced: the clauses after the crash still ran on the crashing backend
    assert crashed["mask.rnn-repeats-hidden-state"] == "conform"
    assert "exited with code 3" in proc.stdout


def test_a_hanging_backend_is_killed_and_reported(tmp_path):
    hanger = "tests.fake_backends:HangsOnSummary"
    proc, data = run(tmp_path, "--backend", hanger, "--case-timeout", "5", "-k", "lstm-takes or one-matrix")
    result = statuses(data, hanger)
    assert result["rnn.lstm-takes-embedding-directly"] == "error"
    assert result["weights.one-matrix-no-bias"] == "conform"
    assert "hung" in proc.stdout


def test_an_adapter_bug_is_an_error_not_a_divergence(tmp_path):
    buggy = "tests.fake_backends:BuggyAdapter"
    proc, data = run(tmp_path, "--backend", buggy, "-k", "flatten-dense-shapes")
    assert statuses(data, buggy)["model.flatten-dense-shapes"] == "error"
    assert "adapter error" in proc.stdout and "no_such_attribute" in proc.stdout


def test_unknown_backend_is_a_usage_error_naming_it(tmp_path):
    proc, _ = run(tmp_path, "--backend", "tensorflow-classic")
    assert proc.returncode == 4
    assert "unknown backend 'tensorflow-classic'" in proc.stderr


def test_a_missing_framework_is_a_skip_with_its_reason(tmp_path):
    proc, data = run(tmp_path, "--backend", "tests.fake_backends:NotInstalled", "-k", "rows-are")
    (result,) = data["results"]
    assert result["status"] == "skip" and "not installed: no_such_framework_xyz" in result["reason"]
    # the class declares a name (a class attribute): that is the backend's identity, not module:Class
    assert result["backend"] == "not-installed"
    assert data["backends"]["not-installed"]["available"] is False
    assert proc.returncode == 0


def test_an_installed_framework_that_cannot_start_is_an_error_not_a_skip(tmp_path):
    """A skip would let a broken installation pass the run in silence."""
    broken = "tests.fake_backends:BrokenAtStart"
    proc, data = run(tmp_path, "--backend", broken, "-k", "rows-are")
    (result,) = data["results"]
    assert result["status"] == "error" and "this framework's import is broken" in result["reason"]
    assert data["backends"]["broken-at-start"]["available"] is False
    assert proc.returncode == 1


def test_xdist_run_merges_every_backend_into_one_json(tmp_path):
    mutant = "conformance.tools.mutants:OffByOneLookup"
    proc, data = run(tmp_path, "--backend", "reference", "--backend", mutant, "-n", "2", "--dist", "loadgroup",
                     "--max-examples", "4")  # one drawn example per set of sizes: the merge is checked
    jsonschema.validate(data, SCHEMA)
    n = len(load_all())
    assert len(data["results"]) == 2 * n and len(data["clauses"]) == n
    assert set(data["backends"]) == {"reference", mutant}
    assert statuses(data, mutant)["lookup.rows-are-matrix-rows"] == "diverge"


def _specs_with_registry(tmp_path, backend, clause, observed='[{check: raises}]'):
    spec_dir = tmp_path / "specs"
    (spec_dir / "divergences").mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "specs").glob("*.yaml"):
        (spec_dir / path.name).write_text(path.read_text())
    (spec_dir / "divergences" / "x.yaml").write_text(
        f"backend: {backend}\ndivergences:\n  - clause: {clause}\n"
        "    reason: registered for the test, with a reason long enough to read.\n"
        f"    observed: {observed}\n")
    return spec_dir


def test_a_registered_divergence_is_an_expected_failure(tmp_path):
    mutant = "conformance.tools.mutants:OffByOneLookup"
    spec_dir = _specs_with_registry(tmp_path, mutant, "lookup.rows-are-matrix-rows",
                                    '[{check: differ, of: "outputs[0]", to: reference}]')
    proc, data = run(tmp_path, "--backend", mutant, "--spec-dir", str(spec_dir), "-k", "rows-are-matrix")
    assert proc.returncode == 0 and "1 xfailed" in proc.stdout
    (result,) = data["results"]
    assert result["status"] == "diverge" and result["known"] is True
    assert result["reason"].startswith("registered for the test")


def test_a_registered_divergence_that_now_conforms_fails_the_run(tmp_path):
    spec_dir = _specs_with_registry(tmp_path, "reference", "lookup.rows-are-matrix-rows")
    proc, data = run(tmp_path, "--backend", "reference", "--spec-dir", str(spec_dir), "-k", "rows-are-matrix")
    assert proc.returncode == 1
    assert "registered divergence now CONFORMS" in proc.stdout


def test_a_registry_entry_for_no_clause_is_reported(tmp_path):
    spec_dir = _specs_with_registry(tmp_path, "reference", "lookup.no-such-clause")
    proc, _ = run(tmp_path, "--backend", "reference", "--spec-dir", str(spec_dir), "-k", "rows-are-matrix")
    assert "lists 'lookup.no-such-clause', which matches no clause" in proc.stdout


def test_a_registry_fact_for_a_backend_that_does_not_exist_is_reported_by_name(tmp_path):
    """The registry cannot refuse a backend name it does not know (backends come at run time); the run
    names the file and the backend it does not know, and judges the others as registered."""
    mutant = "conformance.tools.mutants:OffByOneLookup"
    spec_dir = _specs_with_registry(tmp_path, mutant, "lookup.rows-are-matrix-rows",
                                    '[{check: differ, of: "outputs[0]", to: reference}]')
    text = (spec_dir / "divergences" / "x.yaml").read_text()
    (spec_dir / "divergences" / "x.yaml").write_text(
        text.replace(f"backend: {mutant}", f"backends: [{mutant}, keras-jaxx]"))
    proc, data = run(tmp_path, "--backend", mutant, "--spec-dir", str(spec_dir),
                     "-k", "rows-are-matrix")
    assert proc.returncode == 0 and "1 xfailed" in proc.stdout, proc.stdout[-3000:]
    assert "registry: x.yaml is for backend 'keras-jaxx', which does not exist" in proc.stdout
    assert "OffByOneLookup', which does not exist" not in proc.stdout


# WideInitializer draws from U[-0.1, 0.1]: registered with that pinned. NarrowInitializer (U[-0.0495,
# 0.0495]) still diverges from the clause, but not as pinned: its range never reaches +-0.0996.
WIDE = ('[{check: within, of: "matrices[0]", low: -0.1, high: 0.1}, '
        '{check: attains, of: "matrices[0]", low: -0.1, high: 0.1, margin: 0.0004}]')


def test_a_known_divergence_that_changes_fails_the_run(tmp_path):
    wide, narrow = "conformance.tools.mutants:WideInitializer", "conformance.tools.mutants:NarrowInitializer"
    spec_dir = _specs_with_registry(tmp_path, wide, "init.default-uniform-range", WIDE)
    (spec_dir / "divergences" / "y.yaml").write_text(
        (spec_dir / "divergences" / "x.yaml").read_text().replace(wide, narrow))
    proc, data = run(tmp_path, "--backend", wide, "--backend", narrow, "--spec-dir", str(spec_dir),
                     "-k", "default-uniform-range")
    assert proc.returncode == 1, proc.stdout[-3000:]
    records = {r["backend"]: r for r in data["results"]}
    assert (records[wide]["status"], records[wide]["known"]) == ("diverge", True)
    assert all(p["ok"] for p in records[wide]["pinned"])
    changed = records[narrow]
    assert (changed["status"], changed["known"]) == ("diverge", False)
    assert changed["reason"].startswith("known divergence changed: attains on matrices[0]")
    assert [p["ok"] for p in changed["pinned"]] == [True, False]
    assert "1 xfailed" in proc.stdout and "KNOWN DIVERGENCE CHANGED" in proc.stdout
    assert "DIVERGE (known divergence changed)" in proc.stdout
