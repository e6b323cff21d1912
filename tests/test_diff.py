"""`python -m conformance diff OLD NEW`: what counts as a change, what as a regression."""
import copy
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.__main__ import main
from conformance.report.diff import changes
from tests.report_fixtures import document, result, scenario, write

ROOT = Path(__file__).resolve().parent.parent


def _edit(doc, clause, backend, **fields):
    doc = copy.deepcopy(doc)
    for r in doc["results"]:
        if (r["clause"], r["backend"]) == (clause, backend):
            r.update(fields)
    return doc


def _diff(tmp_path, capsys, old, new):
    a, b = write(tmp_path / "old.json", old), write(tmp_path / "new.json", new)
    code = main(["diff", str(a), str(b)])
    return code, capsys.readouterr().out


def test_no_change_exits_0(tmp_path, capsys):
    code, out = _diff(tmp_path, capsys, scenario(), scenario())
    assert code == 0
    assert "No changes." in out


def test_conform_to_diverge_is_a_regression(tmp_path, capsys):
    new = _edit(scenario(), "lookup.rows", "keras-jax", status="diverge", observed=[[0.5]])
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 1
    line = next(x for x in out.splitlines() if "status" in x)
    assert line.startswith("!!")
    assert all(w in line for w in ("lookup.rows", "keras-jax", "conform", "diverge"))
    assert any("observed" in x and "[[0.5]]" in x for x in out.splitlines())
    assert "1 regression(s)" in out


def test_conform_to_error_is_a_regression(tmp_path, capsys):
    new = _edit(scenario(), "dtype.float-input", "torch", status="error")
    code, _ = _diff(tmp_path, capsys, scenario(), new)
    assert code == 1


def test_known_divergence_becoming_unknown_is_a_regression(tmp_path, capsys):
    new = _edit(scenario(), "shape.output", "keras-torch", known=False)
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 1
    assert any(x.startswith("!!") and "known" in x for x in out.splitlines())


def test_new_clause_with_unknown_divergence_is_a_regression(tmp_path, capsys):
    new = scenario()
    new["results"].append(result("new.clause", "torch", "diverge"))
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 1
    assert any("new.clause" in x and "added" in x for x in out.splitlines())


def test_divergence_becoming_known_is_a_change_not_a_regression(tmp_path, capsys):
    new = _edit(scenario(), "shape.output", "torch", known=True)
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 0
    assert "shape.output" in out and "known" in out


def test_fix_is_not_a_regression(tmp_path, capsys):
    new = _edit(scenario(), "shape.output", "torch", status="conform", observed=1)
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 0 and "shape.output" in out


def test_characterization_behaviour_change_is_a_change_only(tmp_path, capsys):
    new = _edit(scenario(), "oob.index", "torch", behaviour="NaN row", observed="nan")
    new = _edit(new, "dtype.float-input", "keras-jax", status="diverge",
                behaviour="raises TypeError", agrees=False)
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 0
    assert any("behaviour" in x and "raises IndexError" in x and "NaN row" in x
               for x in out.splitlines())
    assert "!!" not in out


def test_observed_change_alone_is_listed(tmp_path, capsys):
    new = _edit(scenario(), "shape.output", "torch", observed=[2, 4])
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 0
    assert any("observed" in x and "[2, 3]" in x and "[2, 4]" in x for x in out.splitlines())


def test_removed_pairs_are_listed_as_regressions(tmp_path, capsys):
    new = scenario()
    new["results"] = [r for r in new["results"] if r["backend"] != "tf-keras"]
    new["collected"] = new["recorded"] = len(new["results"])  # a complete run of fewer backends
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 1
    table = out.split("\n\n", 1)[1]  # after the header naming the releases
    removed = [x for x in table.splitlines() if "tf-keras" in x]
    assert len(removed) == 6 and all(x.startswith("!!") and "removed" in x and "(absent)" in x
                                     for x in removed)


def test_changes_rows():
    old = document([result("a", "torch"), result("b", "torch", "diverge", known=True)])
    new = document([result("a", "torch", "diverge"), result("b", "torch", "diverge",
                                                            known=True)])
    assert changes(old, new) == [{"clause": "a", "backend": "torch", "what": "status",
                                  "old": "conform", "new": "diverge", "regression": True}]


@pytest.mark.parametrize("bad", ["missing", "junk", "schema"])
def test_bad_input_exits_2_naming_the_file(tmp_path, capsys, bad):
    good = write(tmp_path / "good.json", scenario())
    path = tmp_path / f"{bad}.json"
    if bad == "junk":
        path.write_text("[1, 2")
    elif bad == "schema":
        write(path, {"schema": "embedding-conformance/1", "results": []})
    assert main(["diff", str(good), str(path)]) == 2
    assert f"{bad}.json" in capsys.readouterr().err


def test_exit_codes_through_the_module(tmp_path):
    old = write(tmp_path / "old.json", scenario())
    new = write(tmp_path / "new.json",
                _edit(scenario(), "lookup.rows", "torch", status="error"))
    run = lambda *a: subprocess.run([sys.executable, "-m", "conformance", "diff", *a],  # noqa: E731
                                    cwd=ROOT, capture_output=True, text=True, check=False)
    assert run(str(old), str(old)).returncode == 0
    assert run(str(old), str(new)).returncode == 1
    bad = run(str(old), str(tmp_path / "nope.json"))
    assert bad.returncode == 2 and "nope.json" in bad.stderr


@pytest.mark.parametrize("old, new, regression", [
    ("conform", "emulated", True),     # the framework no longer computes the value itself
    ("emulated", "diverge", True),
    ("emulated", "error", True),
    ("emulated", "conform", False),
    ("diverge", "emulated", False),
])
def test_emulated_sits_between_conform_and_diverge(tmp_path, capsys, old, new, regression):
    before = _edit(scenario(), "lookup.rows", "keras-jax", status=old)
    after = _edit(scenario(), "lookup.rows", "keras-jax", status=new)
    code, out = _diff(tmp_path, capsys, before, after)
    assert code == (1 if regression else 0)
    line = next(x for x in out.splitlines() if "status" in x and "lookup.rows" in x)
    assert line.startswith("!!") is regression


@pytest.mark.parametrize("level", ["normative", "characterization"])
@pytest.mark.parametrize("old, new", [("conform", "skip"), ("conform", "unsupported"),
                                      ("emulated", "skip"), ("emulated", "unsupported")])
def test_a_verdict_that_became_a_skip_or_unsupported_is_a_regression(tmp_path, capsys, old, new, level):
    # 57 conform -> skip or unsupported changes used to give "0 regressions", exit 0
    before = _edit(scenario(), "lookup.rows", "keras-jax", status=old, level=level)
    after = _edit(scenario(), "lookup.rows", "keras-jax", status=new, level=level)
    code, out = _diff(tmp_path, capsys, before, after)
    assert code == 1
    line = next(x for x in out.splitlines() if "status" in x and "lookup.rows" in x)
    assert line.startswith("!!") and "1 regression(s)" in out


@pytest.mark.parametrize("level", ["normative", "characterization"])
def test_a_new_pair_that_errors_is_a_regression(tmp_path, capsys, level):
    new = scenario()
    new["results"].append(result("new.clause", "torch", "error", level=level))
    new["collected"] = new["recorded"] = len(new["results"])
    code, out = _diff(tmp_path, capsys, scenario(), new)
    assert code == 1
    assert any(x.startswith("!!") and "new.clause" in x and "added" in x for x in out.splitlines())


def test_a_skip_that_stays_a_skip_or_becomes_a_verdict_is_no_regression(tmp_path, capsys):
    before = _edit(scenario(), "lookup.rows", "keras-jax", status="skip")
    for after in ("skip", "conform", "unsupported"):
        code, _ = _diff(tmp_path, capsys, before, _edit(scenario(), "lookup.rows", "keras-jax", status=after))
        assert code == 0, after


@pytest.mark.parametrize("depth", [150, 5000])
def test_a_results_file_nested_too_deeply_is_one_line_exit_2(tmp_path, capsys, depth):
    # 5,000 levels crashed report and diff with a RecursionError traceback (diff exiting 1)
    deep = tmp_path / "deep.json"
    deep.write_text('{"schema": ' + "[" * depth + "]" * depth + "}")
    good = write(tmp_path / "good.json", scenario())
    for args in (["diff", str(good), str(deep)], ["report", "-o", str(tmp_path / "out"), str(deep)],
                 ["same", str(deep), str(good)]):
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and f"{deep}: nested" in err, err
    assert not (tmp_path / "out").exists()
