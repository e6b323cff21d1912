"""A built-in backend is one module: adding ``backends/toy.py`` to a copy of the source tree, and
nothing else, gives a backend the engine discovers, orders, schedules with its declared cost, sweeps,
reports as available (or skipped, with the reason) and runs by name; ``python -m conformance
catalogue --write`` then gives it its extra, tox env, CI job and README row.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import backends
from backends.base import Declaration, Release
from conformance.running import adapters

ROOT = Path(__file__).resolve().parent.parent
# what a source tree is made of (tests/ aside), and the files the catalogue writes into
TREE = ("backends", "conformance", "specs", "conftest.py", "pyproject.toml", "tox.ini", "Makefile",
        "README.md", ".github/workflows/conformance.yml")

TOY = '''\
"""A toy backend: the reference's arithmetic, in a worker process of its own, with its own declaration."""
import os

from .base import Backend, Declaration, Release
from .reference import Reference


class Toy(Reference):
    declaration = Declaration(
        name="toy", framework="toyframe", display="a toy framework", summary="the reference in a worker",
        order=45, seconds_per_item=0.777, requires=("numpy",), env={"TOY_FLAG": "from-the-declaration"},
        pins=("toyframe==1.0",), pinned_release="1.0",
        releases=(Release("0.1", "oldest", ("toyframe==0.1", "numpy<2")),))

    def describe(self):
        return f"toyframe with TOY_FLAG={os.environ.get('TOY_FLAG')}"


class ToyMissing(Backend):
    declaration = Declaration(
        name="toy-missing", framework="nothing", display="a framework that is not installed",
        order=46, seconds_per_item=0.5, requires=("no_such_toy_framework",))
'''

PROBE = '''\
import json
import backends
from conformance.running import scheduling
print(json.dumps({"order": list(backends.DEFAULT_ORDER), "seconds": scheduling.SECONDS_PER_ITEM,
                  "resolved": backends.load_class("toy").__module__}))
'''


def _run(cmd, cwd, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([sys.executable, *cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of the source tree with one file added: backends/toy.py."""
    root = tmp_path_factory.mktemp("toy") / "tree"
    for name in TREE:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, root / name)
    (root / "backends" / "toy.py").write_text(TOY)
    return root


def test_the_toy_is_discovered_ordered_and_scheduled_with_its_declared_cost(tree):
    proc = _run(["-c", PROBE], tree)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout)
    here = list(backends.DEFAULT_ORDER)
    assert "toy" not in here  # only the copy has it
    at = here.index("torch")  # orders 45, 46 < 50 (and after every backend ordered before torch)
    assert found["order"] == here[:at] + ["toy", "toy-missing"] + here[at:]
    assert found["seconds"]["toy"] == 0.777 and found["seconds"]["toy-missing"] == 0.5
    assert found["resolved"] == "backends.toy"


def test_the_sweep_lists_the_toys_releases(tree):
    proc = _run(["-m", "conformance", "sweep", "--list", "--backend", "toy"], tree)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| toy ")]
    assert rows == ["| toy | 0.1 | oldest | toyframe==0.1 numpy<2 |", "| toy | 1.0 | pinned | toyframe==1.0 |"]


def test_a_run_on_the_toy_names_it_and_skips_the_missing_one_with_the_reason(tree):
    proc = _run(["-m", "pytest", "conformance", "--backend", "toy", "--backend", "toy-missing", "-k",
                 "lookup.rows-are-matrix-rows or lookup.output-is-float32", "-p", "no:cacheprovider", "-rs",
                 "-v", "--json", "toy.json"], tree)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "lookup.rows-are-matrix-rows[toy] PASSED" in proc.stdout
    assert "lookup.rows-are-matrix-rows[toy-missing] SKIPPED" in proc.stdout
    data = json.loads((tree / "toy.json").read_text())
    assert data["backends"]["toy"]["available"] is True
    assert data["backends"]["toy"]["framework"] == "toyframe"
    assert data["backends"]["toy"]["detail"] == "toyframe with TOY_FLAG=from-the-declaration"  # the worker's env
    assert data["backends"]["toy-missing"]["available"] is False
    assert "not installed: no_such_toy_framework" in data["backends"]["toy-missing"]["reason"]
    toy = {r["clause"]: r["status"] for r in data["results"] if r["backend"] == "toy"}
    assert toy == {"lookup.rows-are-matrix-rows": "conform", "lookup.output-is-float32": "conform"}


def test_the_catalogue_writes_the_toy_into_the_generated_blocks(tree):
    check = _run(["-m", "conformance", "catalogue", "--check"], tree)
    assert check.returncode == 1 and "tox.ini: the backend-envs block differs" in check.stderr
    write = _run(["-m", "conformance", "catalogue", "--write"], tree)
    assert write.returncode == 0, write.stderr[-3000:]
    assert _run(["-m", "conformance", "catalogue", "--check"], tree).returncode == 0
    assert "[testenv:toy]\ndescription = run the conformance suite on a toy framework\ndeps =\n    toyframe==1.0\n" \
        in (tree / "tox.ini").read_text()
    assert 'toy = ["toyframe==1.0"]' in (tree / "pyproject.toml").read_text()
    readme = (tree / "README.md").read_text()
    assert "| `toy` | a toy framework: the reference in a worker | `toyframe==1.0` |" in readme
    assert "tf-keras, toy, toy-missing, torch" in (tree / ".github/workflows/conformance.yml").read_text()


# -- the declaration itself ---------------------------------------------------------------------------
def test_every_builtin_adapter_declares_itself_and_takes_its_attributes_from_it():
    found = backends.builtin()
    assert list(found) == list(backends.default_order())
    for name, cls in found.items():
        declared = cls.__dict__["declaration"]
        assert (cls.name, cls.framework, cls.requires) == (name, declared.framework, declared.requires)
        assert cls.env == dict(declared.env) and cls.env_defaults == dict(declared.env_defaults)
    assert found["keras-jax"]().keras_backend == "jax"  # from its worker's KERAS_BACKEND


def test_a_third_party_subclass_of_a_builtin_is_not_a_builtin():
    from tests.fake_backends import EmulatedLookup

    assert EmulatedLookup not in backends.builtin().values()
    assert backends.load_class("tests.fake_backends:EmulatedLookup") is EmulatedLookup
    assert not adapters.choose(["tests.fake_backends:EmulatedLookup"])["tests.fake_backends:EmulatedLookup"].builtin


def test_a_declaration_refuses_what_the_catalogue_could_not_use():
    with pytest.raises(ValueError, match="role must be one of"):
        Release("1", "newest", ("x==1",))
    with pytest.raises(ValueError, match="pins need pinned_release"):
        Declaration(name="x", framework="x", display="x", order=1, seconds_per_item=1, pins=("x==1",))
    with pytest.raises(ValueError, match="not an entry of releases"):
        Declaration(name="x", framework="x", display="x", order=1, seconds_per_item=1, pins=("x==1",),
                    pinned_release="1", releases=(Release("1", "pinned", ("x==1",)),))


def test_the_pinned_release_of_the_sweep_is_the_declared_pins_in_role_order():
    declared = Declaration(name="x", framework="x", display="x", order=1, seconds_per_item=1,
                           pins=("x==2",), no_deps=("y==2",), no_deps_why="it declares z",
                           pinned_release="2", releases=(Release("nightly", "nightly", ("x-nightly",)),
                                                         Release("1", "oldest", ("x==1",))))
    assert [(r.release, r.role, r.requirements, r.no_deps) for r in declared.sweep_releases()] == [
        ("1", "oldest", ("x==1",), ()), ("2", "pinned", ("x==2",), ("y==2",)),
        ("nightly", "nightly", ("x-nightly",), ())]


def test_two_builtin_backends_of_one_name_are_refused(tmp_path):
    (tmp_path / "backends").mkdir()
    for name in ("base.py", "reference.py", "__init__.py"):
        shutil.copy2(ROOT / "backends" / name, tmp_path / "backends" / name)
    (tmp_path / "backends" / "again.py").write_text(
        "from .reference import Reference\n\n\nclass Again(Reference):\n"
        "    declaration = Reference.declaration\n")
    proc = _run(["-c", "import backends; backends.builtin()"], tmp_path)
    assert proc.returncode != 0
    assert "ValueError: two built-in backends are named 'reference'" in proc.stderr, proc.stderr[-2000:]
    assert "backends.again.Again" in proc.stderr and "backends.reference.Reference" in proc.stderr

