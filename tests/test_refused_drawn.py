"""Refused drawn examples are never silent (issue 20, item 4): a backend that raises Unsupported
on drawn examples whose document example it ran has them counted in its record with their reasons;
a normative cell without a declared limit diverges at the first refused example, a declared limit
(``drawn_limit``) keeps the cell's verdict and the report shows "N of M drawn examples refused".

The adapters are tests/static_shapes.py (the reference refusing vocabularies over 1000 words), run
as third-party backends through the plugin and their workers."""
import jsonschema
import pytest

from backends.base import Declaration
from conformance.language.spec import load_all
from conformance.report.render import write_report
from conformance.running.properties import RunConfig, drawn
from tests import static_shapes

from .test_drawn import SCHEMA, records, run

MODULE = "tests.static_shapes"
NORMATIVE, EXTENSION = "lookup.rows-are-matrix-rows", "lookup.output-is-float32"
REASON = f"exported for at most {static_shapes.LARGEST} rows"


def _refused(clause_id):
    """How many of the clause's ci examples draw a vocabulary the adapters refuse, and how many in all."""
    clause = next(c for c in load_all() if c.id == clause_id)

    class Session:
        drawn = {}

    examples, _ = drawn(Session(), clause, RunConfig.make("ci", None))
    return sum(ex.params["voc_size"] > static_shapes.LARGEST for ex in examples), len(examples)


def test_the_ci_examples_hold_refused_and_accepted_ones():
    refused, total = _refused(NORMATIVE)
    assert 0 < refused < total and _refused(EXTENSION)[0] > 0


def test_undeclared_refusals_of_a_normative_clause_diverge_at_the_first_refused_example(tmp_path):
    proc, data = run(tmp_path, "--backend", f"{MODULE}:StaticVocabulary", "-k", f"{NORMATIVE} or {EXTENSION}")
    assert proc.returncode == 1, proc.stdout[-3000:]
    jsonschema.validate(data, SCHEMA)
    refused, total = _refused(NORMATIVE)
    r = records(data)[NORMATIVE]
    assert r["status"] == "diverge" and not r["known"], r["reason"]
    assert r["refused"] == {"count": refused, "reasons": [REASON], "declared": None}
    assert r["examples"] == total - refused == sum(r["drawn"].values()) and r["drawn"]["other"] == 0
    assert r["example"]["params"]["voc_size"] > static_shapes.LARGEST and r["example"]["shrunk"] is False
    assert f"{refused} of {total} drawn examples refused: {REASON}" in r["reason"]
    assert "DIVERGES from the document" in proc.stdout and "Unsupported: " + REASON in proc.stdout
    assert "drawn_limit" in proc.stdout  # how to declare it, if it is a real limit
    # an extension keeps its verdict, its refusals recorded and shown
    ext = records(data)[EXTENSION]
    assert ext["status"] == "conform" and ext["refused"]["count"] == _refused(EXTENSION)[0] > 0
    assert f"refused drawn examples: {EXTENSION} on {MODULE}:StaticVocabulary" in proc.stdout


def test_a_declared_limit_conforms_and_the_report_shows_the_refusals(tmp_path):
    backend = f"{MODULE}:DeclaredStaticVocabulary"
    proc, data = run(tmp_path, "--backend", backend, "-k", NORMATIVE)
    assert proc.returncode == 0, proc.stdout[-3000:]
    jsonschema.validate(data, SCHEMA)
    refused, total = _refused(NORMATIVE)
    r = records(data)[NORMATIVE]
    limit = static_shapes.DeclaredStaticVocabulary.drawn_limit
    assert r["status"] == "conform" and r["example"] is None
    assert r["refused"] == {"count": refused, "reasons": [REASON], "declared": limit}
    assert r["examples"] == total - refused == r["drawn"]["conform"]
    said = f"{refused} of {total} drawn examples refused: {REASON} (declared limit: {limit})"
    assert said in proc.stdout
    write_report(data, tmp_path / "report")
    md = (tmp_path / "report" / "report.md").read_text()
    html = (tmp_path / "report" / "report.html").read_text()
    assert said in md and f"· {refused} refused](#" in md
    assert said in html and f"{refused} refused</span>" in html


def test_a_limit_that_is_not_words_is_refused_naming_the_backend(tmp_path):
    with pytest.raises(ValueError, match="drawn_limit says why in words"):
        Declaration(name="x", framework="x", display="x", drawn_limit=1000)
    proc, data = run(tmp_path, "--backend", f"{MODULE}:UndeclaredTypo", "-k", NORMATIVE)
    r = records(data)[NORMATIVE]
    assert proc.returncode == 1 and r["status"] == "error", r
    assert f"backend '{MODULE}:UndeclaredTypo': drawn_limit says why in words" in r["reason"]


def test_every_drawn_record_says_what_was_refused_and_a_clause_not_drawn_says_nothing(tmp_path):
    proc, data = run(tmp_path, "--backend", "reference", "-k", f"{NORMATIVE} or doc.predict-nested-list-one-input")
    assert proc.returncode == 0, proc.stdout[-3000:]
    got = records(data)
    assert got[NORMATIVE]["refused"] == {"count": 0, "reasons": [], "declared": None}
    assert got["doc.predict-nested-list-one-input"]["refused"] is None
    assert "refused drawn examples" not in proc.stdout
