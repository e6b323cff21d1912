"""A known divergence must not hide a new one, and an emulation must not hide a drawn failure
(conformance/running/properties.py): every drawn example is judged after one that diverges as
registered, a strict divergence's drawn examples are judged too, emulated cells judge theirs, and
the record counts how the drawn examples went (``drawn``)."""
import json

import jsonschema
import numpy as np

from conformance.language.spec import load_all
from conformance.report.render import write_report
from conformance.running.properties import RunConfig, drawn
from conformance.running.session import make_case
from tests import hidden_faults

from .test_drawn import SCHEMA, _registry, records, run

HIDDEN = "tests.hidden_faults"
CLAUSE = "lookup.rows-are-matrix-rows"
SHAPES_RIGHT = ("    observed:\n      - {check: shape, of: \"outputs[0]\", to: reference}\n"
                "      - {check: shape, of: \"outputs[1]\", to: reference}\n")


def _entry(scope: bool) -> str:
    return (f"  - clause: {CLAUSE}\n" + ("    scope: drawn\n" if scope else "")
            + "    reason: registered for the test, with a reason long enough to read.\n" + SHAPES_RIGHT)


def _examples():
    """The ci profile's drawn examples of the clause, in order: (shows index >= 5, holds more than 4
    samples), the two faults of ShiftedAndNarrowInLargeBatches."""
    clause = next(c for c in load_all() if c.id == CLAUSE)

    class Session:
        drawn = {}

    examples, _ = drawn(Session(), clause, RunConfig.make("ci", None))
    shown = []
    for ex in examples:
        arrays = [np.asarray(x) for x in ex.args["inputs"]]
        shown.append((any(a.size and a.max() >= 5 for a in arrays),
                      any(hidden_faults.narrows(a) for a in arrays)))
    return shown


def test_the_planted_faults_stay_off_at_the_document_example_and_order_as_the_tests_need():
    case = make_case(next(c for c in load_all() if c.id == CLAUSE))
    assert not any(hidden_faults.narrows(x) or np.asarray(x).max() >= 5 for x in case.args["inputs"])
    shown = _examples()
    first = next(i for i, (five, _) in enumerate(shown) if five)
    # the first example that shows the pinned fault shows only it; a later one shows the other too
    assert shown[first] == (True, False) and any(five and last for five, last in shown[first + 1:]), shown


def test_a_drawn_failure_not_as_pinned_fails_the_run_after_one_that_was(tmp_path):
    fault = f"{HIDDEN}:ShiftedAndNarrowInLargeBatches"
    spec_dir = _registry(tmp_path, fault, _entry(scope=True))
    proc, data = run(tmp_path, "--backend", fault, "--spec-dir", str(spec_dir), "-k", CLAUSE)
    assert proc.returncode == 1, proc.stdout[-3000:]
    jsonschema.validate(data, SCHEMA)
    r = records(data)[CLAUSE]
    assert r["status"] == "diverge" and not r["known"] and r["reason"].startswith("known divergence changed")
    assert r["drawn"]["known"] >= 1 and r["drawn"]["other"] >= 1, r["drawn"]
    assert sum(r["drawn"].values()) == r["examples"] == 20
    assert r["example"]["shrunk"] is True
    assert any(hidden_faults.narrows(a["values"]) for a in r["example"]["with"]["inputs"]), r["example"]
    assert "KNOWN DIVERGENCE CHANGED" in proc.stdout
    # without the int64 bug, the same entry holds: known, every drawn example judged
    spec_dir = _registry(tmp_path / "only", "tests.off_example_faults:IndexFiveAndAbove", _entry(scope=True))
    proc, data = run(tmp_path, "--backend", "tests.off_example_faults:IndexFiveAndAbove", "--spec-dir",
                     str(spec_dir), "-k", CLAUSE, name="only.json")
    r = records(data)[CLAUSE]
    assert proc.returncode == 0 and r["known"] and r["drawn"]["other"] == 0 and r["drawn"]["known"] >= 2, r
    assert r["drawn"]["known"] + r["drawn"]["conform"] == 20


def test_a_strict_divergence_s_drawn_examples_are_judged_and_a_change_fails_the_run(tmp_path):
    fault = f"{HIDDEN}:OffsetAndNarrowInLargeBatches"
    spec_dir = _registry(tmp_path, fault, _entry(scope=False))
    proc, data = run(tmp_path, "--backend", fault, "--spec-dir", str(spec_dir), "-k", CLAUSE)
    assert proc.returncode == 1, proc.stdout[-3000:]
    r = records(data)[CLAUSE]
    assert r["status"] == "diverge" and not r["known"] and r["reason"].startswith("known divergence changed")
    assert r["example"] is not None and r["drawn"]["other"] >= 1 and r["drawn"]["known"] >= 1, r["drawn"]


def test_an_emulated_cell_judges_its_drawn_examples_and_a_wrong_idiom_fails_the_run(tmp_path):
    fault = f"{HIDDEN}:EmulatedIndexFiveAndAbove"
    proc, data = run(tmp_path, "--backend", fault, "-k", f"{CLAUSE} or lookup.shape-inferred-from-input")
    assert proc.returncode == 1, proc.stdout[-3000:]
    got = records(data)
    r = got[CLAUSE]
    assert r["status"] == "diverge" and not r["known"]
    assert r["emulation"] and all(idiom == "looked up by hand, matrix[x]" for idiom in r["emulation"].values())
    assert r["example"]["shrunk"] is True and r["drawn"]["other"] >= 1
    assert "the framework plus the adapter's idiom still diverges" in proc.stdout
    # where the idiom holds at every drawn size, the cell stays emulated, every example judged
    ok = got["lookup.shape-inferred-from-input"]
    assert ok["status"] == "emulated" and ok["drawn"] == {"conform": 20, "known": 0, "other": 0}
    # the report's cell details say how the drawn examples went
    write_report(data, tmp_path / "report")
    md = (tmp_path / "report" / "report.md").read_text()
    assert "20 conformed, 0 diverged as registered, 0 diverged otherwise" in md
    assert "diverged otherwise" in (tmp_path / "report" / "report.html").read_text()


def test_a_results_file_without_the_drawn_counts_still_loads_and_renders(tmp_path):
    from conformance.report.load import load

    proc, data = run(tmp_path, "--backend", "reference", "-k", CLAUSE)
    for r in data["results"]:
        r.pop("drawn")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    write_report(load(old), tmp_path / "report")
    assert proc.returncode == 0 and "drawn examples: 20" in (tmp_path / "report" / "report.md").read_text()
    assert "diverged otherwise" not in (tmp_path / "report" / "report.md").read_text()
