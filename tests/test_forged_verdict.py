"""Issue 20, item 1: no adapter can forge the verdict.

A third-party adapter package whose import replaces the judge (every clause "conform") and whose
adapter answers zeros: the test process never imports it (conformance/running/adapters.py loads
adapter classes in a worker), so the zeros diverge and the run fails. The package writes the pid of
every process that imports it to a marker file: the test process's pid must never be there, and a
worker's must (the forgery was live, only not where the verdict is made). Its ``requires`` names a
module inside the package, which importlib.util.find_spec would find by importing the package.

Beside it, the values a worker sends are checked: a description of the wrong types is refused
naming the adapter, and a worker whose class declares other values than the run resolved is
refused at its handshake.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import backends
from conformance.running import adapters
from conformance.running.worker import Worker, WorkerDied
from tests import third_party_toy as toy

ROOT = Path(__file__).resolve().parent.parent
CLAUSES = ("lookup.rows-are-matrix-rows", "lookup.every-index-in-contract")

PACKAGE = '''\
"""A hostile adapter package: importing it makes every clause conform, whatever was observed."""
import os

with open(os.environ["FORGER_MARKER"], "a") as marker:
    marker.write(f"{os.getpid()}\\n")

from conformance.judging import outcome as _outcome
from conformance.judging.status import Status


def _forged(outcome, case, reply, reference, entry):
    outcome.status, outcome.reason, outcome.mismatches = Status.CONFORM, None, []
    return outcome


_outcome._judge = _forged
'''

ADAPTER = '''\
"""An adapter that answers zeros."""
import numpy as np

from backends.base import Declaration
from backends.reference import Reference


class Forger(Reference):
    declaration = Declaration(name="forger", framework="forged", display="a forger",
                              requires=("numpy", "forgerpkg.adapter"))

    def forward(self, built, x):
        return np.zeros_like(super().forward(built, x))
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forger")
    (folder / "forgerpkg").mkdir()
    (folder / "forgerpkg" / "__init__.py").write_text(PACKAGE)
    (folder / "forgerpkg" / "adapter.py").write_text(ADAPTER)
    return toy.write_site(folder, {"forger": "forgerpkg.adapter:Forger"}, dist="forgerpkg", sources=False)


@pytest.mark.parametrize("backend", ["forger", "forgerpkg.adapter:Forger"])
def test_an_adapter_whose_import_replaces_the_judge_still_diverges(site, tmp_path, backend):
    marker = tmp_path / "imported-by"
    marker.write_text("")
    env = {**os.environ, "FORGER_MARKER": str(marker),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(site), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--backend", backend,
         "-k", " or ".join(CLAUSES), "--json", str(tmp_path / "out.json")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    output, _ = proc.communicate(timeout=600)
    importers = marker.read_text().split()
    assert str(proc.pid) not in importers, "the test process imported the adapter's package"
    assert importers, "no worker imported the adapter: the forgery was never live"
    assert proc.returncode == 1, output[-3000:]
    records = json.loads((tmp_path / "out.json").read_text())["results"]
    assert {(r["clause"], r["backend"], r["status"]) for r in records} == {(c, "forger", "diverge") for c in CLAUSES}


def _description(**changes) -> dict:
    from tests.fake_backends import EmulatedLookup

    return {**backends.describe(EmulatedLookup), **changes}


@pytest.mark.parametrize("changes, says", [
    ({"requires": "numpy"}, "x:Y: 'requires' must be a tuple of module names, e.g. ('numpy',), not 'numpy'"),
    ({"requires": ("numpy", "")}, "'requires' must be a tuple of module names"),
    ({"env": {"A": 1}}, "x:Y: 'env' must map names to strings, not {'A': 1}"),
    ({"env_defaults": "A=1"}, "'env_defaults' must map names to strings"),
    ({"framework": None}, "x:Y: 'framework' must be a string, not None"),
    ({"name": ""}, "the name it declares must be a non-empty string"),
    ({"order": True}, "'order' must be an integer, not True"),
    ({"seconds_per_item": float("nan")}, "'seconds_per_item' must be a number of seconds above 0"),
    ({"describes_document": "yes"}, "'describes_document' must be True or False"),
    ({"compile_cache": {"folder_env": "X"}}, "'compile_cache' is not a CompileCache"),
    ({"divergences": "d.yaml", "registry": "d.yaml", "folder": "."}, "gave no absolute path for divergences='d.yaml'"),
    ({"where": "nowhere"}, "its class is not at a module:Class"),
    ({"extra": 1}, "its worker described it with the fields"),
])
def test_a_description_of_the_wrong_types_is_refused_naming_the_adapter(changes, says):
    with pytest.raises(adapters.BadAdapter) as info:
        adapters.checked("x:Y", "x:Y", _description(**changes))
    assert says in str(info.value) and str(info.value).startswith("x:Y: ") and "\n" not in str(info.value)


def test_a_description_of_the_right_types_makes_an_adapter_of_plain_values():
    adapter = adapters.checked("x:Y", "x:Y", _description())
    assert (adapter.name, adapter.framework, adapter.requires, adapter.builtin) == ("x:Y", "fake", ("numpy",), False)


def test_a_worker_whose_class_declares_other_values_than_the_run_resolved_is_refused():
    value = "tests.fake_backends:EmulatedLookup"
    resolved = adapters.choose([value])[value]
    worker = Worker(value, {}, 120.0, 120.0, locator=value, declared={**resolved.declared, "framework": "other"})
    try:
        with pytest.raises(WorkerDied, match="declares other values than the one this run resolved .framework"):
            worker.start()
    finally:
        worker.close()
    worker = Worker(value, {}, 120.0, 120.0, locator=value, declared=resolved.declared)
    try:
        assert worker.start()[0] == "ready"
    finally:
        worker.close()


def test_a_dotted_module_is_found_without_importing_its_package(tmp_path, monkeypatch):
    package = tmp_path / "explodes"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    (package / "inside.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert adapters.installed("explodes.inside") and not adapters.installed("explodes.absent")
    assert "explodes" not in sys.modules
    assert adapters.installed("numpy.linalg") and not adapters.installed("no_such_xyz.inside")


def test_an_import_that_kills_the_resolving_worker_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "dies_at_import.py").write_text(textwrap.dedent("""\
        import os
        os._exit(7)
        """))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    with pytest.raises(backends.UnknownBackend) as info:
        adapters.choose(["dies_at_import:X"])
    assert "cannot load adapter 'dies_at_import:X'" in str(info.value) and "exited with code 7" in str(info.value)
    assert "\n" not in str(info.value)
