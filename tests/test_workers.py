"""Worker isolation against hostile adapters (tests/hostile_workers.py), end to end through
``--backend module:Class``; the channel's and the exception classifier's rules directly."""
import importlib.metadata
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from backends.base import Backend, FrameworkRaised
from conformance.judging.replies import Failed, Observed, Refused
from conformance.running.actions import AdapterError, Case, run_case
from conformance.running.channel import ChannelError, loads_plain
from conformance.running.worker import _check_hello, _check_reply
from tests import hostile_workers
from tests.hostile import interruptible

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "marks-nonzero-indices"   # the clause whose mask() call misbehaves
AFTER = "rnn-repeats-hidden-state"  # a later clause on the same backend: must run normally

# adapter -> what the error's reason (its last line) says
ERRORS = {
    "HangsWithChild": ("hung: no answer within 5 s",),
    "Exits": ("exited with code 0 while running mask.marks-nonzero-indices",),
    "Segfaults": ("was killed by signal SIGSEGV",),
    "GarbageOnChannel": ("wrote an unexpected message on its channel", "not a message"),
    "UnpicklableOnChannel": ("wrote an unexpected message on its channel", "unreadable message"),
    "PartialMessageThenHangs": ("hung: an incomplete message",),
    "WrongShapeMessage": ("not a reply: ('ok', 'an observation must be a dict', None)",),
    "ForeignObjectObservation": ("refused to unpickle tests.hostile_workers.Foreign",),
    "NumpyMemoryError": ("adapter error", "MemoryError"),
    "NumpyReshapeError": ("adapter error", "cannot reshape array"),
    "AnswersTooMuch": ("an answer of 48,000,", "its case can need", "not read"),
    "WritesAHugeLine": ("exited with code 3 while running mask.marks-nonzero-indices",),
    "SetsidGrandchild": ("exited with code 1 while running mask.marks-nonzero-indices",),
}
# adapters whose next item does not conform: what its reason says
AFTER_ERRORS = {
    "SlowRestart": ("hung: no answer within 5 s while restarting (bounded by --case-timeout)",),
}


def _name(adapter):
    return f"tests.hostile_workers:{adapter}"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    out, pid_file = tmp / "results.json", tmp / "child.pid"
    args = [a for adapter in [*ERRORS, *AFTER_ERRORS, "StdoutNoise"] for a in ("--backend", _name(adapter))]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--json", str(out),
         "--case-timeout", "5", "-k", f"{HOSTILE} or {AFTER}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, hostile_workers.PID_FILE: str(pid_file)})
    data = json.loads(out.read_text())
    records = {(r["backend"], r["clause"].split(".", 1)[1]): r for r in data["results"]}
    return proc, records, pid_file


@pytest.mark.parametrize("adapter", sorted(ERRORS))
def test_hostile_item_is_an_error_and_the_next_item_runs_on_a_fresh_worker(hostile_run, adapter):
    proc, records, _ = hostile_run
    hostile, after = records[(_name(adapter), HOSTILE)], records[(_name(adapter), AFTER)]
    assert hostile["status"] == "error", hostile
    assert all(text in hostile["reason"] for text in ERRORS[adapter]), hostile["reason"]
    assert after["status"] == "conform", after


def test_a_restart_after_a_crash_waits_at_most_the_case_timeout(hostile_run):
    # a restart waited a fixed 600 s for its handshake whatever --case-timeout said
    proc, records, _ = hostile_run
    hostile, after = records[(_name("SlowRestart"), HOSTILE)], records[(_name("SlowRestart"), AFTER)]
    assert hostile["status"] == "error" and "exited with code 1" in hostile["reason"]
    assert after["status"] == "error" and all(t in after["reason"] for t in AFTER_ERRORS["SlowRestart"]), after
    assert after["duration"] < 30


def test_a_reason_keeps_a_bounded_tail_of_the_worker_output(hostile_run):
    # the whole log was read: a 200 MB line cost 1.5 GB and went into a 210 MB results file
    _, records, _ = hostile_run
    record = records[(_name("WritesAHugeLine"), HOSTILE)]
    output = record["cause"]["traceback"]
    assert output.startswith("worker output (last lines):\n(earlier output cut) ...xxxx")
    assert "(cut: " in output and len(json.dumps(record)) < 5_000


def test_stdout_noise_changes_nothing(hostile_run):
    _, records, _ = hostile_run
    assert records[(_name("StdoutNoise"), HOSTILE)]["status"] == "conform"
    assert records[(_name("StdoutNoise"), AFTER)]["status"] == "conform"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent's wait() is missing


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _alive(pid)


def _reap(*pids):
    for pid in pids:  # do not leave what a failed test started behind
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_killing_a_hung_worker_kills_the_children_it_started(hostile_run):
    _, _, pid_file = hostile_run
    worker, child = map(int, pid_file.read_text().split())
    try:
        assert _gone(worker) and _gone(child), "the hung worker or its child outlived the run"
    finally:
        _reap(worker, child)


def test_a_grandchild_that_left_the_process_group_is_killed_too(hostile_run):
    _, _, pid_file = hostile_run
    worker, child = map(int, Path(f"{pid_file}.setsid").read_text().split())
    try:
        assert _gone(worker) and _gone(child), "the setsid grandchild outlived the run"
    finally:
        _reap(worker, child)


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_an_interrupted_run_leaves_no_worker_behind(tmp_path, how):
    """Workers lead their own session, out of reach of the terminal: Ctrl-C (SIGINT to pytest)
    kills a busy worker's group at once; if pytest is killed outright, the kernel kills the worker."""
    pid_file = tmp_path / "pids"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--case-timeout", "600",
         "-k", HOSTILE, "--backend", _name("HangsWithChild")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=interruptible,
        env={**os.environ, hostile_workers.PID_FILE: str(pid_file)})
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        worker, child = map(int, pid_file.read_text().split())
        proc.send_signal(getattr(signal, how))
        proc.wait(timeout=8)  # no waiting for a busy worker to read "stop"
        assert _gone(worker), "the worker outlived the test process"
        if how == "SIGINT":
            assert _gone(child), "the worker's child outlived the run"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if pid_file.exists():
            _reap(*map(int, pid_file.read_text().split()))


FRAMEWORK_MODULES = ("torch", "keras", "tensorflow", "jax", "tf_keras")
IN_PROCESS = f"""
import json, sys
import pytest
code = pytest.main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump({{"exit": int(code), "imported": [m for m in {FRAMEWORK_MODULES!r} if m in sys.modules]}}, f)
"""


def test_the_test_process_never_imports_a_framework(tmp_path):
    """The process layout exists so that the test process imports no framework: the handshake
    (versions) and observations must arrive as plain values."""
    found, results = tmp_path / "modules.json", tmp_path / "results.json"
    frameworks = ("torch", "keras-jax")  # tensorflow would add ~7 s; the unpickler refuses it anyway
    args = [a for name in frameworks for a in ("--backend", name)]
    proc = subprocess.run([sys.executable, "-c", IN_PROCESS, str(found), "conformance", "-p", "no:cacheprovider",
                           "--json", str(results), "-k", "rows-are-matrix", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = json.loads(found.read_text())
    data = json.loads(results.read_text())
    assert report["exit"] == 0, proc.stdout[-3000:]
    assert [r["status"] for r in data["results"]] == ["conform"] * len(frameworks)
    assert data["backends"]["torch"]["version"] == importlib.metadata.version("torch")
    assert data["backends"]["keras-jax"]["version"] == importlib.metadata.version("keras")
    assert report["imported"] == []


# -- the channel's rules -------------------------------------------------------------------------
def test_only_plain_values_and_arrays_unpickle():
    obs = {"a": np.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2], "b": np.float32(1.5), "c": [1, "x", None],
           "d": (1 + 2j, {1}, frozenset({2})), "e": np.ones(2, bool), "f": np.dtype("int64")}
    back = loads_plain(pickle.dumps(obs))
    assert back["a"].tolist() == [[0.0, 2.0], [3.0, 5.0]] and back["b"] == np.float32(1.5)
    assert back["c"] == [1, "x", None] and back["d"] == (1 + 2j, {1}, frozenset({2}))
    with pytest.raises(ChannelError, match="refused to unpickle tests.hostile_workers.Foreign"):
        loads_plain(pickle.dumps({"mask": hostile_workers.Foreign()}))
    with pytest.raises(ChannelError, match="refused to unpickle pathlib"):
        loads_plain(pickle.dumps(Path("x")))
    with pytest.raises(ChannelError, match="unreadable message"):
        loads_plain(b"\x80\x05garbage")


class VersionObject(str):
    """A str subclass, like torch's TorchVersion."""


@pytest.mark.parametrize("hello", [
    ("ready", {"version": VersionObject("1.0"), "describe": "x"}),
    ("ready", {"version": "1.0"}),
    ("ready", {"version": "1.0", "describe": None}),
    ("unavailable", ValueError("x")),
    ("ready", {"version": "1.0", "describe": "x"}, "extra"),
    ["ready", {"version": "1.0", "describe": "x"}],
    ("ready", {"version": "1.0", "describe": "x", "release": "x@1.0"}),  # without what its class declares
    ("ready", {"version": "1.0", "describe": "x", "release": "x@1.0", "declared": "x"}),
])
def test_a_handshake_other_than_plain_strings_is_refused(hello):
    with pytest.raises(ChannelError, match="not a handshake"):
        _check_hello(hello)


def test_a_plain_handshake_and_replies_are_accepted():
    assert _check_hello(("ready", {"version": "1.0", "describe": "x 1.0", "release": "x@1.0",
                                   "declared": {"name": "x"}}))[0] == "ready"
    assert _check_hello(("unavailable", "not installed"))[0] == "unavailable"
    assert isinstance(_check_reply(("ok", {"mask": np.ones(2)}, None)), Observed)
    assert _check_reply(("error", "text", "snippet")) == Failed("text", "snippet")
    assert _check_reply(("unsupported", "no such API", None)) == Refused("no such API")
    for reply in [("ok", [], None), ("done", {}, None), ("ok", {}, 3), ("ok", {}), ["ok", {}, None],
                  (b"ok", {}, None), ("error", None, None), ("ok", {}, None, ("c", None))]:
        with pytest.raises(ChannelError, match="not a reply"):
            _check_reply(reply)


# -- whose exception: classified by the adapter frame that made the call -------------------------
class JsonFramework(Backend):
    """An adapter whose "framework under test" is the standard library's json package."""

    name, requires = "json-framework", ("json",)

    def construct(self, kwargs):
        how = kwargs["how"]
        if how == "framework":      # the framework raises in its own code
            return __import__("json").loads("{")
        if how == "via-numpy":      # the framework raises, reached through NumPy
            return np.vectorize(__import__("json").loads)(np.array(["{"]))
        if how == "numpy":          # the adapter's own NumPy call raises
            return np.reshape(np.arange(3), (2, 2))
        if how == "own":            # the adapter's own code raises
            return {}["missing"]
        if how == "explicit":       # the framework answered in the adapter's frame
            try:
                return {}["missing"]
            except KeyError as exc:
                raise FrameworkRaised(exc) from exc
        raise AssertionError(how)


class JsonAdapterOnly(JsonFramework):
    """The same calls, but json is not the framework under test here."""

    name, requires = "json-adapter-only", ()


def _construct(backend, how):
    return run_case(backend, Case("c", "construct", None, {"kwargs": {"how": how}}))


@pytest.mark.parametrize("how,raised", [("framework", "JSONDecodeError"), ("via-numpy", "JSONDecodeError"),
                                        ("explicit", "KeyError")])
def test_an_exception_from_the_framework_under_test_is_its_behaviour(how, raised):
    assert _construct(JsonFramework(), how)["raised"] == raised


@pytest.mark.parametrize("backend,how", [(JsonFramework(), "numpy"), (JsonFramework(), "own"),
                                         (JsonAdapterOnly(), "framework"), (JsonAdapterOnly(), "via-numpy")])
def test_an_exception_the_framework_did_not_raise_is_an_adapter_error(backend, how):
    with pytest.raises(AdapterError):
        _construct(backend, how)


def test_an_adapter_shipped_inside_its_framework_owns_its_exceptions():
    # its module lies under a requires package: every frame counted as the framework's, so an
    # adapter whose construct() always raised its own TypeError conformed on ctor.requires-*
    from tests.fake_framework.shipped_adapter import ShippedAdapter

    with pytest.raises(AdapterError, match="the adapter's own bug"):
        _construct(ShippedAdapter(), "own")
    assert _construct(ShippedAdapter(), "framework")["raised"] == "TypeError"


def test_numpy_is_never_the_framework_under_test():
    class ListsNumpy(JsonAdapterOnly):
        requires = ("numpy",)

    with pytest.raises(AdapterError, match="cannot reshape"):
        _construct(ListsNumpy(), "numpy")


def test_a_workers_environment_defaults_give_way_to_the_callers(monkeypatch):
    """Keras on JAX gets XLA_FLAGS for a faster compile unless the caller set XLA_FLAGS."""
    from dataclasses import replace

    from conformance.running import adapters
    from conformance.running import worker as worker_module
    from conformance.running.session import Session

    seen = []

    class Stop(Exception):
        pass

    def popen(args, env, **kwargs):
        seen.append(env)
        raise Stop("no process started")

    monkeypatch.setattr(worker_module.subprocess, "Popen", popen)
    jax = replace(adapters.builtins()["keras-jax"], requires=())  # probed as installed, whatever is
    for caller in (None, "--xla_dump_to=/tmp/x"):
        if caller is None:
            monkeypatch.delenv("XLA_FLAGS", raising=False)
        else:
            monkeypatch.setenv("XLA_FLAGS", caller)
        availability = Session({"keras-jax": jax}, {}, 10.0).availability("keras-jax")
        assert "Stop" in availability.reason  # the worker's start went no further than Popen
    assert seen[0]["XLA_FLAGS"] == jax.env_defaults["XLA_FLAGS"] and seen[0]["KERAS_BACKEND"] == "jax"
    assert seen[0]["XLA_FLAGS"].startswith("--xla_backend_optimization_level=0")
    assert seen[1]["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"


def test_a_worker_reports_starts_its_adapter_then_freezes_what_the_start_loaded(monkeypatch):
    from backends.reference import Reference
    from conformance.running import worker

    calls = []

    class Starting(Reference):
        def describe(self):
            calls.append("describe")
            return super().describe()

        def start(self):
            calls.append("start")

    monkeypatch.setattr(worker.gc, "freeze", lambda: calls.append("freeze"))
    info = worker.settle(Starting())
    assert calls == ["describe", "start", "freeze"]
    assert info == {"version": Reference().version(), "describe": Reference().describe(),
                    "release": Reference().release()}
