"""The byte stream between the test process and a backend's worker, and what may cross it.

Messages are pickles framed by an 8-byte length. The worker runs third-party code in the same
process that writes the stream, so the test process trusts nothing it reads: a length over
:data:`MAX_MESSAGE`, bytes that are no pickle, a pickle naming anything but plain values and
NumPy arrays (which would import that thing, e.g. ``torch``, into the test process), or a message
of the wrong shape all raise :class:`ChannelError`, after which the stream is out of step and the
worker must be replaced. Pickles from the test process to the worker are trusted.
"""
from __future__ import annotations

import io
import pickle
import socket
import struct
import time
from multiprocessing.connection import wait

HEADER = struct.Struct("!Q")
MAX_MESSAGE = 1 << 30  # observations are small; a larger length means the stream is corrupt

# Everything a pickled observation needs besides plain containers, str, bytes and numbers:
# NumPy arrays, dtypes and scalars (NumPy 2 and 1 module names), complex, sets.
_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    *((m, n) for m in ("numpy._core.multiarray", "numpy.core.multiarray") for n in ("_reconstruct", "scalar")),
    *((m, "_frombuffer") for m in ("numpy._core.numeric", "numpy.core.numeric")),
    *(("builtins", n) for n in ("complex", "set", "frozenset", "bytearray", "slice", "range")),
}


class ChannelError(Exception):
    """What arrived is not a message the worker's own code sent."""


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise ChannelError(f"refused to unpickle {module}.{name}: only plain values and NumPy "
                           "arrays may cross the channel (an object of another library would "
                           "import it into the test process)")


def loads_plain(data: bytes):
    """Unpickle ``data`` allowing only plain values and NumPy arrays."""
    try:
        return _PlainUnpickler(io.BytesIO(data)).load()
    except ChannelError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle means a corrupt stream
        raise ChannelError(f"unreadable message ({len(data)} bytes): {type(exc).__name__}: {exc}") from None


class Channel:
    """One end of a connected stream socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    @staticmethod
    def pickle(obj) -> bytes:
        """``obj`` as send() sends it: a message made once can go to several workers (send_pickled)."""
        # the default protocol, as multiprocessing's Connection used: protocol 5 unpickles arrays
        # as views of the message, which moves the worker's later allocations, and Keras on JAX
        # aliases a pretrained matrix only when its buffer is 64-byte aligned (char.pretrained-copy-or-alias)
        return pickle.dumps(obj, protocol=pickle.DEFAULT_PROTOCOL)

    def send(self, obj) -> None:
        self.send_pickled(self.pickle(obj))

    def send_pickled(self, data: bytes) -> None:
        """Send a message made by :meth:`pickle`."""
        self.sock.sendall(HEADER.pack(len(data)))
        self.sock.sendall(data)

    def readable(self, timeout: float) -> bool:
        return bool(wait([self.sock], max(timeout, 0.0)))  # poll(), not select(): no fd limit

    def recv_bytes(self, deadline: float | None = None, limit: int = MAX_MESSAGE) -> bytes:
        """The next framed message. EOFError when the other end closed; TimeoutError when
        ``deadline`` (time.monotonic) passes first; ChannelError for a length over ``limit``
        (nothing of the body is read: the stream is out of step and the worker must go)."""
        (size,) = HEADER.unpack(self._read(HEADER.size, deadline))
        if size > MAX_MESSAGE:
            raise ChannelError(f"message length {size} exceeds {MAX_MESSAGE} bytes: not a message")
        if size > limit:
            raise ChannelError(f"an answer of {size:,} bytes, over the {limit:,} its case can need (its "
                               "array budget, conformance/running/worker.py answer_limit): not read")
        return self._read(size, deadline)

    def recv(self):
        """The next message, trusted (the worker reading the test process's commands)."""
        return pickle.loads(self.recv_bytes())

    def _read(self, size: int, deadline: float | None) -> bytes:
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        while got < size:
            if deadline is None:
                self.sock.settimeout(None)
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                self.sock.settimeout(remaining)
            try:
                n = self.sock.recv_into(view[got:])
            except socket.timeout:
                raise TimeoutError from None
            if n == 0:
                raise EOFError
            got += n
        return bytes(buf)

    def close(self) -> None:
        self.sock.close()
