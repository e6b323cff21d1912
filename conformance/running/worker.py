"""One process per framework backend.

Keras fixes its backend at import (``KERAS_BACKEND``) and tf-keras and Keras 3 both load
TensorFlow, so every non-reference backend runs in a process of its own, with the environment
its adapter asks for. The test process sends it resolved cases over a socket and gets
observations back (conformance/running/channel.py: plain values and NumPy arrays only, so no framework
object is ever unpickled, and no framework imported, in the test process). If the worker
crashes, hangs, or writes anything but a well-formed reply, only the case in flight is reported
as an error and the worker's whole process group is killed; the next case starts a fresh
worker, and the other backends are untouched.
"""
from __future__ import annotations

import gc
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

from conformance.judging import replies
from conformance.judging.replies import Failed, Observed, Refused, Reply
from conformance.language import limits
from conformance.running import timings
from conformance.running.actions import AdapterError, run_case
from conformance.running.channel import MAX_MESSAGE, Channel, ChannelError, loads_plain

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A source tree: the worker runs from its root, which goes first on its PYTHONPATH (so the
# engine, the adapters and tests' adapters import from it). An installed suite imports from
# site-packages like any package; putting site-packages ahead of the standard library, or
# running from there, would be wrong, so its workers start in the caller's folder.
SOURCE_TREE = os.path.isfile(os.path.join(ROOT, "pyproject.toml"))


SINGLE_THREADED = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

# What the test process keeps of a worker's output for an error's reason: its last lines, read from
# the last TAIL_BYTES of the log only, each cut to TAIL_LINE characters (a worker may write hundreds
# of megabytes, or one line without a newline; reading it all cost 1.5 GB and a 210 MB record).
TAIL_BYTES = 64 * 1024
TAIL_LINE = 500
# An answer may hold BYTES_PER_ELEMENT bytes per array element its case asks for (limits.needs:
# weights, inputs, layer outputs; eight float64 copies) plus ANSWER_SLACK for text and framing: the
# test process never reads a larger message (it holds a batch's answers at once), see answer_limit().
BYTES_PER_ELEMENT = 64
ANSWER_SLACK = 1 << 20


# Every process a worker starts inherits this variable, with a value of its own: a descendant that
# left the worker's process group (setsid) is still found by it, even after the worker died and it
# was reparented, and killed with the worker (Linux, /proc). A process that clears its own
# environment escapes it; docs/RELIABILITY.md says so.
TAG = "CONFORMANCE_WORKER_TAG"

# Every worker gets a scratch folder its parent creates before starting it and removes once it is
# gone (stopped, crashed or killed on a timeout): named by SCRATCH and made the worker's TMPDIR, so
# whatever the adapter or the framework writes there (an exported model, an exporter's own
# temporaries) never outlives the worker, even one killed before its own clean-up could run.
SCRATCH = "CONFORMANCE_SCRATCH"


def tagged(tag: str) -> list[int]:
    """The pids of the live processes whose environment holds ``TAG=tag`` (none off Linux)."""
    needle, found = f"{TAG}={tag}".encode() + b"\0", []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read() + b"\0":
                    found.append(pid)
        except OSError:  # gone, or another user's process
            pass
    return found


class WorkerDied(RuntimeError):
    """The worker exited, hung, or wrote something unexpected; it has been killed."""


def _check_hello(hello):
    """("ready", {"version": str, "describe": str, "release": str, "declared": dict}) or
    ("unavailable", str), nothing else. ``declared`` is what the worker's adapter class declares
    (backends.describe), compared with what the run resolved (Worker.declared)."""
    if isinstance(hello, tuple) and len(hello) == 2:
        kind, info = hello
        if kind == "unavailable" and type(info) is str:
            return hello
        if (kind == "ready" and type(info) is dict and set(info) == {"version", "describe", "release", "declared"}
                and all(type(info[k]) is str for k in ("version", "describe", "release"))
                and type(info["declared"]) is dict):
            return hello
    raise ChannelError(f"not a handshake: {_short(hello)}")


def _check_descriptions(values):
    """The checker of a resolving worker's answer: ("described", [("ok", dict) or ("error", str), one
    per value asked, in order]); the dicts are checked field by field by conformance/running/adapters.py."""
    def check(message):
        if isinstance(message, tuple) and len(message) == 2 and message[0] == "described":
            answers = message[1]
            if type(answers) is list and len(answers) == len(values) and all(
                    type(a) is tuple and len(a) == 2 and ((a[0] == "ok" and type(a[1]) is dict)
                                                          or (a[0] == "error" and type(a[1]) is str))
                    for a in answers):
                return answers
        raise ChannelError(f"not a description of {len(values)} adapter(s): {_short(message)}")
    return check


def _check_reply(message) -> Reply:
    """The typed reply a plain message encodes (replies.from_wire: ("ok", dict, snippet) or
    ("unsupported" | "error", str, snippet), snippet str or None); anything else is refused."""
    try:
        return replies.from_wire(message)
    except replies.MalformedReply as exc:
        raise ChannelError(str(exc)) from None


def _check_answer(case):
    """The checker of a batch's answer to ``case``: a reply that also names its case
    (clause, example), so an answer can never be taken for another case's."""
    def check(message) -> Reply:
        try:
            return replies.from_wire(message, due=case_key(case))
        except replies.MalformedReply as exc:
            raise ChannelError(str(exc)) from None
    return check


def answer_limit(case) -> int:
    """The most bytes a reply to ``case`` may take on the channel: its array budget (the elements
    its weights, inputs and layer outputs need) at BYTES_PER_ELEMENT, plus ANSWER_SLACK."""
    try:
        params = case.args if case.action == "document" else {}
        elements = sum(size for _, size in limits.needs(case.action, case.model, case.args, params))
    except Exception:  # noqa: BLE001 - a case the budget cannot size: the clause-wide budget
        elements = limits.MAX_ELEMENTS
    return min(ANSWER_SLACK + BYTES_PER_ELEMENT * min(elements, limits.MAX_ELEMENTS), MAX_MESSAGE)


def batch_message(cases: list) -> bytes:
    """The message that asks a worker for one answer per case (``run_many``), pickled."""
    return Channel.pickle(("run_many", list(cases)))


def case_key(case) -> tuple:
    """What a batch answer names its case by: (clause id, drawn example key or None)."""
    return (case.clause, case.example)


def _short(obj, limit=200) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."


def _ended(code) -> str:
    if isinstance(code, int) and code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Worker:
    """Parent-side handle of a backend's worker process.

    The worker leads its own process group (its own session), so killing it kills whatever
    the adapter or framework started too; nothing is left orphaned.
    """

    def __init__(self, backend_name: str, env: dict, start_timeout: float, case_timeout: float,
                 env_defaults: dict | None = None, locator: str | None = None, declared: dict | None = None):
        self.backend_name, self.env, self.env_defaults = backend_name, env, env_defaults or {}
        # what the worker imports the adapter by (adapters.Adapter.locator): a built-in's name, or
        # module:Class for a third party's, whose name the worker need not know
        self.locator = locator or backend_name
        self.command = [self.locator]  # the worker's arguments before its channel's descriptor (the last)
        # what the run resolved the adapter to declare (backends.describe, conformance/running/
        # adapters.py): a worker whose class declares anything else is refused at its handshake
        self.declared = declared
        self.start_timeout, self.case_timeout = start_timeout, case_timeout
        self.started = False   # a worker has been started before: a restart is bounded by the case timeout
        self.proc = None
        self.tag = secrets.token_hex(8)
        self.channel = None
        self.log = None
        self.hello = None
        self.busy = False  # a case is in flight: the worker would not read "stop" before it ends
        self.stopping = False  # "stop" was sent
        self._batch = None     # the cases of a batch submitted and not collected yet
        self._sent = None      # why that batch never reached the worker (its error reply)
        self.scratch = None    # the live process's scratch folder (SCRATCH), removed with it

    def launch(self) -> None:
        """Start the process and return at once; start() reads its handshake. The test process
        launches every backend's worker at the start of a serial run, so the frameworks import at
        the same time (one after the other, their imports were the run's floor)."""
        if self.proc is None:
            self._spawn()

    def _start(self):
        self._spawn()
        return self._handshake()

    def _spawn(self) -> None:
        parent, child = socket.socketpair()
        if self.log is not None:
            self.log.close()
        self.log = tempfile.TemporaryFile(mode="w+b")
        env = {**os.environ, **self.env, "PYTHONPATH": os.pathsep.join(
            p for p in (ROOT if SOURCE_TREE else None, os.environ.get("PYTHONPATH")) if p)}
        env[TAG] = self.tag
        self._remove_scratch()
        self.scratch = tempfile.mkdtemp(prefix="conformance-worker-")
        env[SCRATCH] = env["TMPDIR"] = self.scratch
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # OpenMP/BLAS pools of one thread: the clauses run tiny ops, where a pool only adds
        # synchronisation, and on a shared 2-core machine a pool waiting for its threads turned
        # 1 ms steps into 0.5 s (torch: 18x faster single-threaded; TensorFlow's own pools were
        # slower at one thread, so they keep their default). Set them to override.
        for name in SINGLE_THREADED:
            env.setdefault(name, "1")
        for name, value in self.env_defaults.items():
            env.setdefault(name, value)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.running.worker", *self.command, str(child.fileno())],
            pass_fds=[child.fileno()], env=env, cwd=ROOT if SOURCE_TREE else None, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )
        child.close()
        self.channel = Channel(parent)
        self.hello = None

    def _handshake(self):
        # The first start may import a framework on a busy machine (--start-timeout); a restart
        # after a crash runs for the item in flight, which --case-timeout bounds too: a crash then
        # a slow start used to cost a fixed 600 s per item.
        timeout = min(self.start_timeout, self.case_timeout) if self.started else self.start_timeout
        self.started = True
        with timings.phase("pytest", self.backend_name, "start"):
            self.hello = self._receive(timeout, "starting" if timeout == self.start_timeout
                                       else "restarting (bounded by --case-timeout)", _check_hello)
        if self.hello[0] == "ready" and self.declared is not None and self.hello[1]["declared"] != self.declared:
            changed = sorted(k for k in {**self.declared, **self.hello[1]["declared"]}
                             if self.declared.get(k) != self.hello[1]["declared"].get(k))
            self._fail(f"loaded an adapter that declares other values than the one this run resolved "
                       f"({', '.join(changed)}: {_short(self.hello[1]['declared'].get(changed[0]), 80)} where "
                       f"{_short(self.declared.get(changed[0]), 80)} was resolved); killed")
        return self.hello

    def start(self):
        """Start if needed; returns the handshake: ("ready", info) or ("unavailable", reason)."""
        if self.proc is not None and self.hello is None:  # launched: its handshake (or how it died)
            return self._handshake()
        if self.proc is None or self.proc.poll() is not None:
            self.kill()
            self._start()
        return self.hello

    def _receive(self, timeout, doing, check, limit=MAX_MESSAGE):
        """The worker's next message (at most ``limit`` bytes), unpickled (plain values and arrays
        only) and checked."""
        deadline = time.monotonic() + timeout
        while not self.channel.readable(0.2):
            if self.proc.poll() is not None:
                self._fail(f"{_ended(self.proc.returncode)} while {doing}")
            if time.monotonic() > deadline:
                self._fail(f"hung: no answer within {timeout:.0f} s while {doing}; killed")
        try:
            return check(loads_plain(self.channel.recv_bytes(deadline, limit)))
        except TimeoutError:
            self._fail(f"hung: an incomplete message, then nothing within {timeout:.0f} s while {doing}; killed")
        except (EOFError, OSError):
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = "unknown (still running; killed)"
            self._fail(f"{_ended(code)} while {doing}")
        except ChannelError as exc:
            self._fail(f"wrote an unexpected message on its channel while {doing} ({exc}); killed, "
                       "the next case starts a fresh worker")

    def _fail(self, what):
        self.kill()
        raise WorkerDied(self._explain(f"{self.backend_name} worker {what}"))

    def _explain(self, cause: str) -> str:
        """The worker's last output, then the cause: the last line is what a report shows."""
        tail = self.tail()
        return f"{tail}\n{cause}" if tail else cause

    def run(self, case) -> Reply:
        """The worker's reply to ``case``: Observed, Refused or Failed (conformance/judging/replies.py)."""
        if self.pending:  # a batch nobody collected (an interrupted item): its answers are void
            self.collect()
        try:
            hello = self.start()
            if hello[0] != "ready":
                return Failed(f"backend unavailable: {hello[1]}")
            self.busy = True
            self.channel.send(("run", case))
            with timings.phase("pytest", self.backend_name, "wait"):
                reply = self._receive(self.case_timeout, f"running {case.clause}", _check_reply, answer_limit(case))
            self.busy = False
            return reply
        except WorkerDied as exc:
            return Failed(str(exc))
        except OSError as exc:  # e.g. BrokenPipeError on send
            self.kill()
            return Failed(self._explain(f"{self.backend_name} worker unreachable: {exc}"))

    def run_many(self, cases: list) -> list:
        """Every case in one message; the worker answers each in turn, so a crash or a hang is
        pinned to the example in flight. One reply per case, naming its case (``key``):
        Observed (with a snippet for the document's example only), Refused or Failed; cases
        after a dead worker's last answer are Failed("not run: ...")."""
        self.submit(cases)
        return self.collect()

    def submit(self, cases: list, message: bytes | None = None) -> None:
        """Send a batch and return at once: the worker computes while the test process does
        something else (properties.py hands the next backends their batch in advance).
        collect() reads the answers; nothing else may be sent before it. ``message``: the batch
        already pickled (:func:`batch_message` of the same cases), made once for every backend."""
        batch, failed = list(cases), None
        try:
            hello = self.start()  # (re)starting kills a dead worker: before the batch is pending
            if hello[0] != "ready":
                failed = Failed(f"backend unavailable: {hello[1]}")
            else:
                self.busy = True
                self.channel.send_pickled(message if message is not None else batch_message(batch))
        except WorkerDied as exc:
            failed = Failed(str(exc))
        except OSError as exc:  # e.g. BrokenPipeError on send
            self.kill()
            failed = Failed(self._explain(f"{self.backend_name} worker unreachable: {exc}"))
        self._batch, self._sent = batch, failed

    @property
    def pending(self) -> bool:
        return self._batch is not None

    def collect(self) -> list[Reply]:
        """The answers to the batch submit() sent, one per case (see run_many)."""
        cases, failed = self._batch, self._sent
        self._batch = self._sent = None
        if failed is not None:
            return [replace(failed, key=case_key(case)) for case in cases]
        answers: list = []
        try:
            with timings.phase("pytest", self.backend_name, "wait"):
                self._collect(cases, answers)
            self.busy = False
        except WorkerDied as exc:
            answers.append(Failed(str(exc), key=case_key(cases[len(answers)])))
        return answers + [Failed("not run: the worker died on an earlier example of the batch", key=case_key(case))
                          for case in cases[len(answers):]]

    def _collect(self, cases, answers) -> None:
        """Read the batch's answers into ``answers``, one by one (a WorkerDied leaves those read)."""
        for n, case in enumerate(cases):
            what = "the document's example" if case.example is None else f"drawn example {n} of {len(cases) - 1}"
            answers.append(self._receive(self.case_timeout, f"running {case.clause} ({what})",
                                         _check_answer(case), answer_limit(case)))

    def tail(self, lines=25) -> str:
        """The last lines of the worker's output, read from its last TAIL_BYTES only, each line
        cut to TAIL_LINE characters."""
        if self.log is None:
            return ""
        size = self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, size - TAIL_BYTES))
        text = self.log.read(TAIL_BYTES).decode("utf-8", "replace").splitlines()
        cut_first = size > TAIL_BYTES and len(text) <= lines  # the read began inside that line
        text = [line if len(line) <= TAIL_LINE else f"{line[:TAIL_LINE]}... (cut: {len(line):,} characters or more)"
                for line in text[-lines:]]
        if cut_first:
            text[0] = "(earlier output cut) ..." + text[0]
        return "worker output (last lines):\n" + "\n".join(text) if text else ""

    def kill(self):
        """Kill the worker's whole process group (children it started included), every process
        that carries its tag (those that left the group), reap it and remove its scratch folder."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass  # the group is gone already
            self.proc.wait()
            self._kill_tagged()
        self._remove_scratch()
        if self._batch is not None and self._sent is None:
            self._sent = Failed(f"{self.backend_name} worker was killed before it answered")
        self.proc = None
        self.busy = self.stopping = False
        if self.channel is not None:
            self.channel.close()
            self.channel = None

    def _remove_scratch(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def _kill_tagged(self) -> None:
        for _ in range(5):  # a few rounds: one may have forked while the last was killed
            pids = tagged(self.tag)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)

    def request_stop(self) -> None:
        """Ask an idle worker to stop, without waiting for it (close() waits)."""
        if self.proc is not None and self.proc.poll() is None and not self.busy and not self.stopping:
            try:
                self.channel.send(("stop", None))
                self.stopping = True
            except OSError:
                pass

    def close(self):
        """Ask an idle worker to stop; kill one still busy (the run was interrupted)."""
        self.request_stop()
        if self.stopping:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        if self.log is not None:
            self.log.close()
            self.log = None


def resolve(values: list[str], timeout: float) -> list:
    """Load the adapter classes ``module:Class`` values name in a worker process of their own and
    return what each declares, as plain values: one ("ok", backends.describe(cls)) or ("error",
    one line) per value, in order. The test process never imports an adapter's code (its import
    could replace the judge); a worker that dies or hangs is a WorkerDied naming the values."""
    worker = Worker("adapter resolution", {}, timeout, timeout, locator=values[0])
    worker.command = ["--describe", *values]
    try:
        worker._spawn()
        return worker._receive(timeout, f"loading {', '.join(values)}", _check_descriptions(values), ANSWER_SLACK)
    finally:
        worker.close()


def _describe(fd: int, values: list[str]) -> None:
    """The resolving worker (:func:`resolve`): load each class, send what it declares, exit."""
    import backends

    channel = Channel(socket.socket(fileno=fd))
    answers = []
    for value in values:
        try:
            answers.append(("ok", backends.describe(backends.load_class(value))))
        except backends.UnknownBackend as exc:
            answers.append(("error", " ".join(str(exc).split())))
        except Exception as exc:  # noqa: BLE001 - e.g. a declaration whose attributes raise
            answers.append(("error", f"cannot load adapter {value!r}: {backends._one_line(exc)}"))
    channel.send(("described", answers))


def _serve(locator: str, fd: int) -> None:
    import backends

    channel = Channel(socket.socket(fileno=fd))
    try:
        with timings.phase("worker", locator, "start"):
            cls = backends.load_class(locator)
            declared = backends.describe(cls)  # before any instance could change the class
            backend = cls()
            info = {**settle(backend), "declared": declared}
    except Exception as exc:  # noqa: BLE001 - reported to the parent, never a crash
        channel.send(("unavailable", f"{type(exc).__name__}: {exc}"))
        return
    channel.send(("ready", info))
    try:
        timings.profiled(locator, _loop, channel, backend, locator)
    finally:
        timings.flush()


def settle(backend) -> dict:
    """A worker's start, once its adapter is made and before its first case (tests/snippet_runs.py
    starts a backend the same way): what it reports (version, description, release; ``str()``: a
    framework's version object, torch's TorchVersion, would import the framework into the test
    process when unpickled there), then the adapter's own ``start()``, then the freeze.

    What the start loaded (the framework's modules, the adapter) lives as long as the worker:
    frozen, it is out of the collector's sight, and a full collection scans only what the cases
    made. tf.lite's converter collects once per conversion: 0.1 s each with TensorFlow and Keras
    loaded (340,000 objects), nothing after the freeze."""
    info = {"version": str(backend.version()), "describe": str(backend.describe()),
            "release": str(backend.release())}
    backend.start()
    gc.freeze()
    return info


def _loop(channel, backend, locator: str) -> None:
    while True:
        try:
            command, case = channel.recv()
        except EOFError:
            return
        if command == "stop":
            return
        if command == "run_many":  # one answer each, naming its case; a drawn example's snippet
            for one in case:        # is asked for apart
                with timings.phase("worker", locator, "run", one.action):
                    snippet = _snippet(backend, one) if one.example is None else None
                    reply = replace(_answer(backend, one, snippet), key=case_key(one))
                _send(channel, reply, batch=True)
        else:
            with timings.phase("worker", locator, "run", case.action):
                reply = _answer(backend, case, _snippet(backend, case))
            _send(channel, reply)


def _send(channel, reply: Reply, batch: bool = False) -> None:
    """Send a reply as plain values; one that cannot be pickled (nothing was sent) becomes a
    Failed reply."""
    try:
        channel.send(replies.to_wire(reply, with_key=batch))
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. an observation that cannot be pickled
        channel.send(replies.to_wire(Failed(f"{type(exc).__name__}: {exc}", reply.snippet, reply.key),
                                     with_key=batch))


def _answer(backend, case, snippet) -> Reply:
    from backends.base import Unsupported

    backend.take_api_notes()  # only the notes of this case's run
    try:
        obs = run_case(backend, case)
        notes = backend.take_api_notes()
        if notes:  # how this release was called where releases differ (backends/base.py)
            obs["api"] = notes
        return Observed(obs, snippet)
    except Unsupported as exc:
        return Refused(str(exc), snippet)
    except AdapterError as exc:
        cause = exc.__cause__
        return Failed(f"adapter error:\n{exc}\nadapter error (raised by the adapter's own code "
                      f"or a library it called, not the framework): {type(cause).__name__}: "
                      f"{' '.join(str(cause).split())[:300]}", snippet)
    except Exception as exc:  # noqa: BLE001 - e.g. an observation that cannot be pickled
        return Failed(f"{type(exc).__name__}: {exc}", snippet)


def _snippet(backend, case):
    try:
        return backend.snippet(case.model, case.action, case.args)
    except Exception as exc:  # noqa: BLE001 - a snippet must never cost a result
        return f"# snippet unavailable: {type(exc).__name__}: {exc}"


def _die_with_parent() -> None:
    """The worker leads its own session, out of reach of the terminal's Ctrl-C and hang-up: if
    the test process dies without closing it, the kernel kills it too (Linux only)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


if __name__ == "__main__":
    _die_with_parent()
    sys.stdout = sys.stderr  # keep framework chatter off anything that matters
    if sys.argv[1] == "--describe":
        _describe(int(sys.argv[-1]), sys.argv[2:-1])
    else:
        _serve(sys.argv[1], int(sys.argv[2]))
    # The parent has every reply: nothing is left to save. Skip the interpreter's teardown, which
    # costs TensorFlow, JAX and PyTorch 0.6 to 1.5 s each, that many seconds per backend at the
    # end of every run (the parent waits for each worker to exit).
    sys.stderr.flush()
    os._exit(0)
