"""Under xdist (``-n 2``) every backend stays on one xdist worker, whatever ``--dist`` says, the costliest
backends start first on different xdist workers, and the results are the serial run's.

The scheduler itself (conformance/running/scheduling.py) is driven in-process with fake xdist nodes over the
real clause ids and the six backend names; end to end, a spy plugin (tests/xdist_where.py) reports
from inside each xdist worker which items ran there and which backend worker processes it started.
"""
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import backends
from conformance.language.spec import load_all
from conformance.running import scheduling, timings

ROOT = Path(__file__).resolve().parent.parent
CLAUSE_IDS = [c.id for c in load_all()]
MUTANTS = ["conformance.tools.mutants:OffByOneLookup", "conformance.tools.mutants:BiasInEmbedding"]


# -- the scheduler, in-process ------------------------------------------------------------------
class FakeNode:
    """What LoadScopeScheduling uses of an xdist WorkerController."""

    def __init__(self, name):
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.queue: list[int] = []
        self.ran: list[str] = []

    def send_runtest_some(self, indices):
        self.queue.extend(indices)

    def shutdown(self):
        self.shutting_down = True


def fake_config(dist, workers=2):
    options = {"tx": ["popen"] * workers, "dist": dist}
    return SimpleNamespace(getvalue=options.__getitem__, option=SimpleNamespace(loadscopereorder=True))


def node_ids(backend_names, clause_ids=CLAUSE_IDS):
    # the order pytest collects them in: clause by clause, every backend for each clause
    return [f"specs/x.yaml::{cid}[{name}]" for cid in clause_ids for name in backend_names]


def simulate(sched, collection, workers=2):
    """Run the scheduler to the end, the nodes completing one item each in turn."""
    nodes = [FakeNode(f"gw{n}") for n in range(workers)]
    for node in nodes:
        sched.add_node(node)
    for node in nodes:
        sched.add_node_collection(node, collection)
    sched.schedule()
    first = {node.gateway.id: collection[node.queue[0]] for node in nodes if node.queue}
    while any(node.queue for node in nodes):
        for node in nodes:
            if node.queue:
                index = node.queue.pop(0)
                node.ran.append(collection[index])
                sched.mark_test_complete(node, index)
    return nodes, first


def backend_of_id(nodeid):
    return nodeid.rsplit("[", 1)[1].rstrip("]")


def scheduler(names=backends.DEFAULT_ORDER, **kwargs):
    return scheduling.BackendScheduling(fake_config("load"), items=scheduling.item_backends(CLAUSE_IDS, names),
                                        **kwargs)


def test_every_backend_runs_on_one_worker_and_every_item_exactly_once():
    collection = node_ids(backends.DEFAULT_ORDER)
    nodes, _ = simulate(scheduler(), collection)
    ran = [nodeid for node in nodes for nodeid in node.ran]
    assert sorted(ran) == sorted(collection)
    where = {}
    for node in nodes:
        for nodeid in node.ran:
            where.setdefault(backend_of_id(nodeid), set()).add(node.gateway.id)
    assert where == {name: where[name] for name in backends.DEFAULT_ORDER}
    assert all(len(workers) == 1 for workers in where.values()), where
    assert all(node.ran for node in nodes), "one xdist worker got no backend"


def test_a_backend_runs_its_clauses_in_the_serial_order():
    nodes, _ = simulate(scheduler(), node_ids(backends.DEFAULT_ORDER))
    for node in nodes:
        for name in {backend_of_id(n) for n in node.ran}:
            assert [n for n in node.ran if backend_of_id(n) == name] == node_ids([name])


def test_the_two_slowest_backends_start_first_on_different_workers():
    seconds = scheduling.SECONDS_PER_ITEM
    slowest = sorted(seconds, key=seconds.get, reverse=True)[:2]
    assert list(seconds) == list(backends.DEFAULT_ORDER)  # every built-in backend declares its cost
    _, first = simulate(scheduler(), node_ids(backends.DEFAULT_ORDER))
    assert sorted(backend_of_id(n) for n in first.values()) == sorted(slowest)


def test_the_costs_decide_the_order_and_a_third_party_backend_counts_as_a_framework():
    seconds = {**scheduling.SECONDS_PER_ITEM, "torch": 5.0, "reference": 4.0}
    _, first = simulate(scheduler(seconds_per_item=seconds), node_ids(backends.DEFAULT_ORDER))
    assert sorted(backend_of_id(n) for n in first.values()) == ["reference", "torch"]
    _, first = simulate(scheduler(names=["reference", "torch", MUTANTS[0]]),
                        node_ids(["reference", "torch", MUTANTS[0]]))
    assert sorted(backend_of_id(n) for n in first.values()) == sorted([MUTANTS[0], "torch"])


@pytest.mark.parametrize("dist", scheduling.GROUPED_DISTS)
def test_every_dist_spelling_but_each_groups_by_backend(dist):
    config = fake_config(dist)
    sched = scheduling.make_scheduler(config, None, CLAUSE_IDS, ["reference", MUTANTS[0]])
    assert isinstance(sched, scheduling.BackendScheduling)
    assert scheduling.make_scheduler(fake_config("each"), None, CLAUSE_IDS, ["reference"]) is None


def test_backend_of_knows_conformance_items_only():
    items = scheduling.item_backends(["lookup.rows", "mask.rnn"], ["torch", MUTANTS[0]])
    assert scheduling.backend_of("specs/01.yaml::lookup.rows[torch]", items) == "torch"
    assert scheduling.backend_of(f"specs/01.yaml::mask.rnn[{MUTANTS[0]}]", items) == MUTANTS[0]
    assert scheduling.backend_of("specs/01.yaml::lookup.rows[torch]@torch", items) == "torch"  # loadgroup
    assert scheduling.backend_of("specs/01.yaml::lookup.rows[keras-jax]", items) is None  # not selected
    assert scheduling.backend_of("specs/01.yaml::no.such.clause[torch]", items) is None
    assert scheduling.backend_of("tests/test_x.py::test_y[torch]", items) is None
    assert scheduling.backend_of("lookup.rows[torch]", items) is None


@pytest.mark.parametrize("dist, scope", [("load", "tests/test_a.py::T::test_b[1]"),
                                         ("worksteal", "tests/test_a.py::T::test_b[1]"),
                                         ("loadscope", "tests/test_a.py::T"),
                                         ("loadfile", "tests/test_a.py")])
def test_other_items_keep_the_grouping_of_their_dist(dist, scope):
    sched = scheduling.make_scheduler(fake_config(dist), None, CLAUSE_IDS, ["reference"])
    assert sched._split_scope("tests/test_a.py::T::test_b[1]") == scope
    assert sched._split_scope(f"specs/x.yaml::{CLAUSE_IDS[0]}[reference]") == "conformance backend reference"


# -- end to end ---------------------------------------------------------------------------------
def pytest_run(tmp_path, name, *args):
    out = tmp_path / f"{name}.json"
    where, times, temporary = tmp_path / f"{name}-where", tmp_path / f"{name}-timings", tmp_path / f"{name}-tmp"
    where.mkdir()
    temporary.mkdir()
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--json", str(out),
                           "--backend", "reference", *[a for m in MUTANTS for a in ("--backend", m)],
                           # one drawn example per set of sizes (ci's four sets): where items run and that
                           # the records equal the serial run's is checked, at any number of examples
                           "--max-examples", "4", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "XDIST_WHERE_DIR": str(where), timings.ENV: str(times),
                               "TMPDIR": str(temporary)})
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    spied = {p.stem: json.loads(p.read_text()) for p in where.glob("*.json")}
    spied["timings"] = timings.summarise(timings.load(times))
    spied["left in TMPDIR"] = sorted(p.name for p in temporary.glob("conformance-draws-*"))
    return proc, json.loads(out.read_text()), spied


def comparable(data):
    """Everything a run records but durations and timestamps."""
    return {(r["clause"], r["backend"]): {k: v for k, v in r.items() if k != "duration"}
            for r in data["results"]}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return pytest_run(tmp_path_factory.mktemp("serial"), "serial")


@pytest.mark.slow
@pytest.mark.parametrize("dist", [[], ["--dist", "loadgroup"]], ids=["default-dist", "loadgroup"])
def test_with_n2_each_backend_runs_on_one_xdist_worker_and_results_equal_serial(tmp_path, serial, dist):
    proc, data, spied = pytest_run(tmp_path, "parallel", "-n", "2", "-p", "tests.xdist_where", *dist)
    draws = sum(v["count"] for k, v in spied.pop("timings").items() if k[0] == "pytest" and k[2] == "draw")
    assert draws == len(CLAUSE_IDS), "a clause's examples were drawn more than once in the run (shared_draws.py)"
    assert spied.pop("left in TMPDIR") == [], "the run's folder of drawn examples was left behind"
    assert sorted(spied) == ["gw0", "gw1"], (spied, proc.stdout[-2000:], proc.stderr[-2000:])
    where: dict[str, set] = {}
    for worker, seen in spied.items():
        for nodeid in seen["items"]:
            where.setdefault(backend_of_id(nodeid), set()).add(worker)
    assert set(where) == {"reference", *MUTANTS}
    assert all(len(workers) == 1 for workers in where.values()), where
    assert all(seen["items"] for seen in spied.values()), "an xdist worker ran nothing"
    started = sorted(name for seen in spied.values() for name in seen["started"])
    assert started == sorted(MUTANTS), "a backend's worker process was started more than once"
    assert sum(len(seen["items"]) for seen in spied.values()) == 3 * len(CLAUSE_IDS)

    _, serial_data, _ = serial
    assert data["complete"] is True and data["recorded"] == 3 * len(CLAUSE_IDS)
    assert comparable(data) == comparable(serial_data)
    assert data["backends"] == serial_data["backends"]
    assert any(r["status"] == "diverge" for r in data["results"])  # the mutants were caught in both


def test_pytest_tests_with_n2_keeps_xdists_own_scheduling(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/test_formula.py", "-p", "no:cacheprovider",
                           "-n", "2", "-v"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "[gw0]" in proc.stdout and "[gw1]" in proc.stdout  # load: items spread over both workers
