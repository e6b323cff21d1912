"""Each divergence fact registered once: an entry may hold on several backends (a file's ``backends``,
an entry's subset), with its reason, link and snippet written once, its snippet filled in per
backend and its pins given once or per backend; the Keras 3 facts expand to what each backend needs."""
import re
from pathlib import Path

import pytest

from conformance.language import registry
from conformance.language.spec import SpecError
from conformance.tools import registry_doc, selftest

KERAS3 = ("keras-tensorflow", "keras-jax", "keras-torch")
HEAD = ("backends: [keras-tensorflow, keras-jax, keras-torch]\n"
        "variables:\n  keras-tensorflow: {kb: tensorflow}\n  keras-jax: {kb: jax}\n  keras-torch: {kb: torch}\n"
        "divergences:\n")


def _load(tmp_path, text, name="keras3.yaml"):
    (tmp_path / name).write_text(text)
    return registry.load(tmp_path)


def _refused(tmp_path, text, name="keras3.yaml") -> str:
    with pytest.raises(SpecError) as info:
        _load(tmp_path, text, name)
    message = str(info.value)
    assert message.startswith(str(tmp_path / name)) and "\n" not in message
    return message[len(str(tmp_path / name)):]


# -- the shipped Keras 3 facts ---------------------------------------------------------------------
# Written out by hand from the Keras 3 release notes the entries cite: what each Keras 3 backend must
# be registered for, (clause, releases, scope).
EVERY_KERAS3 = {
    ("doc.predict-nested-list-one-input", None, None), ("doc.predict-nested-list-two-inputs", None, None),
    ("doc.flatten-of-ones", None, None), ("constraint.unit-norm-short-rows", None, None),
    ("constraint.unit-norm-after-step", None, "drawn"),
    ("doc.input-length-flatten-dense", ">=3.2", None), ("doc.input-length-flatten-dense", "<3.2", None),
    ("ctor.input-length-honoured", ">=3.2", None), ("ctor.input-length-honoured", "<3.2", None),
    ("doc.input-length-dense-without-flatten", ">=3.2", None),
    ("doc.input-length-dense-without-flatten", "<3.2", None),
    ("doc.input-length-lstm", ">=3.2", None), ("doc.input-length-lstm", "<3.2", None),
    ("ctor.input-length-accepted", "<3.2", None), ("doc.weights-argument-frozen", "<3.3", None),
    ("pretrained.frozen-unchanged-by-training", "<3.2", None),
    ("pretrained.frozen-downstream-still-trains", "<3.2", None),
}
JAX_ONLY = {("reg.l2-sgd-shrinks-matrix", "<3.2", None)}  # the JAX trainer counted L2 twice


def test_the_keras3_facts_expand_to_the_entries_each_keras_backend_needs():
    entries = registry.load()
    for backend in KERAS3:
        mine = [e for e in entries.values() if e.backend == backend]
        got = {(e.clause, e.releases, e.scope) for e in mine}
        assert got == EVERY_KERAS3 | (JAX_ONLY if backend == "keras-jax" else set()), backend
        assert {e.path.name for e in mine} == {"keras3.yaml"}
        framework = backend.removeprefix("keras-")
        for e in mine:  # each backend's snippet sets its own KERAS_BACKEND, and no other
            assert f'os.environ["KERAS_BACKEND"] = "{framework}"' in e.snippet, (backend, e.clause)
            assert "${" not in e.snippet and len(re.findall("KERAS_BACKEND", e.snippet)) == 1
    # one fact, three backends: the same reason, link and pins, the snippets alike but for the backend
    tf, jax = (registry.find(entries, b, "doc.flatten-of-ones", "3.15.1") for b in KERAS3[:2])
    assert tf.fact == jax.fact and (tf.reason, tf.link, tf.observed) == (jax.reason, jax.link, jax.observed)
    assert tf.snippet.replace('"tensorflow"', '"jax"') == jax.snippet


def test_the_registry_files_are_one_per_family():
    names = sorted(p.name for p in registry.REGISTRY_DIR.glob("*.yaml"))
    assert names == ["exported.yaml", "keras3.yaml", "tf-keras.yaml", "torch.yaml"]  # exported: three columns


# -- the form ----------------------------------------------------------------------------------------
def test_an_entry_holds_on_every_backend_of_its_file_or_on_those_it_lists(tmp_path):
    entries = _load(tmp_path, HEAD + (
        "  - clause: a.b\n    reason: all three\n    observed: [{check: raises}]\n"
        "    snippet: |\n      os.environ['KERAS_BACKEND'] = '${kb}'  # costs $$0\n"
        "  - clause: c.d\n    backends: [keras-jax]\n    releases: '<3.2'\n    reason: jax only\n"
        "    observed: [{check: raises}]\n"))
    assert sorted(entries) == sorted([(b, "a.b") for b in KERAS3] + [("keras-jax", "c.d", "<3.2")])
    snippets = {b: entries[(b, "a.b")].snippet for b in KERAS3}
    assert snippets["keras-torch"] == "os.environ['KERAS_BACKEND'] = 'torch'  # costs $0\n"
    assert len({entries[(b, "a.b")].fact for b in KERAS3}) == 1
    assert entries[("keras-jax", "a.b")].line == 7 and entries[("keras-jax", "c.d", "<3.2")].line == 12


def test_pins_may_differ_per_backend(tmp_path):
    entries = _load(tmp_path, HEAD + (
        "  - clause: a.b\n    reason: r\n    backends: [keras-jax, keras-torch]\n"
        "    observed:\n      keras-jax: [{check: raises, to: ValueError}]\n"
        "      keras-torch: [{check: raises, to: TypeError}]\n"))
    assert entries[("keras-jax", "a.b")].observed == ({"check": "raises", "to": "ValueError"},)
    assert entries[("keras-torch", "a.b")].observed == ({"check": "raises", "to": "TypeError"},)


def test_a_file_without_variables_keeps_its_snippets_as_written(tmp_path):
    entries = _load(tmp_path, "backend: torch\ndivergences:\n  - {clause: a.b, reason: r, observed: [{check: raises}], "
                              "snippet: 'print(\"${x} costs $5\")'}\n", name="torch.yaml")
    assert entries[("torch", "a.b")].snippet == 'print("${x} costs $5")'


ENTRY = "  - {clause: a.b, reason: r, observed: [{check: raises}]"


@pytest.mark.parametrize("text, message", [
    # backends an entry lists: declared by its file, each once
    (HEAD + ENTRY + ", backends: [keras-jaxx]}\n",
     ":7: clause 'a.b': 'backends' names 'keras-jaxx', not a backend of this file (keras-tensorflow, keras-jax, "
     "keras-torch): declare it in the file's 'backends'"),
    (HEAD + ENTRY + ", backends: [keras-jax, keras-jax]}\n", ":7: clause 'a.b': 'backends' lists 'keras-jax' twice"),
    (HEAD + ENTRY + ", backends: []}\n", ":7: clause 'a.b': 'backends' must be a non-empty list of backend names"),
    (HEAD + ENTRY + ", backends: keras-jax}\n",
     "'backends' must be a non-empty list of backend names, not 'keras-jax'"),
    # the file's own list
    ("backends: [torch, torch]\ndivergences: []\n", ": 'backends' lists 'torch' twice"),
    ("backend: torch\nbackends: [torch]\ndivergences: []\n", "'backend' (one) or 'backends' (a list), not both"),
    ("divergences: []\n", ": a divergence file has 'backend' (or a list, 'backends')"),
    # per-backend pins: every backend of the entry, and no other
    (HEAD + "  - {clause: a.b, reason: r, backends: [keras-jax, keras-torch], "
            "observed: {keras-jax: [{check: raises}]}}\n",
     ":7: clause 'a.b': 'observed' per backend names 'keras-jax'; the entry holds on keras-jax, keras-torch"),
    (HEAD + "  - {clause: a.b, reason: r, observed: {keras-jax: [{check: raises}], keras-torch: [], "
            "keras-tensorflow: [{check: raises}]}}\n",
     ":7: clause 'a.b': observed for keras-torch: top level: [] should be non-empty"),
    # snippets: only the file's variables; a lone $ is refused
    (HEAD + ENTRY + ", snippet: 'x = \"${kbb}\"'}\n",
     ":7: clause 'a.b': snippet: ${kbb} is not one of the file's variables (kb)"),
    (HEAD + ENTRY + ", snippet: 'x = \"$ 5\"'}\n", ":7: clause 'a.b': snippet: Invalid placeholder"),
    # variables: for each backend of the file, the same names
    ("backends: [a, b]\nvariables: {a: {x: '1'}}\ndivergences: []\n",
     ": 'variables' maps each backend of the file (a, b)"),
    ("backends: [a, b]\nvariables: {a: {x: '1'}, b: {y: '2'}}\ndivergences: []\n",
     ": 'variables' of 'b' name ['y'], not the ['x']"),
    ("backends: [a]\nvariables: {a: {x: 1}}\ndivergences: []\n", ": 'variables' of 'a' must map names to text"),
])
def test_a_malformed_fact_is_refused_naming_file_and_line(tmp_path, text, message):
    assert message in _refused(tmp_path, text)


def test_a_backend_the_run_does_not_know_is_kept_for_the_run_to_warn_about(tmp_path):
    """Backends can be added at run time (a --backend module, the self-test's mutants), so the registry
    cannot refuse a name it does not know; the run warns about it (tests/test_plugin.py)."""
    entries = _load(tmp_path, "backends: [torch, no-such-backend]\ndivergences:\n" + ENTRY + "}\n")
    assert sorted(entries) == [("no-such-backend", "a.b"), ("torch", "a.b")]


# -- where a new divergence goes ------------------------------------------------------------------
def test_home_names_the_file_that_holds_a_backends_facts(tmp_path):
    assert registry.home("keras-jax") == "specs/divergences/keras3.yaml"
    assert registry.home("torch") == "specs/divergences/torch.yaml"
    (tmp_path / "keras3.yaml").write_text("backends: [keras-jax]\ndivergences: []\n")
    assert registry.home("keras-jax", tmp_path).endswith("keras3.yaml")
    assert registry.home("new-framework", tmp_path).endswith("new-framework.yaml")


# -- the generated table ---------------------------------------------------------------------------
def test_the_divergence_table_has_one_row_per_fact_covering_every_backend():
    table = registry_doc.markdown().splitlines()
    rows = [line.split(" | ") for line in table if line.startswith("| ") and "`" in line]
    entries = registry.load()
    groups = registry.by_fact(entries)
    assert len(rows) == len(groups) < len(entries)
    covered = []
    for cells in rows:
        backends, releases = re.fullmatch(r"\| ([^(]+?)(?: \((.+)\))?", cells[0]).groups()
        clause = re.search(r"`([^`]+)`", cells[1]).group(1)
        covered += [(b, clause, releases) for b in backends.split(", ")]
    assert sorted(covered, key=str) == sorted(((e.backend, e.clause, e.releases) for e in entries.values()), key=str)
    flatten = [cells for cells in rows if "`doc.flatten-of-ones`" in cells[1]]
    assert len(flatten) == 1 and flatten[0][0] == "| keras-tensorflow, keras-jax, keras-torch"


# -- the self-test keeps a framework's divergences for its mutants ----------------------------------
def test_the_selftest_registers_a_base_backends_facts_again_under_the_mutants_name(tmp_path):
    mutant = selftest.Mutant("m", "conformance.tools.mutants:X", "a bug", (), "keras-jax")
    spec_dir = selftest._spec_dir(tmp_path, selftest.SPEC_DIR, [mutant])
    again = registry.load(Path(spec_dir) / "divergences")
    def mine(entries, backend):
        return sorted(((e.clause, e.releases, e.scope, e.reason, e.snippet, e.observed)
                       for e in entries.values() if e.backend == backend), key=str)
    assert mine(again, "conformance.tools.mutants:X") == mine(registry.load(), "keras-jax") != []


def test_a_new_divergence_says_which_file_to_register_it_in():
    from conformance.judging.outcome import Outcome
    from conformance.language.spec import load_all

    clause = next(c for c in load_all() if c.id == "lookup.rows-are-matrix-rows")
    footer = {b: Outcome(clause, b, "diverge", reason="rows differ").explain().splitlines()[-1]
              for b in ("keras-torch", "tf-keras", "conformance.tools.mutants:X")}
    assert "register it in specs/divergences/keras3.yaml with its reason" in footer["keras-torch"]
    assert "register it in specs/divergences/tf-keras.yaml with its reason" in footer["tf-keras"]
    assert "register it in specs/divergences/conformance.tools.mutants:X.yaml" in footer["conformance.tools.mutants:X"]
