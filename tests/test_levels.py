"""Three levels: an extension fails a run like a normative clause, but is scored, badged and
listed apart, so that "diverges from the document" is only ever about what the document says."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from conformance.report import diff, matrix
from conformance.report.badges import badge_data, write_badges
from tests.report_fixtures import document, result

ROOT = Path(__file__).resolve().parent.parent


def mixed():
    """torch: normative a conforms, b diverges; extension x conforms, y and z diverge."""
    return document([
        result("a", "torch"), result("b", "torch", "diverge"),
        result("x", "torch", level="extension"), result("y", "torch", "diverge", level="extension"),
        result("z", "torch", "diverge", level="extension", known=True),
        result("c", "torch", "diverge", level="characterization", behaviour="NaN")])


def test_scores_and_badges_keep_normative_and_extension_apart(tmp_path):
    doc = mixed()
    assert matrix.normative_score(doc["results"]) == (1, 2)
    assert matrix.extension_score(doc["results"]) == (1, 3)
    summary = matrix.build(doc)["summary"]["torch"]
    assert (summary["normative_conform"], summary["normative_applicable"]) == (1, 2)
    assert (summary["extension_conform"], summary["extension_applicable"]) == (1, 3)
    assert badge_data("torch", doc["results"])["message"] == "1/2 conform"
    ext = badge_data("torch", doc["results"], "extension")
    assert ext["message"] == "1/3 conform" and ext["label"] == "torch extensions"
    write_badges(doc, ["torch"], tmp_path)
    endpoint = json.loads((tmp_path / "badge-torch-extension.json").read_text())
    assert endpoint["message"] == "1/3 conform" and "1/3 conform" in (
        tmp_path / "badge-torch-extension.svg").read_text()


def test_extension_divergences_are_divergences_but_not_document_errata():
    doc = document([result("y", b, "diverge", level="extension") for b in ("reference", "torch")])
    model = matrix.build(doc)
    assert model["sections"][0]["rows"][0]["cells"]["torch"]["category"] == "diverge-new"
    assert model["errata"]["all_diverge"] == []


def test_a_new_extension_divergence_is_a_regression():
    old = result("y", "torch", level="extension")
    assert diff.is_regression(old, result("y", "torch", "diverge", level="extension"))
    assert not diff.is_regression(old, result("y", "torch", "diverge", level="characterization"))


def test_the_report_shows_both_scores_and_the_quotes():
    from conformance.report.render import render

    doc = mixed()
    doc["clauses"] = {"a": {"section": "Vector matrix", "level": "normative", "claim": "claim a",
                            "quote": ["it outputs the i-th row"]}}
    model = matrix.build(doc)
    md = render(model, "report.md.j2")
    assert "| Normative | Extensions |" in md and "**1/2 conform** | 1/3 conform |" in md
    assert "> it outputs the i-th row" in md
    html = render(model, "report.html.j2")
    summary = html.split('id="summary"', 1)[1].split('id="matrix"', 1)[0]  # the summary opens the report
    assert "<strong>1/2 conform</strong>" in summary and "1/3 conform" in summary
    assert "<blockquote>it outputs the i-th row</blockquote>" in html


SPEC = """
section: Introduction
clauses:
  - id: lookup.extension-sample
    level: extension
    claim: Index i gives row i of the matrix (as an extension).
    params: {voc_size: 5, vec_dim: 2}
    model:
      layers: [{embedding: {input_dim: voc_size, output_dim: vec_dim}}]
    action: forward
    with: {inputs: [[[0, 1]]]}
    expect:
      - {check: close, of: "outputs[0]", to: reference}
"""


def test_an_extension_divergence_fails_the_run_and_is_selected_by_its_marker(tmp_path):
    (tmp_path / "01-x.yaml").write_text(textwrap.dedent(SPEC))
    (tmp_path / "divergences").mkdir()
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider",
                           "--spec-dir", str(tmp_path), "--backend", "conformance.tools.mutants:OffByOneLookup",
                           "-m", "extension", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "DIVERGES from the extension" in proc.stdout
    (record,) = json.loads(out.read_text())["results"]
    assert (record["level"], record["status"]) == ("extension", "diverge")
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider",
                           "--spec-dir", str(tmp_path), "--backend", "conformance.tools.mutants:OffByOneLookup",
                           "-m", "normative"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 5, proc.stdout[-3000:]   # nothing selected: it is not normative
