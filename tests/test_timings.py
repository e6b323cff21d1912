"""Where a run's time goes (conformance/running/timings.py), and the per-run store that lets the
xdist workers of one run draw each clause's examples once (conformance/running/shared_draws.py)."""
import json
import pickle
import threading

import pytest

from conformance.judging.replies import Observed
from conformance.running import shared_draws, timings
from conformance.running.session import Session


def test_nothing_is_timed_unless_asked(monkeypatch, tmp_path):
    monkeypatch.delenv(timings.ENV, raising=False)
    monkeypatch.setattr(timings, "_totals", {})
    with timings.phase("pytest", "torch", "wait"):
        pass
    assert timings._totals == {}
    timings.flush()
    assert list(tmp_path.iterdir()) == []


def test_phases_add_up_and_flush_appends_rows(monkeypatch, tmp_path):
    monkeypatch.setenv(timings.ENV, str(tmp_path))
    monkeypatch.setattr(timings, "_totals", {})
    for _ in range(3):
        with timings.phase("worker", "torch", "run", "forward"):
            sum(range(20000))
    with timings.phase("pytest", "torch", "wait"):
        pass
    timings.flush()
    with timings.phase("worker", "torch", "run", "forward"):
        pass
    timings.flush()  # a second flush appends to the process's file
    rows = timings.load(tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1 and len(rows) == 3
    total = timings.summarise(rows)
    forward = total[("worker", "torch", "run", "forward")]
    assert forward["count"] == 4 and forward["wall"] > 0 and forward["cpu"] >= 0
    assert total[("pytest", "torch", "wait", "")]["count"] == 1
    assert json.loads(next(tmp_path.glob("*.json")).read_text())[0]["process"] in ("worker", "pytest")


def test_a_clause_is_made_once_per_folder_and_read_by_the_others(tmp_path):
    folder, calls = str(tmp_path), []

    def make():
        calls.append(1)
        return ["examples"], {"k": 1}, {("c", None): Observed({"out": 1})}

    first = shared_draws.get_or_make(folder, "lookup.rows[x]/y", "ci", 0, make)
    again = shared_draws.get_or_make(folder, "lookup.rows[x]/y", "ci", 0, make)
    assert calls == [1] and again == first
    shared_draws.get_or_make(folder, "lookup.rows[x]/y", "ci", 1, make)  # another seed: its own entry
    shared_draws.get_or_make(folder, "lookup.rows[x]/y", "thorough", 0, make)  # another profile too
    assert calls == [1, 1, 1]
    assert not list(tmp_path.glob("*.tmp"))


def test_concurrent_workers_make_a_clause_once(tmp_path):
    calls, results = [], []

    def make():
        calls.append(1)
        return list(range(1000))

    threads = [threading.Thread(target=lambda: results.append(
        shared_draws.get_or_make(str(tmp_path), "c", "ci", 0, make))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and results == [list(range(1000))] * 4


def test_a_failed_make_writes_nothing_and_the_next_worker_tries_again(tmp_path):
    def broken():
        raise ValueError("draw failed")

    try:
        shared_draws.get_or_make(str(tmp_path), "c", "ci", 0, broken)
    except ValueError:
        pass
    else:
        raise AssertionError("the error was swallowed")
    assert shared_draws.get_or_make(str(tmp_path), "c", "ci", 0, lambda: "ok") == "ok"
    assert pickle.loads(next(tmp_path.glob("*.pickle")).read_bytes()) == "ok"


def test_primed_reference_replies_are_used_and_survive_their_own_clause(monkeypatch):
    session = Session({}, {}, 1.0)
    made = []
    monkeypatch.setattr("conformance.running.session.reference_observation",
                        lambda case: made.append(case) or {"fresh": True})
    case = type("C", (), {"clause": "b", "example": "e1", "action": "forward"})()
    session.reference(type("C", (), {"clause": "a", "example": "e0", "action": "forward"})())
    session.prime_reference("b", {("b", "e1"): Observed({"primed": True}), ("b", None): Observed({"doc": 1})})
    assert session.reference(case).observation == {"primed": True}  # not recomputed, not forgotten
    assert len(made) == 1
    assert ("a", "e0") not in session._reference  # the previous clause's drawn replies are done with


def _profiled_functions(path) -> set:
    import pstats

    return {name for (_, _, name) in pstats.Stats(str(path)).stats}


def test_nothing_is_profiled_unless_asked(monkeypatch, tmp_path):
    monkeypatch.delenv(timings.PROFILE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert timings.profiled("torch", sorted, [3, 1, 2]) == [1, 2, 3]
    assert list(tmp_path.iterdir()) == []


def test_a_profile_is_written_per_process_even_when_the_function_raises(monkeypatch, tmp_path):
    monkeypatch.setenv(timings.PROFILE_ENV, str(tmp_path / "prof"))

    def busy(n):
        return sum(range(n))

    def fails():
        busy(10)
        raise KeyError("x")

    assert timings.profiled("tests.x:Adapter", busy, 1000) == sum(range(1000))
    (first,) = (tmp_path / "prof").glob("*.prof")
    assert first.name.startswith("tests.x_Adapter-") and "busy" in _profiled_functions(first)
    with pytest.raises(KeyError):
        timings.profiled("other", fails)
    (second,) = (tmp_path / "prof").glob("other-*.prof")
    assert {"fails", "busy"} <= _profiled_functions(second)


def test_a_worker_profiles_its_cases_when_asked(monkeypatch, tmp_path):
    """CONFORMANCE_PROFILE reaches a real worker process: its cases' calls are in the file it
    writes when it stops, the framework's import is not."""
    from conformance.language.spec import load_all
    from conformance.running.session import make_case
    from conformance.running.worker import Worker

    monkeypatch.setenv(timings.PROFILE_ENV, str(tmp_path))
    clause = next(c for c in load_all() if c.id == "lookup.rows-are-matrix-rows")
    worker = Worker("emulated", {}, 120.0, 120.0, locator="tests.fake_backends:EmulatedLookup")
    try:
        assert isinstance(worker.run(make_case(clause)), Observed)
    finally:
        worker.close()
    (path,) = tmp_path.glob("tests.fake_backends_EmulatedLookup-*.prof")
    functions = _profiled_functions(path)
    assert {"run_case", "forward"} <= functions and "load_class" not in functions
