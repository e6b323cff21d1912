"""One process per framework backend.

Keras fixes its backend at import (``KERAS_BACKEND``) and tf-keras and Keras 3 both load
TensorFlow, so every non-reference backend runs in a process of its own, with the environment
its adapter asks for. The test process sends it resolved cases over a socket and gets
observations back. If the worker crashes or hangs, only the case in flight is reported as an
error; the next case starts a fresh worker, and the other backends are untouched.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection

from .actions import AdapterError, run_case

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WorkerDied(RuntimeError):
    pass


class Worker:
    """Parent-side handle of a backend's worker process."""

    def __init__(self, backend_name: str, env: dict, start_timeout: float, case_timeout: float):
        self.backend_name, self.env = backend_name, env
        self.start_timeout, self.case_timeout = start_timeout, case_timeout
        self.proc = None
        self.conn = None
        self.log = None
        self.hello = None

    def _start(self):
        parent, child = socket.socketpair()
        self.log = tempfile.TemporaryFile(mode="w+b")
        env = {**os.environ, **self.env, "PYTHONPATH": os.pathsep.join(
            p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.worker", self.backend_name, str(child.fileno())],
            pass_fds=[child.fileno()], env=env, cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )
        child.close()
        self.conn = Connection(parent.detach())
        self.hello = self._receive(self.start_timeout, "starting")
        return self.hello

    def start(self):
        """Start if needed; returns the handshake: ("ready", info) or ("unavailable", reason)."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        return self.hello

    def _receive(self, timeout, doing):
        deadline = time.monotonic() + timeout
        while not self.conn.poll(0.2):
            if self.proc.poll() is not None:
                raise WorkerDied(f"{self.backend_name} worker exited with code "
                                 f"{self.proc.returncode} while {doing}\n{self.tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise WorkerDied(f"{self.backend_name} worker hung: no answer within {timeout:.0f} s "
                                 f"while {doing}; killed\n{self.tail()}")
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = "unknown (still running; killed)"
            self.kill()
            raise WorkerDied(f"{self.backend_name} worker exited with code {code} while {doing}"
                             f"\n{self.tail()}") from None

    def run(self, case):
        """Returns ("ok", obs, snippet), ("unsupported", reason, snippet) or ("error", text, None)."""
        try:
            hello = self.start()
            if hello[0] != "ready":
                return ("error", f"backend unavailable: {hello[1]}", None)
            self.conn.send(("run", case))
            return self._receive(self.case_timeout, f"running {case.clause}")
        except WorkerDied as exc:
            self.kill()
            return ("error", str(exc), None)
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            return ("error", f"{self.backend_name} worker unreachable: {exc}\n{self.tail()}", None)

    def tail(self, lines=25) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        text = self.log.read().decode("utf-8", "replace").splitlines()
        return "worker output (last lines):\n" + "\n".join(text[-lines:]) if text else ""

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.conn.send(("stop", None))
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


def _serve(backend_name: str, fd: int) -> None:
    import backends
    from backends.base import Unsupported

    conn = Connection(fd)
    try:
        backend = backends.resolve(backend_name)()
        info = {"version": backend.version(), "describe": backend.describe(), "release": backend.release()}
    except Exception as exc:  # noqa: BLE001 - reported to the parent, never a crash
        conn.send(("unavailable", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", info))
    while True:
        try:
            command, case = conn.recv()
        except EOFError:
            return
        if command == "stop":
            return
        snippet = _snippet(backend, case)
        backend.take_api_notes()  # only the notes of this case's run
        try:
            obs = run_case(backend, case)
            notes = backend.take_api_notes()
            if notes:  # how this release was called where releases differ (backends/base.py)
                obs["api"] = notes
            conn.send(("ok", obs, snippet))
        except Unsupported as exc:
            conn.send(("unsupported", str(exc), snippet))
        except AdapterError as exc:
            conn.send(("error", f"adapter error:\n{exc}", snippet))
        except Exception as exc:  # noqa: BLE001 - e.g. an observation that cannot be pickled
            conn.send(("error", f"{type(exc).__name__}: {exc}", snippet))


def _snippet(backend, case):
    try:
        return backend.snippet(case.model, case.action, case.args)
    except Exception as exc:  # noqa: BLE001 - a snippet must never cost a result
        return f"# snippet unavailable: {type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.stdout = sys.stderr  # keep framework chatter off anything that matters
    _serve(sys.argv[1], int(sys.argv[2]))
