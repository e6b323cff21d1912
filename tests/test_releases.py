"""Results across framework releases: registry entries for some releases only, the record of which
API a release was called with, and the release named in the results."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends.base import Layer, Model
from backends.reference import seeded_weights
from conformance.judging.replies import Observed
from conformance.language import registry
from conformance.language.spec import SpecError
from conformance.running.actions import Case
from tests.framework_workers import start_worker

ROOT = Path(__file__).resolve().parent.parent
MUTANT = "conformance.tools.mutants:OffByOneLookup"  # diverges on lookup.rows-are-matrix-rows; version = numpy's


def _registry(directory, entries: str, backend=MUTANT):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "x.yaml").write_text(f"backend: {backend}\ndivergences:\n{entries}")
    return directory


def _entry(clause, reason, releases=None):
    # the off-by-one lookup gives outputs that are not the reference's
    line = (f"  - clause: {clause}\n    reason: {reason}\n"
            "    observed: [{check: differ, of: 'outputs[0]', to: reference}]\n")
    return line + (f"    releases: \"{releases}\"\n" if releases else "")


# -- the registry -----------------------------------------------------------------------------------
def test_an_entry_holds_only_for_its_releases(tmp_path):
    entries = registry.load(_registry(tmp_path, _entry("c", "old releases refuse it", "<3.2")))
    (entry,) = entries.values()
    assert entry.releases == "<3.2"
    assert entry.applies_to("3.0.5") and entry.applies_to("3.1.1")
    assert not entry.applies_to("3.2.0") and not entry.applies_to("3.15.1")
    assert not entry.applies_to(None)  # an unknown release is not one of them


def test_an_entry_without_releases_holds_for_every_release(tmp_path):
    (entry,) = registry.load(_registry(tmp_path, _entry("c", "always"))).values()
    assert entry.applies_to("3.0.5") and entry.applies_to(None) and entry.applies_to("not a version")


def test_nightlies_and_local_versions_are_matched(tmp_path):
    (entry,) = registry.load(_registry(tmp_path, _entry("c", "new", ">=3.2"))).values()
    assert entry.applies_to("3.16.0.dev2026102704")  # keras-nightly
    assert entry.applies_to("3.2.0+cpu")             # a local version label (as torch's +cpu)
    assert not entry.applies_to("3.1.1+cpu")


def test_one_clause_may_have_an_entry_per_range_of_releases(tmp_path):
    entries = registry.load(_registry(tmp_path, _entry("c", "refused", "<3.2") + _entry("c", "ignored", ">=3.2")))
    assert registry.find(entries, MUTANT, "c", "3.0.5").reason == "refused"
    assert registry.find(entries, MUTANT, "c", "3.15.1").reason == "ignored"
    assert registry.find(entries, MUTANT, "other", "3.15.1") is None
    assert registry.find(entries, "another-backend", "c", "3.0.5") is None


def test_the_same_clause_twice_for_the_same_releases_is_an_error(tmp_path):
    with pytest.raises(SpecError, match="registered twice"):
        registry.load(_registry(tmp_path, _entry("c", "a", "<3.2") + _entry("c", "b", "<3.2")))
    with pytest.raises(SpecError, match="registered twice"):
        registry.load(_registry(tmp_path, _entry("c", "a") + _entry("c", "b")))


def test_a_bad_specifier_names_file_and_clause(tmp_path):
    with pytest.raises(SpecError) as info:
        registry.load(_registry(tmp_path, _entry("lookup.x", "r", "before 3.2")))
    text = str(info.value)
    assert "x.yaml" in text and "lookup.x" in text and "releases" in text


def test_the_shipped_release_ranges_are_valid_and_split_where_behaviour_changed():
    entries = registry.load()
    ranged = [e for e in entries.values() if e.releases]
    assert ranged, "the Keras 3.0/3.1 entries hold for old releases only"
    # keras-tensorflow's input_length entry: one reason for 3.0/3.1 (refused), one from 3.2 on (ignored)
    old = registry.find(entries, "keras-tensorflow", "doc.input-length-flatten-dense", "3.0.5")
    new = registry.find(entries, "keras-tensorflow", "doc.input-length-flatten-dense", "3.15.1")
    assert old is not new and "Unrecognized keyword" in old.reason and "deprecated" in new.reason
    assert registry.find(entries, "keras-tensorflow", "doc.weights-argument-frozen", "3.15.1") is None
    assert registry.find(entries, "keras-tensorflow", "doc.weights-argument-frozen", "3.2.1") is not None


# -- the plugin applies only the entries of the release that ran -----------------------------------------
def _run(tmp_path, releases):
    spec_dir = tmp_path / "specs"
    for path in (ROOT / "specs").glob("*.yaml"):
        (spec_dir / path.name).parent.mkdir(parents=True, exist_ok=True)
        (spec_dir / path.name).write_text(path.read_text())
    _registry(spec_dir / "divergences", _entry("lookup.rows-are-matrix-rows", "registered for the test", releases))
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--backend",
                           MUTANT, "--spec-dir", str(spec_dir), "-k", "rows-are-matrix", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    (result,) = json.loads(out.read_text())["results"]
    return proc, result


def test_an_entry_for_the_release_that_ran_is_an_expected_failure(tmp_path):
    proc, result = _run(tmp_path, f"=={np.__version__}")  # the mutant reports numpy's version
    assert proc.returncode == 0 and "1 xfailed" in proc.stdout
    assert result["known"] is True and result["reason"] == "registered for the test"


def test_an_entry_for_other_releases_leaves_a_new_divergence(tmp_path):
    proc, result = _run(tmp_path, "<1.0")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert result["status"] == "diverge" and result["known"] is False


# -- the backend's release in the results -----------------------------------------------------------
def test_the_results_name_the_release(tmp_path):
    out = tmp_path / "r.json"
    subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--backend",
                    "reference", "-k", "rows-are-matrix", "--json", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    info = json.loads(out.read_text())["backends"]["reference"]
    assert info["release"] == f"reference@{np.__version__}" and info["version"] == np.__version__


# -- the Keras adapter uses each release's own way, and says which ---------------------------------------
PRETRAINED = Model((Layer("embedding", {"input_dim": 5, "output_dim": 2, "pretrained": True}),))


def _worker(name):
    return start_worker(name)


@pytest.mark.parametrize("name, via", [
    ("keras-tensorflow", "weights=[matrix]"),                    # Keras >= 3.3: the document's way
    ("tests.fake_backends:KerasWithoutWeightsArgument", "Constant(matrix)"),  # as Keras 3.0 to 3.2
])
def test_a_pretrained_matrix_is_given_the_releases_way_and_the_record_says_which(name, via):
    worker, hello = _worker(name)
    try:
        matrix = seeded_weights(PRETRAINED)[0][0]
        reply = worker.run(Case("pretrained-api", "pretrained", PRETRAINED, {}, None, matrix))
    finally:
        worker.close()
    assert isinstance(reply, Observed), reply
    obs = reply.observation
    assert "raised" not in obs, obs
    assert obs["weights"].tobytes() == matrix.tobytes()
    (note,) = obs["api"]
    assert via in note
    assert via.replace("(matrix)", "") in reply.snippet  # the reproduction uses the same spelling
    if "Constant" in via:
        assert "has no Embedding(weights=)" in note and hello["version"] in note
    assert hello["release"].startswith(f"keras-tensorflow@{hello['version']}+tensorflow-")
