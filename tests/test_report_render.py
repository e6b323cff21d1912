"""The report's content (errata, coverage, characterization) and its rendering (escaped, and laid
out so that a 1,400-pixel window shows the summary first and every backend's column)."""
import html as html_lib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.__main__ import main
from conformance.report import matrix, render
from tests.report_fixtures import document, result, scenario, split_by_backend, write

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def model():
    return matrix.build(scenario())


def test_backends_in_canonical_order_and_sections_in_document_order(model):
    assert [b["name"] for b in model["backends"]] == [
        "reference", "keras-tensorflow", "keras-jax", "keras-torch", "tf-keras", "torch"]
    assert [s["name"] for s in model["sections"]] == [
        "Embedding in Keras", "Vector matrix", "Interaction with Dense and RNN", "Input masking"]


def test_errata_all_frameworks_diverge(model):
    (entry,) = model["errata"]["all_diverge"]
    assert entry["row"]["id"] == "mask.zero-reserved"
    # torch skipped, so the four others are the ones that count; the reference is not one
    assert [e["backend"] for e in entry["entries"]] == [
        "keras-tensorflow", "keras-jax", "keras-torch", "tf-keras"]
    assert {e["reason"] for e in entry["entries"]} == {"index 0 is a normal row"}
    assert [e["text"] for e in entry["entries"]] == [
        "diverge (new)", "diverge (known)", "diverge (new)", "diverge (new)"]


def test_errata_not_raised_when_one_framework_conforms():
    doc = document([result("c.x", "reference"), result("c.x", "torch", "diverge"),
                    result("c.x", "keras-jax", "conform")])
    assert matrix.build(doc)["errata"]["all_diverge"] == []


def test_errata_ignore_characterization_clauses():
    doc = document([result("c.x", b, "diverge", level="characterization", behaviour="NaN row")
                    for b in ("torch", "keras-jax")])
    assert matrix.build(doc)["errata"]["all_diverge"] == []


def test_errata_document_code(model):
    (entry,) = model["errata"]["document_code"]
    assert entry["row"]["id"] == "doc.dense-example"
    # tf-keras errors; torch is unsupported, which is not the tutorial's code failing
    assert [(e["backend"], e["text"], e["reason"]) for e in entry["entries"]] == [
        ("tf-keras", "error", "TypeError: input_length removed")]


def test_errata_document_code_that_only_warns(tmp_path):
    warning = "UserWarning: Argument `input_length` is deprecated. Just remove it."
    doc = document([result("doc.x", "reference", document_code=True),
                    result("doc.x", "keras-jax", document_code=True, warnings=[warning]),
                    result("doc.x", "torch", document_code=True)])
    (entry,) = matrix.build(doc)["errata"]["document_code"]
    assert [(e["backend"], e["text"], e["warnings"]) for e in entry["entries"]] == [
        ("keras-jax", "conform, warns", [warning])]
    render.write_report(doc, tmp_path)
    errata = (tmp_path / "report.html").read_text().split('id="errata"')[1]
    assert "Argument `input_length` is deprecated" in errata.split('id="coverage"')[0]


def test_characterization_disagreement_flag(model):
    flags = {c["row"]["id"]: c["disagree"] for c in model["characterization"]}
    assert flags == {"oob.index": True, "dtype.float-input": False}
    oob = next(c for c in model["characterization"] if c["row"]["id"] == "oob.index")
    assert oob["backends"]["torch"]["behaviour"] == "raises IndexError"
    assert oob["backends"]["keras-jax"]["behaviour"] == "clips to last row"


def test_characterization_same_words_but_agrees_false_is_flagged():
    doc = document([result("c.x", "reference", level="characterization", behaviour="NaN row"),
                    result("c.x", "torch", "diverge", level="characterization",
                           behaviour="NaN row", agrees=False)])
    assert matrix.build(doc)["characterization"][0]["disagree"] is True


def test_characterization_skips_do_not_disagree():
    doc = document([result("c.x", "reference", level="characterization", behaviour="NaN row"),
                    result("c.x", "torch", "skip", level="characterization", behaviour=None)])
    assert matrix.build(doc)["characterization"][0]["disagree"] is False


def test_spec_coverage_counts(model):
    cov = {c["section"]: c for c in model["coverage"]}
    assert {s: c["clauses"] for s, c in cov.items()} == {
        "Embedding in Keras": 2, "Vector matrix": 2, "Interaction with Dense and RNN": 1,
        "Input masking": 1}
    vm = cov["Vector matrix"]["backends"]
    assert {b: (x["conform"], x["applicable"]) for b, x in vm.items()} == {
        "reference": (2, 2), "keras-tensorflow": (1, 2), "keras-jax": (1, 2),
        "keras-torch": (0, 2), "tf-keras": (1, 2), "torch": (0, 2)}
    dense = cov["Interaction with Dense and RNN"]["backends"]
    assert (dense["tf-keras"]["conform"], dense["torch"]["applicable"]) == (0, 0)
    assert cov["Input masking"]["backends"]["reference"]["conform"] == 1


def test_summary_counts(model):
    torch = model["summary"]["torch"]
    assert (torch["normative_conform"], torch["normative_applicable"]) == (1, 2)
    assert torch["counts"]["diverge-new"] == 1  # shape.output
    assert torch["counts"]["differs"] == 1  # oob.index: a characterization, not a divergence
    assert torch["counts"]["skip"] == 1 and torch["counts"]["unsupported"] == 1
    assert model["summary"]["keras-torch"]["counts"]["diverge-known"] == 1


def _evil():
    return document([
        result("c.<b>bold</b>", "torch", "diverge", claim="a | b <script>alert(1)</script>",
               reason="line1\nline2 ``` <img src=x onerror=alert(2)>",
               snippet="print('</pre><script>alert(3)</script>')\n````",
               link="javascript:alert(4)", observed="<iframe>", expected="&amp;"),
        result("c.ok", "reference", link="https://github.com/o/r/issues/1?a=1&b=2")])


def test_html_escapes_everything(tmp_path):
    render.write_report(_evil(), tmp_path)
    html = (tmp_path / "report.html").read_text()
    for raw in ("<script>alert", "<img src=x", "<iframe>", "<b>bold</b>", "</pre><script>"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;iframe&gt;" in html and "&amp;amp;" in html
    assert 'href="javascript:' not in html
    assert 'href="https://github.com/o/r/issues/1?a=1&amp;b=2"' in html


def test_markdown_escapes_table_cells_and_fences_code(tmp_path):
    render.write_report(_evil(), tmp_path)
    md = (tmp_path / "report.md").read_text()
    # code blocks show text literally; outside them no raw tag may survive
    outside = re.sub(r"(?ms)^ *(`{3,})[^\n]*\n.*?^ *\1 *$", "", md)
    assert "`<iframe>`" in outside  # a short value is inline code, also literal
    outside = re.sub(r"(?<![\\`])`[^`\n]+`", "", outside)
    assert "print(" not in outside  # the snippet really was inside a fence
    assert "<script>" not in outside and "<img" not in outside and "<iframe>" not in outside
    assert r"a \| b &lt;script&gt;" in md
    assert "](javascript:" not in md
    # the snippet holds a run of four backticks, so its fence must be longer
    assert "`````python" in md


@pytest.mark.parametrize("name, pattern", [
    ("report.html", r'href="#([^"]+)"'), ("report.md", r"\]\(#([^)]+)\)")])
def test_every_internal_link_has_a_target(tmp_path, name, pattern):
    render.write_report(scenario(), tmp_path)
    text = (tmp_path / name).read_text()
    links = set(re.findall(pattern, text))
    targets = set(re.findall(r'id="([^"]+)"', text))
    assert links and links <= targets
    assert "r-shape.output--torch" in links  # a cell links to its details


def test_html_cells_are_colour_coded_and_detailed(tmp_path):
    render.write_report(scenario(), tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert 'class="cell st-diverge-new" href="#r-shape.output--torch"' in html
    assert 'class="cell st-diverge-known" href="#r-shape.output--keras-torch"' in html
    detail = html.split('id="r-shape.output--torch"', 1)[1].split("</div>", 1)[0]
    assert "output has an extra axis" in detail
    assert "https://github.com/example/issues/1" in detail
    assert "torch.nn.Embedding(3, 2)" in detail
    for heading in ("Document errata", "Spec coverage", "Characterization"):
        assert heading in html


def test_markdown_sections(tmp_path):
    render.write_report(scenario(), tmp_path)
    md = (tmp_path / "report.md").read_text()
    for heading in ("## Summary", "## Conformance matrix", "## Document errata",
                    "## Spec coverage", "## Characterization", "## Details"):
        assert heading in md
    errata = md.split("## Document errata", 1)[1].split("## Spec coverage", 1)[0]
    assert "mask.zero-reserved" in errata and "doc.dense-example" in errata
    assert "shape.output" not in errata
    assert "TypeError: input\\_length removed" in errata


def test_cli_report_from_several_files(tmp_path, capsys):
    files = [write(tmp_path / f"{b}.json", d) for b, d in split_by_backend(scenario()).items()]
    out = tmp_path / "report"
    assert main(["report", *map(str, files), "--output", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "report.html", "results.json", "badge-torch.svg",
            "badge-torch.json"} <= names
    assert "wrote" in capsys.readouterr().out


def test_module_entry_point_runs(tmp_path):
    src = write(tmp_path / "run.json", scenario())
    proc = subprocess.run([sys.executable, "-m", "conformance",
                           "report", str(src), "--output", str(tmp_path / "out")],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium not installed")
def test_html_renders_in_headless_chromium(tmp_path):
    render.write_report(scenario(), tmp_path / "out")
    png = tmp_path / "shot.png"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={png}", "--window-size=1400,1000",
                    (tmp_path / "out" / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert png.exists() and png.stat().st_size > 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# Appended to a copy of report.html: once laid out, the page writes where things are into the DOM,
# which --dump-dom prints. The matrix is the first table after the "matrix" heading; its last
# len(backends) header cells are the backend columns.
PROBE = """<script>
window.addEventListener('load', () => {
  const n = %d, top = id => { const e = document.getElementById(id); return e ? e.getBoundingClientRect().top : null; };
  let el = document.getElementById('matrix');
  while (el && !(el.matches('table') || el.querySelector('table'))) el = el.nextElementSibling;
  const table = el && (el.matches('table') ? el : el.querySelector('table'));
  const ths = table ? [...table.querySelectorAll('thead th')].slice(-n) : [];
  const out = {width: window.innerWidth, summary: top('summary'), matrix: top('matrix'),
               headers: ths.map(th => ({text: th.textContent, right: th.getBoundingClientRect().right}))};
  const pre = document.createElement('pre'); pre.id = 'layout-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _realistic():
    """The scenario with what makes a real report wide: each backend's engine named in full, long
    claims and behaviours, drawn examples in every judged cell."""
    doc = scenario()
    details = {"reference": "NumPy reference (numpy 2.4.6)",
               "keras-tensorflow": "keras 3.15.1 on tensorflow 2.21.0", "keras-jax": "keras 3.15.1 on jax 0.10.2",
               "keras-torch": "keras 3.15.1 on torch 2.13.0+cpu", "tf-keras": "tf-keras 2.21.0 on tensorflow 2.21.0",
               "torch": "PyTorch 2.13.0+cpu (nn.Embedding, nn.Linear, nn.RNN/LSTM/GRU)"}
    for name, info in doc["backends"].items():
        info["detail"] = details[name]
    for r in doc["results"]:
        r["claim"] = ("input_length takes effect: written as in the document, Sequential() with Embedding("
                      "input_dim=VOC_SIZE, output_dim=VEC_DIM, input_length=inputs) and no Input has the "
                      "output shape (None, inputs, VEC_DIM) before it has seen any data.")
        if r["level"] == "characterization" and r["backend"] != "reference":
            r["behaviour"] = "raises InvalidArgumentError; 0 -> row 0; -1 -> row 4 (UserWarning)"
        elif r["status"] in ("conform", "diverge"):
            r.update(examples=20, profile="ci", seed=0)
    return doc


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium not installed")
def test_a_1400_pixel_window_shows_the_summary_first_and_every_backend_column(tmp_path):
    doc = _realistic()
    render.write_report(doc, tmp_path / "out")
    labels = [b["label"] for b in matrix.build(doc)["backends"]]
    page = (tmp_path / "out" / "report.html").read_text()
    probe = tmp_path / "out" / "probe.html"
    probe.write_text(page.replace("</body>", PROBE % len(labels) + "</body>"))
    proc = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-background-networking", "--disable-component-update",
                           "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                           "--window-size=1400,1000", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'<pre id="layout-probe">([^<]*)</pre>', proc.stdout)
    assert found, proc.stderr[-2000:]
    layout = json.loads(html_lib.unescape(found.group(1)))
    assert layout["width"] == 1400
    assert [h["text"].strip().startswith(label) for h, label in zip(layout["headers"], labels)] == [True] * 6
    off = {label: round(h["right"]) for h, label in zip(layout["headers"], labels) if h["right"] > layout["width"]}
    assert off == {}, f"backend columns past the right edge of a 1,400-pixel window: {off}"
    assert layout["summary"] is not None and layout["summary"] < layout["matrix"], layout


def _with_emulated():
    idiom = {"losses": "the masked mean written by hand"}
    return document([result("mask.loss", "torch", "emulated", section="Input masking", emulation=idiom,
                             reason="conforms only through what the adapter computed by hand"),
                     result("lookup.rows", "torch", section="Introduction"),
                     result("rnn.gru", "torch", "emulated", level="extension", section="Input masking",
                            emulation=idiom),
                     result("mask.loss", "keras-jax", section="Input masking")])


def test_emulated_results_are_a_category_of_their_own_and_never_conform():
    built = matrix.build(_with_emulated())
    torch = built["summary"]["torch"]
    assert torch["counts"]["emulated"] == 2 and torch["counts"]["conform"] == 1
    assert (torch["normative_conform"], torch["normative_applicable"], torch["normative_emulated"]) == (1, 2, 1)
    assert (torch["extension_conform"], torch["extension_applicable"], torch["extension_emulated"]) == (0, 1, 1)
    masking = next(c for c in built["coverage"] if c["section"] == "Input masking")["backends"]["torch"]
    assert (masking["conform"], masking["emulated"], masking["applicable"]) == (0, 2, 2)
    cell = built["sections"][-1]["rows"][0]["cells"]["torch"]
    assert (cell["category"], cell["symbol"]) == ("emulated", "\u25d0")


def test_emulated_results_render_with_their_idiom(tmp_path):
    render.write_report(_with_emulated(), tmp_path)
    md, html = (tmp_path / "report.md").read_text(), (tmp_path / "report.html").read_text()
    assert "**1/2 conform**, 1 emulated" in md and "0/1 conform, 1 emulated" in md
    assert "\u25d0 emulated by the adapter" in md
    assert "emulated `losses`: the adapter computed it by hand: the masked mean written by hand" in md
    assert 'class="cell st-emulated"' in html and ".st-emulated {" in html
    assert "<code>losses</code>: the adapter computed it by hand: the masked mean written by hand" in html


def test_errata_say_a_fact_shared_by_several_backends_once(tmp_path):
    """The three Keras 3 backends diverge alike (same reason, link and release): one line names them
    all, each linked to its own cell; tf-keras, with another reason, keeps its own line."""
    keras = "Keras 3 predict() no longer accepts a plain nested Python list"
    link = "https://keras.io/api/models/model_training_apis/"
    doc = document([result("doc.p", "reference", document_code=True)]
                   + [result("doc.p", b, "diverge", known=True, reason=keras, link=link, document_code=True)
                      for b in ("keras-tensorflow", "keras-jax", "keras-torch")]
                   + [result("doc.p", "tf-keras", "diverge", known=True, reason="tf-keras squeezes",
                             document_code=True),
                      result("doc.p", "torch", document_code=True)])
    for name in ("keras-tensorflow", "keras-jax", "keras-torch"):
        doc["backends"][name]["framework"] = "keras"  # one framework, one release: the same "since"
    (erratum,) = matrix.build(doc)["errata"]["document_code"]
    assert len(erratum["entries"]) == 4  # one per backend, as before
    assert [([b["label"] for b in f["backends"]], f["reason"]) for f in erratum["facts"]] == [
        (["keras-tensorflow", "keras-jax", "keras-torch"], keras), (["tf-keras"], "tf-keras squeezes")]
    assert erratum["facts"][0]["backends"][1]["anchor"] == "r-doc.p--keras-jax"
    render.write_report(doc, tmp_path)
    # every Keras diverges (torch's conforming is not the document's framework): the claim is an
    # erratum of both kinds; the document-code list names each fact once
    md = (tmp_path / "report.md").read_text().split("### Tutorial code", 1)[1].split("## Spec coverage", 1)[0]
    assert md.count(keras) == 1 and md.count("tf-keras squeezes") == 1
    assert ("[keras-tensorflow](#r-doc.p--keras-tensorflow), [keras-jax](#r-doc.p--keras-jax), "
            "[keras-torch](#r-doc.p--keras-torch): diverge (known) — in the one release run (keras 1.0): ") in md
    html = (tmp_path / "report.html").read_text().split("<h3>Tutorial code", 1)[1].split('id="coverage"', 1)[0]
    assert html.count(keras) == 1 and 'href="#r-doc.p--keras-torch">keras-torch</a>' in html
