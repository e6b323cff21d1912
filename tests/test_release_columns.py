"""Issue 11 item 2: one backend at several releases in one report (columns, "since" in the errata and
the characterization, nightlies as early warnings) and ``diff`` between two releases."""
import json
import re
from pathlib import Path

import jsonschema
import pytest

from conformance.__main__ import main
from conformance.report import ReportError, load, load_many, matrix, render
from conformance.report.load import SCHEMA_PATH
from tests.report_fixtures import document, result, write

DATA = Path(__file__).resolve().parent / "data"
KTF = "keras-tensorflow"


def run_at(version, results, engine="tensorflow-2.16.2", name=KTF):
    """One backend's results file at one release, as the plugin writes it."""
    doc = document(results, backends=[name])
    doc["backends"][name] = {"framework": "keras", "version": version,
                             "detail": f"keras {version} on {engine.replace('-', ' ', 1)}",
                             "release": f"{name}@{version}+{engine}", "available": True, "reason": None}
    return doc


def files(tmp_path, *docs):
    return [write(tmp_path / f"run{n}.json", d) for n, d in enumerate(docs)]


# -- merging: columns, not refusals --------------------------------------------------------------
def test_two_releases_of_one_backend_merge_as_two_columns(tmp_path):
    old = run_at("3.0.5", [result("c.a", KTF, "diverge", known=True, reason="old")])
    new = run_at("3.15.1", [result("c.a", KTF)], engine="tensorflow-2.21.0")
    merged = load_many(files(tmp_path, old, new))
    assert set(merged["backends"]) == {"keras-tensorflow@3.0.5+tensorflow-2.16.2",
                                       "keras-tensorflow@3.15.1+tensorflow-2.21.0"}
    assert {b["backend"] for b in merged["backends"].values()} == {KTF}
    assert sorted((r["release"], r["status"]) for r in merged["results"]) == [
        ("keras-tensorflow@3.0.5+tensorflow-2.16.2", "diverge"),
        ("keras-tensorflow@3.15.1+tensorflow-2.21.0", "conform")]
    jsonschema.validate(merged, json.loads(SCHEMA_PATH.read_text()))


def test_a_merged_file_merges_again_with_a_third_release(tmp_path):
    old = run_at("3.0.5", [result("c.a", KTF, "diverge")])
    new = run_at("3.15.1", [result("c.a", KTF)], engine="tensorflow-2.21.0")
    out = tmp_path / "out"
    assert main(["report", *map(str, files(tmp_path, old, new)), "--output", str(out)]) == 0
    again = load_many([out / "results.json", out / "results.json"])  # itself, twice: no conflict
    assert len(again["results"]) == 2
    third = write(tmp_path / "mid.json", run_at("3.8.0", [result("c.a", KTF, "error")], "tensorflow-2.18.1"))
    merged = load_many([out / "results.json", third])
    assert len(merged["backends"]) == 3 and len(merged["results"]) == 3
    model = matrix.build(merged)
    assert [b["label"] for b in model["backends"]] == [
        "keras-tensorflow 3.0.5", "keras-tensorflow 3.8.0", "keras-tensorflow 3.15.1"]


def test_one_release_stays_keyed_by_the_backend_name(tmp_path):
    a = run_at("3.15.1", [result("c.a", KTF)])
    b = run_at("3.15.1", [result("c.b", KTF)])
    merged = load_many(files(tmp_path, a, b))
    assert list(merged["backends"]) == [KTF]
    assert all("release" not in r for r in merged["results"])
    assert [c["label"] for c in matrix.build(merged)["backends"]] == [KTF]


def test_disagreeing_results_of_the_same_release_are_still_refused(tmp_path):
    a = run_at("3.15.1", [result("c.a", KTF)])
    b = run_at("3.15.1", [result("c.a", KTF, "diverge")])
    with pytest.raises(ReportError, match=r"run1.json.*'c.a'.*keras-tensorflow.*3.15.1.*run0.json"):
        load_many(files(tmp_path, a, b))


def test_files_written_before_results_named_a_release_use_the_version(tmp_path):
    a, b = run_at("2.15.1", [result("c.a", "tf-keras")], name="tf-keras"), run_at(
        "2.16.0", [result("c.a", "tf-keras", "diverge")], name="tf-keras")
    for doc in (a, b):
        del doc["backends"]["tf-keras"]["release"]
    merged = load_many(files(tmp_path, a, b))
    assert set(merged["backends"]) == {"tf-keras@2.15.1", "tf-keras@2.16.0"}


def test_columns_are_ordered_by_version_and_a_nightly_is_marked_and_last(tmp_path):
    docs = [run_at(v, [result("c.a", KTF)]) for v in ("3.16.0.dev2026102704", "3.10.0", "3.9.2")]
    model = matrix.build(load_many(files(tmp_path, *docs)))
    assert [b["label"] for b in model["backends"]] == [
        "keras-tensorflow 3.9.2", "keras-tensorflow 3.10.0", "keras-tensorflow 3.16.0.dev2026102704 (nightly)"]
    assert [b["nightly"] for b in model["backends"]] == [False, False, True]


def test_a_lone_nightly_column_is_marked_with_its_version(tmp_path):
    doc = run_at("3.15.1", [result("c.a", KTF)], engine="tensorflow-2.22.0-dev20260905")
    (col,) = matrix.build(load_many(files(tmp_path, doc)))["backends"]
    assert col["label"] == "keras-tensorflow 3.15.1 (nightly)"


# -- since which release ------------------------------------------------------------------------
def _history_model(tmp_path, states, level="normative", document_code=True):
    """One clause on keras-tensorflow at the given (version, status, extra) states."""
    docs = [run_at(v, [result("doc.x", KTF, st, level=level, document_code=document_code, **extra)])
            for v, st, extra in states]
    return matrix.build(load_many(files(tmp_path, *docs)))


def test_a_divergence_in_every_release_says_so_and_names_the_releases(tmp_path):
    model = _history_model(tmp_path, [(v, "diverge", {"known": True, "reason": "predict refuses lists"})
                                      for v in ("3.0.5", "3.8.0", "3.15.1")])
    (entry,) = model["errata"]["document_code"][0]["entries"]
    assert entry["backend"] == "keras-tensorflow 3.15.1"
    assert entry["since"] == "in every release run (keras 3.0.5, keras 3.8.0, keras 3.15.1)"
    (row,) = model["errata"]["all_diverge"]
    assert row["ran"] == 1  # one framework, judged on its newest release


def test_a_single_release_is_named_as_the_one_release_run(tmp_path):
    model = _history_model(tmp_path, [("3.15.1", "diverge", {})])
    assert model["errata"]["document_code"][0]["entries"][0]["since"] == "in the one release run (keras 3.15.1)"


def test_a_divergence_that_starts_later_says_from_which_release(tmp_path):
    model = _history_model(tmp_path, [("3.0.5", "conform", {}), ("3.8.0", "diverge", {"reason": "r"}),
                                      ("3.15.1", "diverge", {"reason": "r"})])
    (entry,) = model["errata"]["document_code"][0]["entries"]
    assert entry["since"] == ("conform in keras 3.0.5; diverge (new) from keras 3.8.0 on "
                              "(releases run: keras 3.0.5, keras 3.8.0, keras 3.15.1)")


def test_two_divergences_in_turn_are_told_apart(tmp_path):
    refused = {"known": True, "reason": "3.0 and 3.1 refuse input_length",
               "observed": {"equal:shape": "raises ValueError: Unrecognized keyword arguments"}}
    ignored = {"known": True, "reason": "3.2 on ignore input_length", "observed": {"equal:shape": ["?"]}}
    model = _history_model(tmp_path, [("3.0.5", "diverge", refused), ("3.1.1", "diverge", refused),
                                      ("3.15.1", "diverge", ignored)])
    (entry,) = model["errata"]["document_code"][0]["entries"]
    assert entry["since"] == ("diverge (known): raises ValueError in keras 3.0.5 to keras 3.1.1; "
                              "diverge (known) from keras 3.15.1 on "
                              "(releases run: keras 3.0.5, keras 3.1.1, keras 3.15.1)")
    same_words = _history_model(tmp_path, [("3.0.5", "diverge", dict(refused, observed=1)),
                                           ("3.15.1", "diverge", ignored)])
    since = same_words["errata"]["document_code"][0]["entries"][0]["since"]
    assert '("3.0 and 3.1 refuse input_length") in keras 3.0.5' in since
    assert '("3.2 on ignore input_length") from keras 3.15.1 on' in since


def test_a_divergence_fixed_in_the_newest_release_is_no_erratum(tmp_path):
    model = _history_model(tmp_path, [("3.0.5", "diverge", {}), ("3.15.1", "conform", {})])
    assert model["errata"] == {"all_diverge": [], "document_code": []}


def test_a_release_that_skipped_is_not_a_release_run(tmp_path):
    model = _history_model(tmp_path, [("3.0.5", "diverge", {}), ("3.8.0", "skip", {}),
                                      ("3.15.1", "diverge", {})])
    assert model["errata"]["document_code"][0]["entries"][0]["since"] == (
        "in every release run (keras 3.0.5, keras 3.15.1)")


def test_characterization_says_from_which_release_a_behaviour_holds(tmp_path):
    model = _history_model(tmp_path, [
        ("3.0.5", "diverge", {"behaviour": "raises ValueError", "agrees": False}),
        ("3.15.1", "diverge", {"behaviour": "warns (UserWarning)", "agrees": False})],
        level="characterization", document_code=False)
    (char,) = model["characterization"]
    assert char["since"] == [{"backend": KTF, "text": "raises ValueError in keras 3.0.5; warns (UserWarning) "
                                                      "from keras 3.15.1 on (releases run: keras 3.0.5, keras 3.15.1)"}]
    assert char["disagree"] is True


# -- nightlies: early warnings, never errata while a release ran ------------------------------------
def test_a_new_divergence_in_the_nightly_is_an_early_warning_with_its_version(tmp_path):
    model = _history_model(tmp_path, [("3.15.1", "conform", {}),
                                      ("3.16.0.dev2026102704", "diverge", {"reason": "loss counts masked"})])
    assert model["errata"]["document_code"] == []
    (warning,) = model["early_warnings"]
    (entry,) = warning["entries"]
    assert entry["backend"] == "keras-tensorflow 3.16.0.dev2026102704 (nightly)"
    assert (entry["text"], entry["was"]) == ("diverge (new)", "conform in keras 3.15.1")


def test_a_nightly_alone_shows_its_new_divergences(tmp_path):
    model = _history_model(tmp_path, [("3.16.0.dev2026102704", "diverge", {})])
    assert [e["was"] for w in model["early_warnings"] for e in w["entries"]] == [None]
    assert model["errata"]["document_code"][0]["entries"][0]["nightly"] is True


def test_a_nightly_like_the_release_is_no_warning(tmp_path):
    model = _history_model(tmp_path, [("3.15.1", "conform", {}), ("3.16.0.dev1", "conform", {})])
    assert model["early_warnings"] == []


# -- rendering -----------------------------------------------------------------------------------
def test_report_shows_the_releases_side_by_side_with_since_in_the_errata(tmp_path):
    model = _history_model(tmp_path, [("3.0.5", "conform", {}), ("3.15.1", "diverge", {"reason": "r"}),
                                      ("3.16.0.dev1", "error", {"reason": "boom"})])
    doc = load_many(sorted(tmp_path.glob("run*.json")))
    assert model["backends"] == matrix.build(doc)["backends"]
    render.write_report(doc, tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| Clause | Level |"))
    assert ("keras-tensorflow 3.0.5 | keras-tensorflow 3.15.1 | keras-tensorflow 3.16.0.dev1 (nightly) |"
            in header)
    errata = md.split("## Document errata", 1)[1].split("## Spec coverage", 1)[0]
    assert "conform in keras 3.0.5; diverge (new) in keras 3.15.1; error from keras 3.16.0.dev1 (nightly) on" in errata
    assert "Early warnings" in errata and "was diverge (new) in keras 3.15.1" in errata
    html = (tmp_path / "out" / "report.html").read_text()
    links, targets = set(re.findall(r'href="#([^"]+)"', html)), set(re.findall(r'id="([^"]+)"', html))
    assert links <= targets
    assert "diverge (new) in keras 3.15.1" in html.split('id="errata"')[1].split('id="coverage"')[0]
    badges = sorted(p.name for p in (tmp_path / "out").glob("badge-keras-tensorflow*[0-9].json"))
    assert badges == ["badge-keras-tensorflow_3.0.5_tensorflow-2.16.2.json",
                      "badge-keras-tensorflow_3.15.1_tensorflow-2.16.2.json",
                      "badge-keras-tensorflow_3.16.0.dev1_tensorflow-2.16.2.json"]
    label = json.loads((tmp_path / "out" / badges[1]).read_text())
    assert (label["label"], label["message"]) == ("keras-tensorflow 3.15.1", "0/1 conform")


# -- diff between two releases ---------------------------------------------------------------------
def test_diff_names_the_two_releases_and_matches_cells_by_backend_name(tmp_path, capsys):
    old = run_at("3.0.5", [result("c.a", KTF, "diverge", known=True), result("c.b", KTF)])
    new = run_at("3.15.1", [result("c.a", KTF), result("c.b", KTF, "diverge")], engine="tensorflow-2.21.0")
    a, b = files(tmp_path, old, new)
    assert main(["diff", str(a), str(b)]) == 1  # c.b: conform -> diverge
    out = capsys.readouterr().out
    assert "keras-tensorflow: keras 3.0.5 on tensorflow 2.16.2 -> keras 3.15.1 on tensorflow 2.21.0" in out
    lines = out.split("\n\n", 1)[1].splitlines()
    assert any(x.startswith("!!") and "c.b" in x and "conform" in x and "diverge" in x for x in lines)
    assert any("c.a" in x and "status" in x and not x.startswith("!!") for x in lines)


def test_diff_refuses_a_file_holding_one_backend_at_two_releases(tmp_path, capsys):
    old = run_at("3.0.5", [result("c.a", KTF)])
    new = run_at("3.15.1", [result("c.a", KTF)], engine="tensorflow-2.21.0")
    out = tmp_path / "out"
    assert main(["report", *map(str, files(tmp_path, old, new)), "--output", str(out)]) == 0
    assert main(["diff", str(tmp_path / "run0.json"), str(out / "results.json")]) == 2
    err = capsys.readouterr().err
    assert "results.json" in err and "2 releases" in err and "keras-tensorflow@3.0.5" in err


# -- real runs: keras 3.0.5 on tensorflow 2.16.2 and keras 3.15.1 on tensorflow 2.21.0 -------------------
REAL = [DATA / "keras-tensorflow@3.0.5.json", DATA / "keras-tensorflow@3.15.1.json"]


@pytest.fixture(scope="module")
def real():
    return [load(p) for p in REAL], matrix.build(load_many(REAL))


def _by_clause(doc):
    return {r["clause"]: r for r in doc["results"]}


def test_real_runs_side_by_side(real):
    (old, new), model = real
    assert [b["label"] for b in model["backends"]] == ["keras-tensorflow 3.0.5", "keras-tensorflow 3.15.1"]
    assert [b["detail"] for b in model["backends"]] == ["keras 3.0.5 on tensorflow 2.16.2",
                                                         "keras 3.15.1 on tensorflow 2.21.0"]
    for col, doc in zip(model["backends"], (old, new)):
        for clause, res in _by_clause(doc).items():
            row = next(r for s in model["sections"] for r in s["rows"] if r["id"] == clause)
            assert row["cells"][col["key"]]["result"] == {**res, "release": col["release"]}


def test_real_errata_say_since_which_release_from_the_runs(real):
    """Every erratum entry is the 3.15.1 result; its "since" is "in every release run" exactly when
    the 3.0.5 result has the same status, registration and behaviour, and otherwise names 3.0.5's state
    before "from keras 3.15.1 on"."""
    (old, new), model = real
    old_by, new_by = _by_clause(old), _by_clause(new)
    entries = [(e["row"]["id"], x) for kind in ("all_diverge", "document_code")
               for e in model["errata"][kind] for x in e["entries"]]
    assert entries
    for clause, entry in entries:
        a, b = old_by[clause], new_by[clause]
        assert entry["backend"] == "keras-tensorflow 3.15.1"
        same = (a["status"], a["known"], a.get("behaviour"), a["reason"], bool(a["warnings"])) == (
            b["status"], b["known"], b.get("behaviour"), b["reason"], bool(b["warnings"]))
        if same:
            assert entry["since"] == "in every release run (keras 3.0.5, keras 3.15.1)", clause
        else:
            assert entry["since"].endswith(" from keras 3.15.1 on (releases run: keras 3.0.5, keras 3.15.1)"), clause
            assert " in keras 3.0.5; " in entry["since"], clause


def test_real_facts_of_the_two_releases(real):
    """What docs/FRAMEWORK-RELEASES.md records (each confirmed with a framework-only snippet): Keras 3.0
    refuses input_length (ValueError), 3.15 accepts it with a deprecation warning; predict on a plain
    list fails on both."""
    _, model = real
    since = {e["row"]["id"]: x["since"] for e in model["errata"]["document_code"] for x in e["entries"]}
    assert since["ctor.input-length-accepted"].startswith(
        "diverge (known): raises ValueError in keras 3.0.5; conform, warns from keras 3.15.1 on")
    assert since["doc.predict-nested-list-one-input"] == "in every release run (keras 3.0.5, keras 3.15.1)"
    char = {c["row"]["id"]: c["since"] for c in model["characterization"]}
    assert char["ctor.input-length-warning"][0]["text"].startswith(
        "raises ValueError in keras 3.0.5; warns (UserWarning) from keras 3.15.1 on")


def test_real_diff_between_the_releases(capsys):
    assert main(["diff", *map(str, REAL)]) == 0  # 3.0.5 -> 3.15.1: fixes and changes, no regression
    out = capsys.readouterr().out
    assert "keras-tensorflow: keras 3.0.5 on tensorflow 2.16.2 -> keras 3.15.1 on tensorflow 2.21.0" in out
    assert re.search(r"ctor\.input-length-accepted\s+keras-tensorflow\s+status\s+diverge\s+conform", out)



def test_a_result_of_a_release_its_file_does_not_list_keeps_a_column_of_its_own(tmp_path):
    old = run_at("3.0.5", [result("c.a", KTF, "diverge")])
    new = run_at("3.15.1", [result("c.a", KTF)], engine="tensorflow-2.21.0")
    new["results"].append(result("c.b", KTF, "error", release="keras-tensorflow@9.9"))  # hostile or hand-edited
    merged = load_many(files(tmp_path, old, new))
    assert merged["backends"]["keras-tensorflow@9.9"]["version"] is None
    model = matrix.build(merged)
    cells = [c for s in model["sections"] for r in s["rows"] for c in r["cells"].values() if c["result"]]
    assert len(cells) == 3  # nothing lost
    assert "keras-tensorflow@9.9" in [b["key"] for b in model["backends"]]
    jsonschema.validate(merged, json.loads(SCHEMA_PATH.read_text()))
    assert len(load_many([write(tmp_path / "again.json", merged)])["results"]) == 3
