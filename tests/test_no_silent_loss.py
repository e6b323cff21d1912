"""No silent loss (issue 8): every collected clause x backend ends in exactly one record, a results
file says whether it holds the whole run, and report/diff never read a partial run as a whole one.

End to end through the public ``--backend module:Class`` path with the hostile adapters of
tests/hostile.py, each in its own worker process like any framework.
"""
import dataclasses
import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from conformance.__main__ import main
from conformance.judging.describers import describe
from conformance.judging.outcome import judge
from conformance.judging.replies import Observed
from conformance.language.spec import SPEC_DIR, load_all
from tests.hostile import HOSTILE, interruptible
from tests.report_fixtures import result, scenario, write

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "conformance" / "report" / "results.schema.json").read_text())
CLAUSES = {c.id: c for c in load_all()}
# checks that compare the numbers a backend computed (shape, dtype, raises, warnings do not, nor
# does equal on a field of shapes or counts)
VALUE_CHECKS = {"close", "equal", "within", "uniform", "differ", "identical", "row_norms", "changed_rows",
                "last_step", "repeats_at_masked"}


def compares_values(clause, checks=VALUE_CHECKS) -> bool:
    return clause.normative and any(
        e["check"] in checks and not (e["check"] == "equal" and re.search(r"shape|count", e["of"]))
        for e in clause.expect)


def pytest_run(out, *args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider",
                           "--json", str(out), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env, preexec_fn=interruptible)


@cache
def _hostile_runs(out_dir: str):
    """One run of every hostile adapter, each in its worker process like any backend: the
    reference draws and answers each clause's examples once for all of them."""
    out = Path(out_dir) / "hostile.json"
    # one drawn example per set of sizes (ci's four sets): what is checked is that every item ends
    # in one record, which the number of examples does not change (5 s less CPU per run than 20)
    proc = pytest_run(out, *[arg for adapter in HOSTILE for arg in ("--backend", f"tests.hostile:{adapter}")],
                      "--max-examples", "4", timeout=600)
    return proc, json.loads(out.read_text())


def hostile_run(adapter: str, out_dir: str):
    """The run's output, and its results file with only ``adapter``'s records."""
    proc, data = _hostile_runs(out_dir)
    return proc, {**data, "results": [r for r in data["results"] if r["backend"] == f"tests.hostile:{adapter}"]}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("hostile"))


# -- 1. one record per collected item, whatever the adapter returns ------------------------------
@pytest.mark.parametrize("adapter", HOSTILE)
def test_a_hostile_adapter_gets_exactly_one_record_per_clause(adapter, out_dir):
    proc, data = hostile_run(adapter, out_dir)
    assert "INTERNALERROR" not in proc.stdout + proc.stderr
    jsonschema.validate(data, SCHEMA)
    recorded = sorted(r["clause"] for r in data["results"])
    assert recorded == sorted(CLAUSES), proc.stdout[-3000:]
    # the run's counts: every clause on every hostile adapter
    assert data["complete"] is True and data["collected"] == data["recorded"] == len(CLAUSES) * len(HOSTILE)
    assert data["interrupted"] is None and data["missing"] == []
    for r in data["results"]:
        if r["status"] == "error":
            assert r["cause"]["where"] in ("judging", "backend", "reference") and r["cause"]["message"], r
        else:
            assert r["cause"] is None, r


def test_all_nan_output_conforms_on_no_clause_that_compares_values(out_dir):
    _, data = hostile_run("AllNaN", out_dir)
    compares = {cid for cid, c in CLAUSES.items() if compares_values(c)}
    assert len(compares) > 20
    conform = {r["clause"] for r in data["results"] if r["status"] == "conform"}
    assert not conform & compares, sorted(conform & compares)


def test_none_and_strings_conform_on_no_clause_that_compares_values(out_dir):
    compares = {cid for cid, c in CLAUSES.items() if compares_values(c, VALUE_CHECKS - {"equal"})}
    for adapter in ("Nones", "Strings"):
        _, data = hostile_run(adapter, out_dir)
        conform = {r["clause"] for r in data["results"] if r["status"] == "conform"}
        assert not conform & compares, (adapter, sorted(conform & compares))


def _clause(cid, **changes):
    return dataclasses.replace(CLAUSES[cid], **changes)


CASE = type("Case", (), {"args": {"inputs": [np.array([[1, 0, 2]])]}, "weights": None, "pretrained": None,
                        "example": None})()


def _judge(clause, obs, ref=None):
    """The pure judge on hand-made replies: the backend answers ``obs``, the reference ``ref``."""
    return judge(clause, "x", CASE, Observed(obs, "print('snippet')"), Observed(ref if ref is not None else obs))


def test_an_exception_in_a_formula_is_an_error_record_with_its_cause():
    """A case that cannot be made (a formula that fails) is the item's error, not a lost record."""
    from conformance.running.properties import RunConfig, judge_item

    clause = CLAUSES["lookup.rows-are-matrix-rows"]

    class Session:
        known, following, clauses, backends = {}, None, {}, {}
        drawn = {clause.id: ([], {})}

        def availability(self, name):
            return type("A", (), {"available": True, "reason": None, "version": None})()

        def case(self, clause):
            raise ZeroDivisionError("division by zero")

    outcome = judge_item(Session(), clause, "x", RunConfig.make("ci", 0))
    assert outcome.status == "error"
    record = outcome.record()
    assert record["cause"]["type"] == "ZeroDivisionError" and record["cause"]["where"] == "judging"
    assert "division by zero" in record["reason"] and "test_no_silent_loss.py" in record["cause"]["traceback"]


def test_a_check_that_cannot_read_an_odd_observation_is_an_error_not_a_lost_record():
    clause = _clause("rnn.last-step-without-return-sequences",
                     expect=[{"check": "last_step", "of": "outputs[0]", "to": {"of": "outputs[0]"}}])
    outcome = _judge(clause, {"outputs": [np.zeros(3)], "warnings": []})
    assert outcome.status == "error" and outcome.cause["type"] == "IndexError"
    assert outcome.snippet == "print('snippet')"  # what was known before the failure is kept


def test_every_describer_reads_no_field_when_the_framework_raised():
    raised = {"raised": "TypeError", "message": "no", "warnings": []}
    for cid, clause in CLAUSES.items():
        if clause.characterize:
            assert describe(clause.characterize["describe"], raised, CASE) == "raises TypeError", cid
    outcome = _judge(CLAUSES["char.pretrained-copy-or-alias"], raised,
                     ref={"aliased": {"aligned": False, "unaligned": False}, "warnings": []})
    assert outcome.status == "diverge" and outcome.behaviour == "raises TypeError"


# -- 2. completeness: interrupted, failed collection, bad --json, xdist, no terminal ------------
def test_an_adapter_that_implements_nothing_fails_a_complete_run_with_other_tests(tmp_path):
    # every clause unsupported gave exit 0; and a test file run beside the clauses made the results
    # INCOMPLETE (its items were counted as clause items never recorded)
    out = tmp_path / "r.json"
    proc = pytest_run(out, "tests/test_formula.py::test_division_keeps_float", "--backend", "reference",
                      "--backend", "tests.hostile:ImplementsNothing")
    data = json.loads(out.read_text())
    assert proc.returncode == 1, proc.stdout[-3000:]
    line = f"conformance: tests.hostile:ImplementsNothing: all {len(CLAUSES)} of its clauses are unsupported"
    assert line in proc.stdout and "reference: all" not in proc.stdout
    assert data["complete"] is True and data["collected"] == data["recorded"] == 2 * len(CLAUSES)
    items = 2 * len(CLAUSES)
    assert f"complete: {items} of {items} items" in proc.stdout and "INCOMPLETE" not in proc.stdout


def test_an_interrupted_run_says_it_is_incomplete(tmp_path):
    out = tmp_path / "results.json"
    proc = pytest_run(out, "--backend", "reference", "--backend", "tests.hostile:InterruptsTheRun")
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    assert proc.returncode == 2, proc.stdout[-2000:]
    assert data["complete"] is False and "KeyboardInterrupt" in data["interrupted"]
    assert data["collected"] == 2 * len(CLAUSES) and data["recorded"] == len(data["results"])
    assert 0 < data["recorded"] < data["collected"]
    assert len(data["missing"]) == data["collected"] - data["recorded"]
    assert "INCOMPLETE" in proc.stdout


def _stale(path):
    write(path, scenario())  # a complete previous run
    return path


def test_a_failed_collection_leaves_no_previous_run_behind(tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, specs)
    (specs / "07-broken.yaml").write_text("section: Broken\nclauses: [{id: 'no good'}]\n")
    out = _stale(tmp_path / "results.json")
    proc = pytest_run(out, "--backend", "reference", "--spec-dir", str(specs))
    # the specs are validated before collection: a usage error naming the file, and the previous
    # run's file is gone, so nothing downstream reads it as this run's
    assert proc.returncode == 4
    assert "07-broken.yaml" in proc.stderr
    assert not out.exists()


def test_a_usage_error_leaves_no_previous_run_behind(tmp_path):
    out = _stale(tmp_path / "results.json")
    proc = pytest_run(out, "--backend", "no-such-backend")
    assert proc.returncode == 4 and not out.exists()


@pytest.mark.parametrize("where", ["directory", "under a file", "empty"])
def test_a_bad_json_path_is_a_usage_error_before_any_test(tmp_path, where):
    blocker = write(tmp_path / "file.txt", {})
    target = {"directory": tmp_path, "under a file": blocker / "results.json", "empty": ""}[where]
    proc = pytest_run(target, "--backend", "reference")
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert "--json" in proc.stderr and "passed" not in proc.stdout and "collected" not in proc.stdout


def test_without_the_terminal_reporter_the_json_is_still_written(tmp_path):
    out = tmp_path / "results.json"
    proc = pytest_run(out, "--backend", "reference", "-p", "no:terminal", "-k", "lookup")
    data = json.loads(out.read_text())
    assert proc.returncode == 0 and data["complete"] is True
    assert data["recorded"] == data["collected"] == len([c for c in CLAUSES if "lookup" in c]) > 0


def test_under_xdist_only_the_controller_writes_and_it_writes_the_whole_run(tmp_path):
    out = tmp_path / "results.json"
    proc = pytest_run(out, "--backend", "reference", "--backend", "tests.hostile:AllNaN", "-n", "2",
                      "--dist", "loadgroup", "-p", "tests.xdist_spy", "--max-examples", "4")
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["complete"] is True and data["collected"] == data["recorded"] == 2 * len(CLAUSES), \
        proc.stdout[-2000:] + proc.stderr[-2000:]
    others = sorted(p.name for p in tmp_path.iterdir() if p.name != "results.json")
    assert [m for m in others if "spy-active" in m], "the spy (tests/xdist_spy.py) did not load in the workers"
    assert not [m for m in others if "spy-active" not in m], others  # no worker write, no temp file left


# -- 3. report and diff ---------------------------------------------------------------------
def _partial():
    doc = scenario()
    doc["collected"], doc["recorded"] = len(doc["results"]) + 3, len(doc["results"])
    doc["complete"], doc["interrupted"] = False, "interrupted by the user (KeyboardInterrupt, e.g. Ctrl-C)"
    return doc


def test_report_shows_an_incomplete_input_at_the_top(tmp_path, capsys):
    partial = write(tmp_path / "partial-run.json", _partial())
    assert main(["report", str(partial), "--output", str(tmp_path / "out")]) == 0
    n = len(scenario()["results"])
    for name in ("report.md", "report.html"):
        text = (tmp_path / "out" / name).read_text()
        banner = text.index("Incomplete results")
        assert banner < text.index("Summary" if name == "report.md" else "Legend")
        assert "partial-run.json" in text[banner:banner + 400] and f"{n} of {n + 3}" in text
        assert "KeyboardInterrupt" in text
    merged = json.loads((tmp_path / "out" / "results.json").read_text())
    assert merged["complete"] is False


def test_report_of_a_complete_run_has_no_banner(tmp_path):
    assert main(["report", str(write(tmp_path / "r.json", scenario())), "--output", str(tmp_path / "o")]) == 0
    assert "Incomplete" not in (tmp_path / "o" / "report.md").read_text()


def test_report_output_must_name_a_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    partial = write(tmp_path / "in.json", scenario())
    assert main(["report", str(partial), "--output", ""]) == 2
    assert "--output" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json"]


def test_diff_refuses_an_incomplete_new_unless_allowed(tmp_path, capsys):
    old, new = write(tmp_path / "old.json", scenario()), write(tmp_path / "new.json", _partial())
    assert main(["diff", str(old), str(new)]) == 2
    err = capsys.readouterr().err
    assert "new.json" in err and "--allow-incomplete" in err and "INCOMPLETE" in err
    assert main(["diff", str(old), str(new), "--allow-incomplete"]) == 0


def test_diff_refuses_a_new_file_that_does_not_say_it_is_complete(tmp_path, capsys):
    legacy = scenario()
    for key in ("complete", "collected", "recorded", "interrupted"):
        del legacy[key]
    old, new = write(tmp_path / "old.json", scenario()), write(tmp_path / "new.json", legacy)
    assert main(["diff", str(old), str(new)]) == 2


def test_diff_counts_a_vanished_cell_as_a_regression(tmp_path, capsys):
    old = scenario()
    old["results"].append(result("extra.clause", "torch", "skip"))
    new = write(tmp_path / "new.json", scenario())
    assert main(["diff", str(write(tmp_path / "old.json", old)), str(new)]) == 1
    out = capsys.readouterr().out
    assert "!!" in out and "extra.clause" in out and "1 regression(s)" in out
