"""Drawn examples (conformance/language/drawing.py, properties.py): draw blocks checked against the
document's own values, examples judged on a backend through its worker, a failure shrunk and
reported with its snippet, a registered divergence not shrunk, replay by seed, profiles, and the
planted off-example faults of tests/off_example_faults.py all caught."""
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from backends.reference import Reference
from conformance.judging.outcome import judge
from conformance.judging.replies import Observed
from conformance.language import drawing
from conformance.language.spec import SpecError, load_all, load_file
from conformance.report.render import write_report
from conformance.running.actions import run_case
from conformance.running.properties import PROFILES, RunConfig, draw_examples
from conformance.running.session import make_case
from tests import off_example_faults
from tests.shared_runs import conformance_run

from .test_spec_validation import GOOD, write

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "conformance" / "report" / "results.schema.json").read_text())
FAULTS = "tests.off_example_faults"

DRAWN = GOOD + """    draw:
      params: {voc_size: [1, 20000], vec_dim: [1, 64], batch: [0, 6], inputs: [1, 16]}
      with:
        inputs: [{indices: [batch, inputs], high: voc_size, dtype: [int32, int64]}]
"""

MASKED = """
  - id: mask.sample
    level: normative
    quote: set mask_zero=True
    claim: The mask is True where the index is not 0.
    params: {voc_size: 5, vec_dim: 2}
    model:
      layers: [{embedding: {input_dim: voc_size, output_dim: vec_dim, mask_zero: true}}]
    action: mask
    with: {x: [[1, 2, 0, 0], [3, 0, 0, 0]]}
    expect:
      - {check: equal, of: mask, to: reference}
    draw:
      params: {voc_size: [2, 20000], batch: [1, 6], inputs: [1, 16]}
      with:
        x: {padded: [batch, inputs], high: voc_size, layout: trailing}
"""


def spec_error(tmp_path, body) -> str:
    with pytest.raises(SpecError) as info:
        load_file(write(tmp_path, body))
    return str(info.value)


# -- the draw block, checked against the clause's own literal values ---------------------------------
def test_a_drawable_clause_loads_and_the_shipped_specs_decide_for_every_judged_clause(tmp_path):
    (c,) = load_file(write(tmp_path, DRAWN))
    assert drawing.is_drawable(c)
    for clause in load_all():
        if clause.judged:  # a draw block, or the reason it is not drawn
            assert clause.draw is not None, f"{clause.id}: say how it is drawn, or why not"
        else:
            assert clause.draw is None, clause.id


@pytest.mark.parametrize("old, new, fragment", [
    ("voc_size: [1, 20000]", "voc_size: [6, 20000]",
     "voc_size: the document's value 5 lies outside the domain [6, 20000]"),
    ("batch: [0, 6]", "batch: [2, 6]", "the document's input has batch = 1, outside the domain [2, 6]"),
    ("inputs: [1, 16]", "inputs: [3, 16]", "the document's input has inputs = 2, outside the domain [3, 16]"),
    ("with: {inputs: [[[0, 1]]]}", "with: {inputs: [[[0, 1, 2]], [[1]]]}",
     "a drawn list has another length than the document's"),
    ("dtype: [int32, int64]", "dtype: [int64]", "the document's dtype int32 is not among the drawn dtypes"),
    ("dtype: [int32, int64]", "dtype: [int32], last: true", "'last' makes VOC_SIZE-1 occur"),
    ("high: voc_size,", "high: 1,", "the document's indices [0, 1] lie outside [0, 0]"),
    ("vec_dim: [1, 64]", "vec_dim: [0, 64]", "vec_dim: a size below 1 (0) has no meaning"),
    ("vec_dim: [1, 64]", "vec_dim: [64, 1]", "vec_dim: empty domain [64, 1]"),
    ("vec_dim: [1, 64]", "vec_dim: [1.5, 64]", "vec_dim: a size is drawn from integers"),
    ("[batch, inputs]", "[batch, steps]", "'steps' is no parameter"),
    ("[batch, inputs]", "[inputs]", "the document's input has rank 2, the generator draws rank 1"),
    ("voc_size: [1, 20000]", "voc_size: [1, 100000000]", "at the domains' maxima the clause needs about"),
    ("vec_dim: [1, 64]", "vec_dim: [1, 64], units: [1, 8]", "['units'] drawn but used nowhere"),
])
def test_a_domain_that_contradicts_the_document_is_refused(tmp_path, old, new, fragment):
    assert old in DRAWN
    message = spec_error(tmp_path, DRAWN.replace(old, new))
    assert "clause 'lookup.sample'" in message and fragment in message, message


@pytest.mark.parametrize("old, new, fragment", [
    ("[[1, 2, 0, 0], [3, 0, 0, 0]]", "[[1, 0, 2, 0], [3, 0, 0, 0]]",
     "layout trailing, but the document's rows have zeros before an index"),
    ("[[1, 2, 0, 0], [3, 0, 0, 0]]", "[[1, 2, 0, 0], [0, 0, 0, 0]]",
     "the document's input has a row of zeros only; say empty_rows: true"),
    ("voc_size: [2, 20000]", "voc_size: [1, 20000]", "padded rows need non-zero indices"),
    ("x: {padded", "y: {padded", "draw: with: ['y'] not in the clause's 'with'"),
])
def test_padded_rows_fit_the_document_and_name_what_is_drawn(tmp_path, old, new, fragment):
    assert old in MASKED
    message = spec_error(tmp_path, MASKED.replace(old, new))
    assert "clause 'mask.sample'" in message and fragment in message, message


def test_literal_arrays_are_drawn_when_sizes_are(tmp_path):
    body = MASKED.replace("      with:\n        x: {padded: [batch, inputs], high: voc_size, layout: trailing}\n", "")
    assert "the literal arrays ['x'] must be drawn too" in spec_error(tmp_path, body)


def test_a_characterization_clause_is_never_drawn(tmp_path):
    body = DRAWN.replace("level: normative\n    quote: given an input number i, it outputs the i-th row\n",
                         "level: characterization\n").replace(
        "    expect:\n      - {check: close, of: \"outputs[0]\", to: reference}\n",
        "    characterize: {describe: lookup}\n")
    assert "a characterization clause" in spec_error(tmp_path, body)


def test_resampled_targets_come_after_what_they_copy(tmp_path):
    body = """
  - id: mask.loss-sample
    level: normative
    quote: ignoring errors from masked inputs
    claim: Changing targets at masked steps leaves the loss unchanged.
    params: {voc_size: 5, vec_dim: 2}
    model:
      layers:
        - {embedding: {input_dim: voc_size, output_dim: vec_dim, mask_zero: true}}
        - {dense: {units: 1}}
    action: loss
    with:
      x: [[1, 0]]
      targets: [[[[0.5], [0.0]]], [[[0.5], [7.0]]]]
    expect:
      - {check: close, of: "losses[1]", to: {of: "losses[0]"}}
    draw:
      params: {voc_size: [2, 50], batch: [1, 3], inputs: [1, 4]}
      with:
        x: {padded: [batch, inputs], high: voc_size}
        targets:
          - {floats: [batch, inputs, 1], low: -1, high: 1}
          - {resample_masked: "targets[0]", where: x}
"""
    (c,) = load_file(write(tmp_path, body))
    examples = draw_examples(c, RunConfig.make("ci", 0))
    for ex in examples:
        t0, t1, x = ex.args["targets"][0], ex.args["targets"][1], ex.args["x"]
        assert (t0[x != 0] == t1[x != 0]).all()
    assert any((ex.args["targets"][0] != ex.args["targets"][1]).any() for ex in examples)
    swapped = body.replace("""        x: {padded: [batch, inputs], high: voc_size}
        targets:
          - {floats: [batch, inputs, 1], low: -1, high: 1}
          - {resample_masked: "targets[0]", where: x}""", """        targets:
          - {floats: [batch, inputs, 1], low: -1, high: 1}
          - {resample_masked: "targets[0]", where: x}
        x: {padded: [batch, inputs], high: voc_size}""")
    assert swapped != body
    assert "'resample_masked' and 'where' name arrays drawn before it" in spec_error(tmp_path, swapped)
    unchanged = body.replace("[[[[0.5], [0.0]]], [[[0.5], [7.0]]]]", "[[[[0.5], [0.0]]], [[[0.6], [7.0]]]]")
    assert "differs from targets[0] at unmasked steps" in spec_error(tmp_path, unchanged)


# -- the examples a profile draws ---------------------------------------------------------------------
def test_examples_stay_in_their_domains_and_the_ci_profile_buckets_sizes(tmp_path):
    (c,) = load_file(write(tmp_path, DRAWN))
    ci = draw_examples(c, RunConfig.make("ci", 0))
    assert len(ci) == PROFILES["ci"].examples
    for ex in ci:
        (x,) = ex.args["inputs"]
        assert x.shape == (ex.params["batch"], ex.params["inputs"])
        assert x.size == 0 or 0 <= x.min() <= x.max() < ex.params["voc_size"]
        assert str(x.dtype) in ("int32", "int64")
        assert ex.params["voc_size"] in {s["voc_size"] for s in drawing.clause_buckets(c)}
    assert {str(ex.args["inputs"][0].dtype) for ex in ci} == {"int32", "int64"}
    assert any(ex.args["inputs"][0].size and ex.args["inputs"][0].max() == ex.params["voc_size"] - 1
               and ex.params["voc_size"] > 1 for ex in ci), "VOC_SIZE-1 is drawn"
    assert [ex.key() for ex in ci] == [ex.key() for ex in draw_examples(c, RunConfig.make("ci", 0))]
    assert [ex.key() for ex in ci] != [ex.key() for ex in draw_examples(c, RunConfig.make("ci", 1))]


def test_padded_rows_differ_per_sample_and_a_batch_is_never_all_padding(tmp_path):
    body = MASKED.replace("layout: trailing", "empty_rows: true").replace(
        "[[1, 2, 0, 0], [3, 0, 0, 0]]", "[[1, 0, 2, 0], [0, 0, 0, 0]]")
    (c,) = load_file(write(tmp_path, body))
    examples = draw_examples(c, RunConfig.make("thorough", 3))
    seen = set()
    for ex in examples:
        x = ex.args["x"]
        assert x.any(), "an all-masked batch is char.all-masked-loss, never drawn"
        for row in x != 0:
            if not row.any():
                seen.add("empty row")
                continue
            first, last = row.argmax(), len(row) - 1 - row[::-1].argmax()
            seen.update(name for name, hit in (("leading", first > 0), ("trailing", last < len(row) - 1),
                                               ("interior", not row[first:last + 1].all())) if hit)
        if len({tuple(row) for row in (x != 0)}) > 1:
            seen.add("rows padded differently")
    assert seen == {"leading", "trailing", "interior", "empty row", "rows padded differently"}


def test_profiles_and_seeds():
    assert PROFILES["ci"].examples >= 20 and PROFILES["ci"].seed == 0 and PROFILES["ci"].buckets
    assert PROFILES["thorough"].examples >= 300 and PROFILES["thorough"].seed is None
    assert RunConfig.make(None, None) == RunConfig(PROFILES["ci"], 0)
    assert RunConfig.make("thorough", "12").seed == 12
    with pytest.raises(ValueError, match="knows the profiles ci, thorough"):
        RunConfig.make("dev", None)
    with pytest.raises(ValueError, match="replays an integer seed"):
        RunConfig.make("ci", "abc")


# -- the planted faults are off-example: every clause conforms at the document's values ------------------
def _at_document_example(backend, clause):
    """The pure judge's verdict on ``backend`` run in-process at the clause's own example."""
    case = make_case(clause)
    return judge(clause, "fault", case, Observed(run_case(backend, case)), Observed(run_case(Reference(), case)))


@pytest.mark.parametrize("fault", off_example_faults.FAULTS, ids=lambda f: f.__name__)
def test_a_planted_fault_conforms_at_every_document_example(fault):
    backend = fault()
    wrong = [c.id for c in load_all() if c.judged and _at_document_example(backend, c).status != "conform"]
    assert not wrong, f"{fault.__name__} fires at the document's own example of {wrong}"


# -- end to end, through the plugin and the workers -------------------------------------------------------
def run(tmp_path, *args, name="results.json", timeout=600):
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider",
                           "--json", str(out), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    data = json.loads(out.read_text()) if out.exists() else None
    return proc, data


def records(data, backend=None):
    return {r["clause"]: r for r in data["results"] if backend is None or r["backend"] == backend}


def test_the_ci_profile_judges_20_examples_per_drawable_clause(tmp_path, tmp_path_factory):
    proc, data = conformance_run(tmp_path_factory, "--backend", "reference")  # tests/test_plugin.py reads it too
    assert proc.returncode == 0, proc.stdout[-3000:]
    jsonschema.validate(data, SCHEMA)
    assert data["hypothesis"] == {"profile": "ci", "seed": 0}
    drawable = {c.id for c in load_all() if drawing.is_drawable(c)}
    for cid, r in records(data).items():
        assert (r["profile"], r["seed"]) == ("ci", 0)
        assert r["examples"] == (20 if cid in drawable else None), cid
    assert "drawn examples: " in proc.stdout and "profile ci, seed 0" in proc.stdout
    # the report states the profile and seed, and the examples run in every cell
    write_report(data, tmp_path / "report")
    md = (tmp_path / "report" / "report.md").read_text()
    html = (tmp_path / "report" / "report.html").read_text()
    assert "Drawn examples: Hypothesis profile **ci**, seed 0" in md and "· 20 ex.](#" in md
    assert "drawn examples: 20 (profile ci, seed 0)" in md
    assert "Hypothesis profile <strong>ci</strong>, seed 0" in html and "20 ex.</span>" in html


def test_the_thorough_profile_judges_300_and_records_its_random_seed(tmp_path):
    proc, data = run(tmp_path, "--backend", "reference", "--hypothesis-profile", "thorough",
                     "-k", "rows-are-matrix-rows or requires-vector-dimension")
    assert proc.returncode == 0, proc.stdout[-3000:]
    seed = data["hypothesis"]["seed"]
    assert data["hypothesis"]["profile"] == "thorough" and isinstance(seed, int)
    assert [r["examples"] for r in data["results"]] == [300, 300]
    assert {r["seed"] for r in data["results"]} == {seed}


def test_an_unknown_profile_or_seed_is_a_usage_error(tmp_path):
    proc, _ = run(tmp_path, "--backend", "reference", "--hypothesis-profile", "dev")
    assert proc.returncode == 4 and "knows the profiles ci, thorough" in proc.stderr
    proc, _ = run(tmp_path, "--backend", "reference", "--hypothesis-seed", "0x12")
    assert proc.returncode == 4 and "replays an integer seed" in proc.stderr


def test_a_failing_example_is_shrunk_and_reported_with_its_snippet(tmp_path):
    fault = f"{FAULTS}:IndexFiveAndAbove"
    proc, data = run(tmp_path, "--backend", fault, "-k", "rows-are-matrix-rows")
    assert proc.returncode == 1, proc.stdout[-3000:]
    (r,) = data["results"]
    assert r["status"] == "diverge" and not r["known"]
    example = r["example"]
    assert example["shrunk"] is True and example["shrink_calls"] > 0
    indices = [v for x in example["with"]["inputs"] for row in x["values"] for v in row]
    # shrunk: the smallest index that fails, among zeros
    assert max(indices) == 5 and sorted(set(indices)) in ([0, 5], [5]), example
    assert example["params"]["voc_size"] == 7  # the smallest set of sizes in which index 5 exists
    text = proc.stdout
    for part in ("example  drawn (shrunk", "replay with --hypothesis-seed 0", "params   voc_size=7,",
                 "check    close on outputs[", "expected", "observed", "reproduce with the framework alone:",
                 "IndexFiveAndAbove"):
        assert part in text, part
    snippet = subprocess.run([sys.executable, "-c", r["snippet"]], cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
    assert snippet.returncode == 0, snippet.stderr


def test_a_registered_divergence_is_not_shrunk_and_replays_exactly(tmp_path):
    fault = f"{FAULTS}:IndexFiveAndAbove"
    spec_dir = tmp_path / "specs"
    (spec_dir / "divergences").mkdir(parents=True)
    for path in (ROOT / "specs").glob("*.yaml"):
        (spec_dir / path.name).write_text(path.read_text())
    (spec_dir / "divergences" / "fault.yaml").write_text(
        f"backend: {fault}\ndivergences:\n  - clause: lookup.rows-are-matrix-rows\n"
        "    reason: registered for the test, with a reason long enough to read.\n"
        "    observed: [{check: differ, of: outputs, to: reference}]\n")
    args = ("--backend", fault, "--spec-dir", str(spec_dir), "-k", "rows-are-matrix-rows", "--hypothesis-seed", "7")
    proc, data = run(tmp_path, *args)
    assert proc.returncode == 0 and "1 xfailed" in proc.stdout, proc.stdout[-3000:]
    (r,) = data["results"]
    assert r["status"] == "diverge" and r["known"] and r["seed"] == 7
    assert r["example"]["shrunk"] is False and r["example"]["shrink_calls"] == 0
    _, again = run(tmp_path, *args, name="again.json")
    assert _without_timing(again) == _without_timing(data)


def _registry(tmp_path, backend, entries: str):
    spec_dir = tmp_path / "specs"
    (spec_dir / "divergences").mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "specs").glob("*.yaml"):
        (spec_dir / path.name).write_text(path.read_text())
    (spec_dir / "divergences" / "fault.yaml").write_text(f"backend: {backend}\ndivergences:\n{entries}")
    return spec_dir


def test_a_divergence_registered_for_drawn_examples_only_is_expected_where_it_shows_and_not_strict(tmp_path):
    """``scope: drawn``: the document's example conforms; a drawn example that diverges as pinned is
    a known divergence (not shrunk); a cell whose drawn examples never show it conforms."""
    fault = f"{FAULTS}:IndexFiveAndAbove"
    entry = ("  - clause: {clause}\n    scope: drawn\n"
             "    reason: registered for the test, with a reason long enough to read.\n"
             "    observed: [{{check: differ, of: outputs, to: reference}}]\n")
    clauses = ("lookup.rows-are-matrix-rows", "lookup.shape-inferred-from-input")
    spec_dir = _registry(tmp_path, fault, "".join(entry.format(clause=c) for c in clauses))
    proc, data = run(tmp_path, "--backend", fault, "--spec-dir", str(spec_dir), "-k",
                     "rows-are-matrix-rows or shape-inferred-from-input")
    # the other clauses are deselected, however many the spec holds
    assert proc.returncode == 0 and re.search(r"\b1 passed, \d+ deselected, 1 xfailed\b", proc.stdout), (
        proc.stdout[-3000:])
    shown, absent = records(data)[clauses[0]], records(data)[clauses[1]]
    assert shown["status"] == "diverge" and shown["known"] and shown["example"]["shrunk"] is False
    assert absent["status"] == "conform" and not absent["known"] and absent["examples"] == 20
    # the same entry without the scope is strict: a cell that conforms fails the run
    plain = entry.replace("    scope: drawn\n", "").format(clause=clauses[1])
    spec_dir = _registry(tmp_path / "plain", fault, plain)
    proc, data = run(tmp_path, "--backend", fault, "--spec-dir", str(spec_dir), "-k", "shape-inferred-from-input")
    assert proc.returncode == 1 and records(data)[clauses[1]]["known"], proc.stdout[-3000:]
    # and a scope it does not know is a usage error naming the file and clause
    spec_dir = _registry(tmp_path / "bad", fault, entry.replace("scope: drawn", "scope: sometimes").format(
        clause=clauses[0]))
    proc, _ = run(tmp_path, "--backend", fault, "--spec-dir", str(spec_dir))
    assert proc.returncode == 4 and "fault.yaml" in proc.stderr and "'scope' is drawn" in proc.stderr, proc.stderr


def test_a_replay_with_the_seed_gives_the_same_json(tmp_path):
    args = ("--backend", "reference", "--backend", f"{FAULTS}:LastIndexOffByOne", "--backend",
            f"{FAULTS}:RegularizerFixedFactor", "-k", "every-index or l2-adds or shape-inferred",
            "--hypothesis-seed", "11")
    _, first = run(tmp_path, *args, name="first.json")
    _, second = run(tmp_path, *args, name="second.json")
    assert first["hypothesis"]["seed"] == 11
    assert any(r["example"] for r in first["results"])  # a shrunk failure is part of what replays
    assert _without_timing(first) == _without_timing(second)
    _, other = run(tmp_path, *args[:-1], "12", name="other.json")
    assert _without_timing(other) != _without_timing(first)


def _without_timing(data):
    data = {k: v for k, v in data.items() if k != "generated"}
    data["results"] = [{k: v for k, v in r.items() if k != "duration"} for r in data["results"]]
    return data


def test_every_planted_fault_is_caught_by_the_ci_profile(tmp_path):
    faults = off_example_faults.FAULTS
    assert len(faults) >= 10
    selection = " or ".join(sorted({c for f in faults for c in f.catches}))
    args = [a for f in faults for a in ("--backend", f"{FAULTS}:{f.__name__}")]
    proc, data = run(tmp_path, *args, "-k", selection)
    missed = []
    for fault in faults:
        got = records(data, f"{FAULTS}:{fault.__name__}")
        caught = [cid for cid in fault.catches if got[cid]["status"] == "diverge" and got[cid]["example"]]
        if not caught:
            missed.append((fault.__name__, {cid: got[cid]["status"] for cid in fault.catches}))
    assert not missed, missed
    assert proc.returncode == 1


def test_a_crash_on_a_drawn_example_is_pinned_to_it_and_the_next_clause_runs(tmp_path):
    crasher = f"{FAULTS}:CrashesOnLargeVocabularies"
    proc, data = run(tmp_path, "--backend", crasher, "-k", "rows-are-matrix-rows or shape-inferred")
    got = records(data)
    crashed = got["lookup.rows-are-matrix-rows"]
    assert crashed["status"] == "error" and crashed["example"]["params"]["voc_size"] > 1000
    assert "exited with code 3" in crashed["reason"] or "exited with code 3" in proc.stdout
    assert "example  drawn" in proc.stdout
    assert got["lookup.shape-inferred-from-input"]["status"] == "error"  # it crashes there too, alone
    assert got["lookup.shape-inferred-from-input"]["example"] is not None


def test_xdist_workers_draw_with_the_controllers_seed(tmp_path):
    proc, data = run(tmp_path, "--backend", "reference", "--backend", f"{FAULTS}:EmptyBatchRaises",
                     "--hypothesis-profile", "thorough", "-k", "requires-vector-dimension or input-length-accepted",
                     "-n", "2")
    seed = data["hypothesis"]["seed"]
    assert {r["seed"] for r in data["results"]} == {seed} and len(data["results"]) == 4
    assert all(r["examples"] == 300 for r in data["results"])


def test_items_handed_their_batch_ahead_give_the_same_results(tmp_path):
    """A serial run hands the next item's worker its batch before this item's answers are read;
    a single xdist worker runs without that plan, one item at a time: the same records."""
    args = ("--backend", "reference", "--backend", f"{FAULTS}:IndexFiveAndAbove", "--backend",
            f"{FAULTS}:CrashesOnLargeVocabularies", "-k", "lookup or mask.marks")
    _, ahead = run(tmp_path, *args, name="ahead.json")
    _, alone = run(tmp_path, *args, "-n", "1", name="alone.json")
    assert len(ahead["results"]) == 15
    assert _without_timing(ahead)["results"] == _without_timing(alone)["results"]


def test_an_answer_is_never_taken_for_another_cases():
    from conformance.running.actions import Case
    from conformance.running.channel import ChannelError
    from conformance.running.worker import _check_answer

    case = Case("lookup.x", "forward", None, example="abc")
    assert _check_answer(case)(("ok", {}, None, ("lookup.x", "abc"))) == Observed({}, None, ("lookup.x", "abc"))
    with pytest.raises(ChannelError, match="where .*'abc'.* was due"):
        _check_answer(case)(("ok", {}, None, ("lookup.x", "other")))
    with pytest.raises(ChannelError, match="not a reply"):
        _check_answer(case)(("ok", {}, None))


def test_anything_failing_while_drawing_or_shrinking_still_ends_in_a_record(monkeypatch, tmp_path):
    from conformance.running import properties

    (c,) = load_file(write(tmp_path, DRAWN))

    class Session:
        known, drawn, following = {}, {}, None

        def availability(self, name):
            return type("A", (), {"available": True})()

    def broken(*args, **kwargs):
        raise RuntimeError("Hypothesis gave up")

    monkeypatch.setattr(properties, "_judge_item", broken)
    outcome = properties.judge_item(Session(), c, "reference", RunConfig.make("ci", 0))
    assert outcome.status == "error" and "Hypothesis gave up" in outcome.reason
    assert outcome.record()["examples"] == 0 and outcome.record()["profile"] == "ci"


def test_the_docs_list_every_planted_fault_and_its_score():
    text = (ROOT / "docs" / "DRAWN-EXAMPLES.md").read_text()
    names = [f.__name__ for f in off_example_faults.FAULTS]
    listed = re.findall(r"^\| `(\w+)` \| .+ \| `([\w.-]+)` \| yes \|$", text, re.M)
    assert sorted(name for name, _ in listed) == sorted(names)
    catches = {f.__name__: f.catches for f in off_example_faults.FAULTS}
    assert all(clause in catches[name] for name, clause in listed), listed
    assert f"Score: **{len(names)} / {len(names)}** caught by the `ci` profile" in text
