"""A framework's worker for tests that talk to an adapter directly, or a skip with the reason."""
import importlib.util

import pytest

import backends
from conformance.running.worker import Worker


def start_worker(name):
    """(worker, handshake info) of the backend ``name``; skips when it is not installed or cannot
    start. The caller closes the worker."""
    cls = backends.resolve(name)
    missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{name}: not installed: {', '.join(missing)}")
    handle = Worker(name, dict(cls.env), start_timeout=300.0, case_timeout=120.0,
                    env_defaults=dict(getattr(cls, "env_defaults", {})))
    hello = handle.start()
    if hello[0] != "ready":
        handle.close()
        pytest.skip(f"{name} unavailable: {hello[1]}")
    return handle, hello[1]
