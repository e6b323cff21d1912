"""Drawn examples kept across runs (conformance/running/draw_cache.py): read back only by a run of
the same spec files, code and releases, with the profile's own seed; the records are the same."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

from conformance.language import drawing
from conformance.language.spec import SPEC_DIR, load_all
from conformance.running import draw_cache, properties
from conformance.running.properties import RunConfig

ROOT = Path(__file__).resolve().parent.parent
# the reference, and a fault that shows only on drawn examples (index >= 5), so the records hold
# the first failing drawn example and its shrunk form: examples read back wrong would show there
RUN = ["--backend", "reference", "--backend", "tests.off_example_faults:IndexFiveAndAbove",
       "-k", "lookup", "-p", "no:cacheprovider"]


def _run(tmp_path, name, cache):
    out = tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", *RUN, "--compile-cache", cache,
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout


def _same(a, b):
    proc = subprocess.run([sys.executable, "-m", "conformance", "same", str(a), str(b)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_run_reads_back_what_the_last_one_drew_and_records_the_same(tmp_path):
    cache = tmp_path / "cache"
    cold, cold_out = _run(tmp_path, "cold", str(cache))
    warm, warm_out = _run(tmp_path, "warm", str(cache))
    off, off_out = _run(tmp_path, "off", "off")
    (kept,) = (cache / "draws").iterdir()
    assert f"drawn examples: kept in {kept} (0 files" in cold_out
    assert f"drawn examples: kept in {kept} (" in warm_out and f"{kept} (0 files" not in warm_out
    assert "drawn examples: kept" not in off_out
    assert "IndexFiveAndAbove" in cold.read_text() and '"diverge"' in cold.read_text()  # a drawn failure to compare
    _same(cold, warm)
    _same(off, warm)
    # what was kept is what the code draws now, example for example
    run = RunConfig.make("ci", None)
    for clause in [c for c in load_all() if c.id.startswith("lookup.") and drawing.is_drawable(c)][:3]:
        (entry,) = kept.glob(f"{clause.id}.ci.0.models.pickle")
        kept_keys = [e.key() for e in pickle.loads(entry.read_bytes())]
        assert kept_keys == [e.key() for e in properties.draw_examples(clause, run)], clause.id


def _copy_specs(tmp_path) -> Path:
    target = tmp_path / "specs"
    target.mkdir()
    for path in SPEC_DIR.glob("*.yaml"):
        (target / path.name).write_bytes(path.read_bytes())
    return target


def test_another_spec_file_code_or_release_is_another_folder(tmp_path, monkeypatch):
    specs = _copy_specs(tmp_path)
    first = draw_cache.key(specs)
    assert draw_cache.key(specs) == first and draw_cache.key(SPEC_DIR) == first
    one = sorted(specs.glob("*.yaml"))[-1]
    one.write_text(one.read_text() + "\n# a comment is another file\n")
    assert draw_cache.key(specs) != first
    one.write_bytes((SPEC_DIR / one.name).read_bytes())
    monkeypatch.setattr(draw_cache, "_CODE", ["another digest of the engine's code"])
    assert draw_cache.key(specs) != first
    monkeypatch.undo()
    import hypothesis
    monkeypatch.setattr(hypothesis, "__version__", "0.0.1")
    assert draw_cache.key(specs) != first


def test_the_code_digest_covers_the_drawing_code_and_the_reference():
    draw_cache._CODE.clear()
    draw_cache._code_digest()
    covered = {str(p.relative_to(ROOT)) for package in draw_cache.PACKAGES for p in (ROOT / package).rglob("*.py")}
    assert {"conformance/language/drawing.py", "conformance/running/properties.py",
            "backends/reference.py", "conformance/running/session.py"} <= covered


def test_only_the_profiles_own_seed_is_kept_and_only_with_the_cache_on(tmp_path):
    assert draw_cache.folder(tmp_path, SPEC_DIR, RunConfig.make("ci", None)) == (
        tmp_path / "draws" / draw_cache.key(SPEC_DIR))
    assert draw_cache.folder(None, SPEC_DIR, RunConfig.make("ci", None)) is None
    assert draw_cache.folder(tmp_path, SPEC_DIR, RunConfig.make("ci", 7)) is None      # --hypothesis-seed 7
    assert draw_cache.folder(tmp_path, SPEC_DIR, RunConfig.make("thorough", None)) is None  # a random seed


def test_an_entry_cut_short_is_drawn_again_and_kept_again(tmp_path):
    run = RunConfig.make("ci", None)
    first = draw_cache.get_or_make(tmp_path, "a.clause", run, "models", lambda: [1, 2, 3])
    (entry,) = tmp_path.glob("a.clause.*.pickle")
    entry.write_bytes(entry.read_bytes()[:5])
    assert first == [1, 2, 3]
    assert draw_cache.get_or_make(tmp_path, "a.clause", run, "models", lambda: [4]) == [4]
    assert draw_cache.get_or_make(tmp_path, "a.clause", run, "models", lambda: [5]) == [4]


def test_the_most_recently_used_folders_are_kept_and_clear_removes_them_all(tmp_path):
    run = RunConfig.make("ci", None)
    old = []
    for n in range(draw_cache.KEPT_KEYS + 2):
        folder = tmp_path / "draws" / f"old{n}"
        folder.mkdir(parents=True)
        os.utime(folder, (1_000_000 + n, 1_000_000 + n))
        old.append(folder)
    current = draw_cache.folder(tmp_path, SPEC_DIR, run)
    left = sorted(p.name for p in (tmp_path / "draws").iterdir())
    assert len(left) == draw_cache.KEPT_KEYS and current.name in left
    newest = {f"old{n}" for n in range(3, draw_cache.KEPT_KEYS + 2)}  # the most recently used others
    assert set(left) == newest | {current.name}
    assert draw_cache.clear(tmp_path) == tmp_path / "draws" and not (tmp_path / "draws").exists()
    assert draw_cache.clear(tmp_path) is None


def test_a_folder_that_cannot_be_written_costs_a_draw_not_a_result(tmp_path):
    run = RunConfig.make("ci", None)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    assert draw_cache.get_or_make(blocked, "a.clause", run, "models", lambda: [1, 2]) == [1, 2]
    assert blocked.read_text() == "a file where the folder should be"
