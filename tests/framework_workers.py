"""A framework's worker for tests that talk to an adapter directly, or a skip with the reason."""
import pytest

from conformance.running import adapters
from conformance.running.worker import Worker


def start_worker(name):
    """(worker, handshake info) of the backend ``name``; skips when it is not installed or cannot
    start. The caller closes the worker."""
    (adapter,) = adapters.choose([name]).values()  # a built-in's name, or a test's module:Class
    missing = adapters.missing(adapter)
    if missing:
        pytest.skip(f"{name}: not installed: {', '.join(missing)}")
    handle = Worker(adapter.locator, dict(adapter.env), start_timeout=300.0, case_timeout=120.0,
                    env_defaults=dict(adapter.env_defaults), declared=adapter.declared)
    hello = handle.start()
    if hello[0] != "ready":
        handle.close()
        pytest.skip(f"{name} unavailable: {hello[1]}")
    return handle, hello[1]
