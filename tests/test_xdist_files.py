"""``make test``'s scheduler (tests/xdist_files.py), driven in-process with fake xdist nodes: the
costliest file starts first, each file stays on one xdist worker, every test runs exactly once."""
from pathlib import Path

from tests import xdist_files
from tests.test_xdist import fake_config
from tests.test_xdist import simulate as simulate_nodes

ROOT = Path(__file__).resolve().parent.parent


def simulate(collection, workers=2):
    """The fake nodes after a full run of make test's scheduler, and the item each started with
    (the nodes and their driving are tests/test_xdist.py's)."""
    nodes, first = simulate_nodes(xdist_files.CostliestFileFirst(fake_config("loadfile", workers)),
                                  collection, workers)
    return nodes, list(first.values())


def test_a_slow_file_of_few_tests_starts_before_files_of_many(monkeypatch):
    monkeypatch.setattr(xdist_files, "SECONDS", {"tests/test_slow.py": 300, "tests/test_slower.py": 400})
    collection = ([f"tests/test_many.py::test_{n}" for n in range(60)]
                  + [f"tests/test_other.py::test_{n}" for n in range(40)]
                  + ["tests/test_slow.py::test_a", "tests/test_slow.py::test_b", "tests/test_slower.py::test_c"])
    nodes, first = simulate(collection)
    # xdist's own loadfile would start test_many.py and test_other.py (the most tests)
    assert sorted(first) == ["tests/test_slow.py::test_a", "tests/test_slower.py::test_c"]
    ran = [nodeid for node in nodes for nodeid in node.ran]
    assert sorted(ran) == sorted(collection)
    where = {}
    for node in nodes:
        for nodeid in node.ran:
            where.setdefault(nodeid.split("::")[0], set()).add(node.gateway.id)
    assert all(len(workers) == 1 for workers in where.values()), where


def test_every_file_with_a_cost_exists():
    # a renamed or split file would silently lose its place at the head of the queue
    assert xdist_files.SECONDS and [f for f in xdist_files.SECONDS if not (ROOT / f).is_file()] == []
