"""Adapters that attack their own worker process and its channel to the test process.

Each is the reference with one hostile act in ``mask()`` (the clause
mask.marks-nonzero-indices), run as a third-party adapter (``--backend
tests.hostile_workers:Name``). Whatever it does, that item must end as ``error``, and the
clauses after it must run normally on a fresh worker.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np

from backends.reference import Reference

PID_FILE = "HOSTILE_WORKERS_PID_FILE"  # environment variable: where HangsWithChild writes "worker-pid child-pid"


class _Hostile(Reference):
    framework = "hostile"


def _channel_fd() -> int:
    """The worker's end of the socket, as the worker was told on its command line."""
    return int(sys.argv[-1])


class HangsWithChild(_Hostile):
    """Starts a long-lived child process, then never answers."""

    def mask(self, built, x):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(os.environ[PID_FILE] + ".tmp", "w") as f:
            f.write(f"{os.getpid()} {child.pid}")
        os.replace(os.environ[PID_FILE] + ".tmp", os.environ[PID_FILE])
        time.sleep(3600)


class Exits(_Hostile):
    """Calls sys.exit() in the middle of a case."""

    def mask(self, built, x):
        sys.exit(0)


class Segfaults(_Hostile):
    """Dies of SIGSEGV."""

    def mask(self, built, x):
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(60)


class StdoutNoise(_Hostile):
    """Prints, and writes straight to file descriptors 1 and 2; otherwise the reference."""

    def mask(self, built, x):
        print("noise from print()\n" * 100)
        os.write(1, b"\x80\x04noise on fd 1\n" * 1000)
        os.write(2, b"noise on fd 2\n")
        sys.__stdout__.write("noise on sys.__stdout__\n")
        return super().mask(built, x)


class GarbageOnChannel(_Hostile):
    """Writes bytes that are no message into the channel, then answers normally."""

    def mask(self, built, x):
        os.write(_channel_fd(), b"garbage!" * 8)
        return super().mask(built, x)


class UnpicklableOnChannel(_Hostile):
    """Writes a correctly framed message whose body is no pickle."""

    def mask(self, built, x):
        body = b"\x80\x05not a pickle at all"
        os.write(_channel_fd(), len(body).to_bytes(8, "big") + body)
        return super().mask(built, x)


class PartialMessageThenHangs(_Hostile):
    """Announces a 100-byte message, writes 3 bytes of it, then never writes again."""

    def mask(self, built, x):
        os.write(_channel_fd(), (100).to_bytes(8, "big") + b"abc")
        time.sleep(3600)


class WrongShapeMessage(_Hostile):
    """Finds the worker's own channel object up its call stack (the worker freezes what its
    start made, so gc.get_objects() no longer lists it) and sends a well-formed reply of the
    wrong shape."""

    def mask(self, built, x):
        channels, frame = {}, sys._getframe()
        while frame is not None:
            channels.update((id(o), o) for o in frame.f_locals.values()
                            if type(o).__name__ in ("Channel", "Connection") and hasattr(o, "send"))
            frame = frame.f_back
        assert channels, "no channel found: this adapter's attack did not happen"
        for channel in channels.values():
            channel.send(("ok", "an observation must be a dict", None))
        return super().mask(built, x)


class Foreign:
    """Not a plain value: unpickling it would import this module into the test process."""


class ForeignObjectObservation(_Hostile):
    """Returns an object of its own class as the mask."""

    def mask(self, built, x):
        return Foreign()


class NumpyMemoryError(_Hostile):
    """The adapter's own NumPy call fails: an adapter error, not the framework's behaviour."""

    def mask(self, built, x):
        np.ones((10**8, 10**8))  # 80 PB, beyond any address space: MemoryError at once, nothing allocated
        return super().mask(built, x)


class NumpyReshapeError(_Hostile):
    """The adapter's own bad reshape: an adapter error, not the framework's behaviour."""

    def mask(self, built, x):
        mask = super().mask(built, x)
        return np.reshape(mask, (mask.size + 1,))


class AnswersTooMuch(_Hostile):
    """Returns a 48 MB mask for a clause whose arrays hold a few dozen elements."""

    def mask(self, built, x):
        return np.zeros(6_000_000)


class WritesAHugeLine(_Hostile):
    """Writes a 20 MB line without a newline to its output, then dies."""

    def mask(self, built, x):
        os.write(2, b"x" * 20_000_000)
        os._exit(3)


class SetsidGrandchild(_Hostile):
    """Starts a child in a session of its own (out of the worker's process group), writes
    "worker-pid child-pid" to ``$HOSTILE_WORKERS_PID_FILE.setsid``, then dies."""

    def mask(self, built, x):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        with open(os.environ[PID_FILE] + ".setsid.tmp", "w") as f:
            f.write(f"{os.getpid()} {child.pid}")
        os.replace(os.environ[PID_FILE] + ".setsid.tmp", os.environ[PID_FILE] + ".setsid")
        os._exit(1)


class SlowRestart(_Hostile):
    """Starts at once the first time; crashes on mask(); every later start hangs (a restart
    after a crash that never hands over)."""

    def __init__(self):
        marker = os.environ[PID_FILE] + ".slow-restart"
        if os.path.exists(marker):
            time.sleep(3600)
        open(marker, "w").close()
        super().__init__()

    def mask(self, built, x):
        os._exit(1)
