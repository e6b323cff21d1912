"""Item 5 of issue 11: a warning another library raises about a framework's *own* code (tf-keras
2.16's seed helper calling ``random.randint(1, 1e9)``) is kept apart, in ``framework_warnings``,
from warnings about the clause's call; only the latter reach checks and errata.

The framework under test is tests/fake_framework (see there), run through a reference-derived
adapter whose ``requires`` names it (tests/warning_adapters.py).
"""
import json
import subprocess
import sys
from pathlib import Path

from conformance.judging.checks import Context, evaluate
from conformance.report import load_many, matrix
from conformance.running.actions import Case, run_case
from tests.warning_adapters import AdapterCallsLibrary, FakeFramework

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = "DeprecationWarning: non-integer arguments to old_randint() have been deprecated"
OWN = "UserWarning: Argument `input_length` is deprecated. Just remove it."


def _construct(backend, **kwargs):
    return run_case(backend, Case("t", "construct", None, {"kwargs": {"input_dim": 5, "output_dim": 2, **kwargs}}))


def test_a_library_warning_about_the_frameworks_code_is_a_framework_warning():
    obs = _construct(FakeFramework())
    assert obs["warnings"] == []
    assert obs["framework_warnings"] == [LIBRARY]


def test_the_frameworks_own_warning_about_the_call_stays_a_warning():
    obs = _construct(FakeFramework(), input_length=3)
    assert obs["warnings"] == [OWN]
    assert obs["framework_warnings"] == [LIBRARY]


def test_a_library_warning_about_the_adapters_call_stays_a_warning():
    obs = _construct(AdapterCallsLibrary())
    assert obs["warnings"] == [LIBRARY]  # the adapter's own call: about what the clause did
    assert obs["framework_warnings"] == [LIBRARY]  # and once more from inside the framework


def test_checks_read_only_the_warnings_about_the_call():
    obs = _construct(FakeFramework())
    check = {"check": "no_warning", "matching": "deprecated"}
    assert evaluate(Context(obs, None, {}, None), check).ok
    assert not evaluate(Context(_construct(FakeFramework(), input_length=3), None, {}, None), check).ok


def test_a_run_records_them_apart_and_the_errata_have_no_spurious_warns_row(tmp_path):
    out = tmp_path / "results.json"
    backend = "tests.warning_adapters:FakeFramework"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-q",
                           "--backend", backend, "-k", "input-length or flatten-dense", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    records = {r["clause"]: r for r in json.loads(out.read_text())["results"]}
    built = [r for r in records.values() if r["framework_warnings"]]
    assert len(built) >= 4, records.keys()  # every clause that builds a model or a layer
    assert all(r["framework_warnings"] == [LIBRARY] for r in built)
    assert records["ctor.input-length-warning"]["behaviour"] == "warns (UserWarning)"
    assert records["ctor.input-length-warning"]["warnings"] == [OWN]
    assert records["doc.input-length-flatten-dense"]["warnings"] == []

    doc = load_many([out])
    # the fake framework stands for a Keras here: only the document's frameworks make errata
    doc["backends"]["fake-framework"]["framework"] = "keras"
    model = matrix.build(doc)
    warned = {e["row"]["id"] for e in model["errata"]["document_code"]}
    assert warned == {"ctor.input-length-warning", "ctor.input-length-accepted"} & set(records)
    report = tmp_path / "report"
    from conformance.report.render import write_report
    write_report(load_many([out]), report)
    md = (report / "report.md").read_text()
    assert "framework warnings (raised inside the framework's own code" in md
    assert "old\\_randint()" in md
