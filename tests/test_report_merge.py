"""Loading and merging results files: lossless, and refusing what cannot be merged honestly."""
import json

import jsonschema
import pytest

from conformance.__main__ import main
from conformance.report import ReportError, load, load_many
from conformance.report.load import SCHEMA_PATH
from tests.report_fixtures import (
    FRAMEWORKS,
    backend_info,
    document,
    result,
    scenario,
    split_by_backend,
    write,
)


def _split_files(tmp_path):
    return [write(tmp_path / f"{b}.json", d) for b, d in split_by_backend(scenario()).items()]


def test_merge_of_per_backend_files_loses_nothing(tmp_path):
    original = scenario()
    merged = load_many(_split_files(tmp_path))
    assert len(merged["results"]) == len(original["results"]) == 36
    key = lambda r: (r["clause"], r["backend"])  # noqa: E731
    assert sorted(merged["results"], key=key) == sorted(original["results"], key=key)
    assert set(merged["backends"]) == {"reference", *FRAMEWORKS}
    assert merged["backends"]["keras-jax"] == backend_info("keras-jax")
    assert merged["clauses"] == original["clauses"]
    assert len(merged["sources"]) == 6
    jsonschema.validate(merged, json.loads(SCHEMA_PATH.read_text()))


def test_identical_duplicates_are_merged_once(tmp_path):
    a = write(tmp_path / "a.json", scenario())
    b = write(tmp_path / "b.json", scenario())
    merged = load_many([a, b])
    assert len(merged["results"]) == 36


def test_duration_does_not_make_a_disagreement(tmp_path):
    a = write(tmp_path / "a.json", document([result("c.one", "torch", duration=0.1)]))
    b = write(tmp_path / "b.json", document([result("c.one", "torch", duration=2.5)]))
    assert len(load_many([a, b])["results"]) == 1


def test_disagreeing_duplicates_are_refused_naming_both_files(tmp_path):
    a = write(tmp_path / "first.json", document([result("c.one", "torch", "conform")]))
    b = write(tmp_path / "second.json", document([result("c.one", "torch", "diverge")]))
    with pytest.raises(ReportError) as exc:
        load_many([a, b])
    message = str(exc.value)
    assert "second.json" in message and "first.json" in message
    assert "c.one" in message and "torch" in message


def test_same_status_but_other_observation_is_refused(tmp_path):
    a = write(tmp_path / "a.json", document([result("c.one", "torch", "diverge", observed=1)]))
    b = write(tmp_path / "b.json", document([result("c.one", "torch", "diverge", observed=2)]))
    with pytest.raises(ReportError, match="b.json"):
        load_many([a, b])


def test_other_schema_is_refused_naming_the_file(tmp_path):
    good = write(tmp_path / "good.json", scenario())
    other = dict(scenario(), schema="embedding-conformance/2")
    bad = write(tmp_path / "other.json", other)
    with pytest.raises(ReportError, match="other.json") as exc:
        load_many([good, bad])
    assert "embedding-conformance/2" in str(exc.value)


def test_schema_violation_is_refused_naming_the_file(tmp_path):
    doc = scenario()
    doc["results"][3]["status"] = "passed"
    bad = write(tmp_path / "broken.json", doc)
    with pytest.raises(ReportError, match="broken.json.*results/3"):
        load(bad)


def test_missing_and_invalid_json_name_the_file(tmp_path):
    with pytest.raises(ReportError, match="absent.json: no such file"):
        load(tmp_path / "absent.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ReportError, match="junk.json: not valid JSON"):
        load(tmp_path / "junk.json")


def test_backends_and_clauses_dicts_merge(tmp_path):
    a = document([result("c.one", "torch")], clauses={
        "c.one": {"section": "Vector matrix", "level": "normative", "claim": "one"}})
    b = document([result("c.two", "keras-jax")], clauses={
        "c.two": {"section": "Input masking", "level": "normative", "claim": "two"}})
    # a backend that was not installed in one run and installed in the other
    a["backends"]["keras-jax"] = {"framework": "jax", "version": None, "available": False,
                                  "reason": "not installed"}
    merged = load_many([write(tmp_path / "a.json", a), write(tmp_path / "b.json", b)])
    assert set(merged["clauses"]) == {"c.one", "c.two"}
    assert merged["backends"]["keras-jax"]["available"] is True
    assert set(merged["backends"]) == {"torch", "keras-jax"}


def test_conflicting_clause_metadata_is_refused(tmp_path):
    meta = {"section": "Vector matrix", "level": "normative", "claim": "one"}
    a = document([], backends=[], clauses={"c.one": meta})
    b = document([], backends=[], clauses={"c.one": dict(meta, claim="another")})
    with pytest.raises(ReportError, match="b.json.*c.one"):
        load_many([write(tmp_path / "a.json", a), write(tmp_path / "b.json", b)])


def test_cli_refusal_exits_2_with_the_file_name(tmp_path, capsys):
    a = write(tmp_path / "first.json", document([result("c.one", "torch", "conform")]))
    b = write(tmp_path / "second.json", document([result("c.one", "torch", "error")]))
    assert main(["report", str(a), str(b), "--output", str(tmp_path / "out")]) == 2
    assert "second.json" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.html").exists()


def test_cli_writes_a_lossless_merged_results_file(tmp_path):
    out = tmp_path / "out"
    assert main(["report", *map(str, _split_files(tmp_path)), "--output", str(out)]) == 0
    merged = json.loads((out / "results.json").read_text())
    assert len(merged["results"]) == 36
    assert len(load(out / "results.json")["results"]) == 36  # and it is itself valid
