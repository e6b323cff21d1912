"""``python -m conformance same OLD NEW``: two results files compared record by record, durations aside."""
import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.__main__ import main
from conformance.report import ReportError
from conformance.report.same import ABSENT, PRESENT, SHOWN_PER_FIELD, Difference, differences, text
from tests.report_fixtures import document, result, write

ROOT = Path(__file__).resolve().parent.parent


def run_a():
    """Two backends, three clauses; every record with a duration, one with an observed array."""
    return document([
        result("lookup.rows", "reference", observed=[[0.5, 1.5], [2.5, 3.5]], duration=0.25),
        result("lookup.rows", "torch", observed=[[0.5, 1.5], [2.5, 3.5]], duration=1.5),
        result("shape.output", "reference", observed=[2, 3], duration=0.01),
        result("shape.output", "torch", "diverge", known=True, observed=[2, 3, 1], reason="extra axis",
               duration=0.02),
        result("char.float", "torch", level="characterization", behaviour="casts to int", observed=None,
               duration=0.5),
    ])


def run_b():
    """run_a again, as a second run would write it: other durations, another time of writing."""
    doc = copy.deepcopy(run_a())
    doc["generated"] = "2025-06-30T12:00:00Z"
    for n, rec in enumerate(doc["results"]):
        rec["duration"] = 10.0 + n
    return doc


def record(doc, clause, backend):
    return next(r for r in doc["results"] if (r["clause"], r["backend"]) == (clause, backend))


def test_two_runs_differing_only_in_durations_and_time_of_writing_are_the_same():
    old, new = run_a(), run_b()
    assert old["generated"] != new["generated"] and record(old, "lookup.rows", "torch")["duration"] == 1.5
    assert differences(old, new) == []
    assert text([], 5, 5) == "same: 5 records, equal apart from duration, generated"


def test_a_changed_status_is_named_with_its_clause_backend_and_both_values():
    new = run_b()
    record(new, "shape.output", "reference")["status"] = "error"
    assert differences(run_a(), new) == [Difference("shape.output", "reference", "status", "conform", "error")]


def test_a_changed_observed_value_is_shown_at_the_element_that_changed():
    new = run_b()
    record(new, "lookup.rows", "torch")["observed"][1][0] = 2.5000001
    (d,) = differences(run_a(), new)
    assert (d.clause, d.backend, d.field, d.old, d.new) == ("lookup.rows", "torch", "observed[1][0]", 2.5, 2.5000001)
    assert d.line() == "lookup.rows [torch] observed[1][0]: 2.5 -> 2.5000001"


def test_an_observed_array_of_another_shape_is_shown_whole():
    new = run_b()
    record(new, "shape.output", "torch")["observed"] = [2, 3]
    assert differences(run_a(), new) == [Difference("shape.output", "torch", "observed", [2, 3, 1], [2, 3])]


def test_a_missing_and_an_extra_record_are_differences():
    new = run_b()
    new["results"] = [r for r in new["results"] if (r["clause"], r["backend"]) != ("shape.output", "torch")]
    new["results"].append(result("lookup.rows", "keras-jax", duration=3.0))
    found = differences(run_a(), new, "a.json", "b.json")
    assert found == [Difference("shape.output", "torch", "(record)", PRESENT, ABSENT),
                     Difference("lookup.rows", "keras-jax", "(record)", ABSENT, PRESENT)]
    assert [d.line() for d in found] == ["shape.output [torch] (record): (present) -> (absent)",
                                         "lookup.rows [keras-jax] (record): (absent) -> (present)"]


def test_a_field_one_record_has_and_the_other_not_is_a_difference():
    new = run_b()
    record(new, "char.float", "torch")["agrees"] = False
    del record(new, "char.float", "torch")["behaviour"]
    assert differences(run_a(), new) == [Difference("char.float", "torch", "behaviour", "casts to int", ABSENT),
                                         Difference("char.float", "torch", "agrees", ABSENT, False)]


@pytest.mark.parametrize("old_value, new_value, same", [
    (math.nan, math.nan, True),      # JSON NaN: a NaN observed in both runs is the same observation
    (1, 1.0, False),                 # the file changed, if not the number
    (1, True, False),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),
])
def test_values_compare_as_json(old_value, new_value, same):
    old, new = run_a(), run_b()
    record(old, "shape.output", "reference")["observed"] = old_value
    record(new, "shape.output", "reference")["observed"] = new_value
    assert (differences(old, new) == []) is same


def test_the_runs_own_fields_are_compared_too():
    new = run_b()
    new["backends"]["torch"]["version"] = "2.0"
    new["complete"] = False
    found = differences(run_a(), new)
    assert found == [Difference("(run)", "", "complete", True, False),
                     Difference("(run)", "", "backends.torch.version", "1.0", "2.0")]
    assert found[1].line() == '(run) backends.torch.version: "1.0" -> "2.0"'


def test_records_of_several_releases_are_matched_by_release_too():
    old = run_a()
    for rec in old["results"]:
        rec["release"] = "torch@1.0" if rec["backend"] == "torch" else "reference@1.0"
    new = copy.deepcopy(old)
    record(new, "shape.output", "torch")["release"] = "torch@2.0"
    found = differences(old, new)
    assert found == [Difference("shape.output", "torch @ torch@1.0", "(record)", PRESENT, ABSENT),
                     Difference("shape.output", "torch @ torch@2.0", "(record)", ABSENT, PRESENT)]


def test_a_file_holding_a_record_twice_is_refused_naming_it():
    new = run_b()
    new["results"].append(copy.deepcopy(new["results"][0]))
    with pytest.raises(ReportError, match=r"^b.json: holds clause 'lookup.rows' on backend 'reference' twice"):
        differences(run_a(), new, "a.json", "b.json")


def test_only_a_few_differences_per_field_are_printed_and_all_are_counted():
    new = run_b()
    record(new, "lookup.rows", "reference")["observed"] = [[9.0] * 4 for _ in range(2)]
    old = run_a()
    record(old, "lookup.rows", "reference")["observed"] = [[0.0] * 4 for _ in range(2)]
    found = differences(old, new)
    assert len(found) == 8 > SHOWN_PER_FIELD
    lines = text(found, 5, 5).splitlines()
    assert lines[:SHOWN_PER_FIELD] == [d.line() for d in found[:SHOWN_PER_FIELD]]
    assert lines[SHOWN_PER_FIELD] == ("lookup.rows [reference] observed: ... (more differences in this field; "
                                      "counted below)")
    assert lines[-1].startswith("DIFFERENT: 8 difference(s) in 1 record(s) of 5 old / 5 new")
    assert len(lines) == SHOWN_PER_FIELD + 2


# -- the command ------------------------------------------------------------------------------------
def test_the_command_exits_0_on_equal_runs_and_1_printing_each_difference(tmp_path, capsys):
    a, b = write(tmp_path / "a.json", run_a()), write(tmp_path / "b.json", run_b())
    assert main(["same", str(a), str(b)]) == 0
    assert capsys.readouterr().out == "same: 5 records, equal apart from duration, generated\n"
    changed = run_b()
    record(changed, "lookup.rows", "torch")["status"] = "diverge"
    write(b, changed)
    assert main(["same", str(a), str(b)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'lookup.rows [torch] status: "conform" -> "diverge"'
    assert out[-1].startswith("DIFFERENT: 1 difference(s) in 1 record(s)")


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "not valid JSON"),
    (json.dumps({"schema": "embedding-conformance/1", "backends": {}}), "does not match results.schema.json"),
])
def test_bad_input_is_exit_2_and_one_line_naming_the_file(tmp_path, capsys, content, message):
    good, bad = write(tmp_path / "good.json", run_a()), tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    for args in ([good, bad], [bad, good]):
        assert main(["same", *map(str, args)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {bad}: ") and message in err and err.count("\n") == 1


def test_the_command_from_a_shell(tmp_path):
    """``python -m conformance same`` as a user runs it: exit status and output."""
    a, b = write(tmp_path / "a.json", run_a()), tmp_path / "b.json"
    changed = run_b()
    changed["results"].pop()
    write(b, changed)
    proc = subprocess.run([sys.executable, "-m", "conformance", "same", str(a), str(b)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[0] == "char.float [torch] (record): (present) -> (absent)"
