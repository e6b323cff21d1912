"""A pytest plugin for tests/test_xdist.py (``-p tests.xdist_where``): in each xdist worker it notes
which items ran there and which backend worker processes (frameworks) it started, in
``$XDIST_WHERE_DIR/<xdist worker id>.json``."""
import json
import os
from pathlib import Path

import pytest

from conformance.running import worker as framework_worker

_KEY = pytest.StashKey[Path]()
_SEEN = {"items": [], "started": []}


def pytest_configure(config):
    if not hasattr(config, "workerinput") or "XDIST_WHERE_DIR" not in os.environ:
        return
    real_start = framework_worker.Worker._start

    def spy_start(self):
        _SEEN["started"].append(self.backend_name)
        return real_start(self)

    framework_worker.Worker._start = spy_start
    config.stash[_KEY] = Path(os.environ["XDIST_WHERE_DIR"]) / f"{config.workerinput['workerid']}.json"


def pytest_runtest_logstart(nodeid, location):
    _SEEN["items"].append(nodeid)


def pytest_sessionfinish(session):
    path = session.config.stash.get(_KEY, None)
    if path is not None:
        path.write_text(json.dumps(_SEEN))

