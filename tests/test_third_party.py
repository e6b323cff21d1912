"""Issue 18: a third-party adapter is first-class. Its declared name is its identity everywhere;
``--backend NAME`` finds it through the entry point group ``embedding_conformance.backends``
without importing it; the registry it ships (or ``--divergences PATH``) is validated and pinned
like the suite's own; two adapters claiming one name are an error naming both; the failure footer
says where its divergences go.

The package (tests/third_party_toy.py) is made "installed" by a ``.dist-info`` beside it on the
path: importlib.metadata reads it like pip's. tests/test_install.py pip-installs it for real.
"""
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import backends
from conformance.running import adapters
from tests import third_party_toy as toy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return toy.write_site(tmp_path_factory.mktemp("site"))


@pytest.fixture
def on_path(site, monkeypatch):
    """The toy package's entry points visible in this process, and the package importable here and
    in the workers that load adapter classes (conformance/running/adapters.py)."""
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    backends._registered.cache_clear()
    yield site
    for name in [m for m in sys.modules if m == "toyext" or m.startswith("toyext.")]:
        del sys.modules[name]
    backends._registered.cache_clear()


def run(site, cwd, *args, extra_path=()):
    """``python -m conformance run ...`` from ``cwd`` with the toy package on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site), *map(str, extra_path)])}
    return subprocess.run([sys.executable, "-m", "conformance", "run", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


# -- resolution ----------------------------------------------------------------------------------
def resolve(value: str):
    """(identity, adapter) of one --backend value, as a run resolves it."""
    ((name, adapter),) = adapters.choose([value]).items()
    return name, adapter


def test_an_entry_point_name_resolves_to_its_adapter_without_importing_it(on_path):
    # the toy's entry points, beside any an installed package registers (make conformance installs
    # the Flax NNX example's)
    assert backends.entry_points().items() >= toy.ENTRY_POINTS.items()
    name, adapter = resolve("toy-ext")
    assert "toyext" not in sys.modules  # read from the metadata, the class loaded in a worker
    assert (name, adapter.where, adapter.framework) == ("toy-ext", "toyext.backend:ToyExt", "toyframe")
    assert adapter.locator == "toyext.backend:ToyExt"  # what its worker imports
    assert adapter.registry == site_registry(on_path) and adapter.requires == ("numpy",)


def site_registry(site):
    return (site / "toyext" / "divergences.yaml").resolve()


def test_module_class_of_a_class_that_declares_a_name_is_known_by_that_name(on_path):
    assert resolve("toyext.backend:ToyExt")[0] == "toy-ext"
    # the same adapter named both ways runs once, under its name
    assert list(adapters.choose(["toy-ext", "toyext.backend:ToyExt"])) == ["toy-ext"]
    # a class that only inherits a name (a subclass of the reference) keeps module:Class
    assert resolve("tests.fake_backends:EmulatedLookup")[0] == "tests.fake_backends:EmulatedLookup"
    # an adapter of class attributes only (no declaration) is known by its ``name``
    assert resolve("tests.fake_backends:NotInstalled")[0] == "not-installed"
    # a built-in named by module:Class is the built-in, by another path too
    assert resolve("backends.pytorch:Torch") == ("torch", adapters.builtins()["torch"])
    keras = adapters.builtins()["keras-tensorflow"]
    assert resolve("tests.fake_backends:KerasTensorflow") == ("keras-tensorflow", keras)  # imported there
    assert "toyext" not in sys.modules


def test_a_module_class_claiming_a_builtins_name_is_refused_naming_both(on_path):
    with pytest.raises(backends.UnknownBackend) as exc:
        resolve("toyext.backend:NamedTorch")
    assert str(exc.value) == ("two adapters claim the backend name 'torch': the built-in backends.pytorch:Torch "
                              "and toyext.backend:NamedTorch")


@contextlib.contextmanager
def another_site(folder, entry_points: dict, dist: str):
    """A second installed distribution (entry points only) on the path while the block runs."""
    toy.write_site(folder, entry_points, dist=dist, sources=False)
    sys.path.insert(0, str(folder))
    try:
        backends._registered.cache_clear()
        yield
    finally:
        sys.path.remove(str(folder))


def test_an_entry_point_claiming_a_builtins_name_is_refused_naming_both(on_path, tmp_path):
    with another_site(tmp_path / "clash", {"torch": "toyext.backend:NamedTorch"}, "clashing"):
        with pytest.raises(backends.UnknownBackend) as exc:
            resolve("torch")
    assert "two adapters claim the backend name 'torch'" in str(exc.value)
    assert "backends.pytorch:Torch" in str(exc.value) and "toyext.backend:NamedTorch" in str(exc.value)


def test_two_entry_points_claiming_one_name_are_refused_naming_both_packages(on_path, tmp_path):
    with another_site(tmp_path / "other", {"toy-ext": "otherpkg.adapter:Toy"}, "otherpkg"):
        with pytest.raises(backends.UnknownBackend) as exc:
            resolve("toy-ext")
        assert resolve("toy-bare")[0] == "toy-bare"  # only the name claimed twice is refused
    message = str(exc.value)
    assert "two adapters claim the backend name 'toy-ext'" in message
    assert "toyext.backend:ToyExt (package toyext)" in message and "otherpkg.adapter:Toy (package otherpkg)" in message


def test_an_entry_point_whose_class_declares_another_name_is_refused(on_path, tmp_path):
    toy.write_site(tmp_path / "odd", {"toy-odd": "toyext.backend:ToyExt"}, dist="odd", sources=False)
    sys.path.insert(0, str(tmp_path / "odd"))
    try:
        backends._registered.cache_clear()
        with pytest.raises(backends.UnknownBackend, match="declares the name 'toy-ext'"):
            resolve("toy-odd")
    finally:
        sys.path.remove(str(tmp_path / "odd"))


def test_a_declaration_needs_no_order_or_cost():
    from backends.base import Declaration

    d = Declaration(name="x", framework="f", display="X", requires=("f",), divergences="d.yaml")
    assert d.order > max(b.order for b in backends.catalogue()) and d.seconds_per_item > 0
    assert d.divergences == "d.yaml" and d.describes_document is False


# -- a run ---------------------------------------------------------------------------------------
def test_a_run_by_entry_point_name_uses_the_name_and_the_shipped_registry(site, tmp_path):
    proc = run(site, tmp_path, "--backend", "toy-ext", "-k", toy.CLAUSE, "--json", "out.json", "-rA")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((tmp_path / "out.json").read_text())
    assert list(data["backends"]) == ["toy-ext"] and data["backends"]["toy-ext"]["framework"] == "toyframe"
    (record,) = data["results"]
    assert (record["backend"], record["status"], record["known"]) == ("toy-ext", "diverge", True)
    assert record["reason"] == "toyframe counts one parameter too many in a Dense layer."
    assert record["pinned"] and all(p["ok"] for p in record["pinned"])
    assert f"{toy.CLAUSE}[toy-ext]" in proc.stdout and "toyext.backend" not in proc.stdout


def test_a_shipped_pin_that_no_longer_holds_is_a_known_divergence_changed(site, tmp_path):
    other = tmp_path / "site2"
    package = toy.write_sources(other)
    (package / "divergences.yaml").write_text(toy.registry("toy-ext", extra=3))
    toy.write_site(other, sources=False)
    proc = run(other, tmp_path, "--backend", "toy-ext", "-k", toy.CLAUSE)
    assert proc.returncode == 1
    assert "KNOWN DIVERGENCE CHANGED" in proc.stdout


def test_the_footer_of_a_third_partys_new_divergence_says_where_its_entry_goes(site, tmp_path):
    proc = run(site, tmp_path, "--backend", "toy-bare", "-k", toy.CLAUSE, "-v")
    assert proc.returncode == 1 and f"{toy.CLAUSE}[toy-bare]" in proc.stdout
    footer = " ".join(proc.stdout.split("If this divergence is understood and confirmed, register it in ", 1)[1]
                      .split("with its reason")[0].split())
    assert "divergences=\"divergences.yaml\"" in footer and "--divergences PATH" in footer
    assert "specs/divergences" not in footer and ":ToyBare" not in footer
    # toy-ext fails a clause its registry does not list: the footer names the registry it ships
    proc = run(site, tmp_path, "--backend", "toy-ext", "-k", "pretrained.frozen-counts-non-trainable", "-v")
    assert proc.returncode == 1 and "pretrained.frozen-counts-non-trainable[toy-ext] FAILED" in proc.stdout
    assert (f"register it in {site / 'toyext' / 'divergences.yaml'} (the registry your adapter ships)"
            in " ".join(proc.stdout.split()))


def test_divergences_option_registers_a_third_partys_divergences(site, tmp_path):
    (tmp_path / "bare.yaml").write_text(toy.registry("toy-bare"))
    proc = run(site, tmp_path, "--backend", "toy-bare", "-k", toy.CLAUSE, "--divergences", "bare.yaml",
               "--json", "out.json")
    assert proc.returncode == 0, proc.stdout[-3000:]
    (record,) = json.loads((tmp_path / "out.json").read_text())["results"]
    assert (record["status"], record["known"]) == ("diverge", True)


@pytest.mark.parametrize(("backend", "given", "says"), [
    ("toyext.backend:BadClause", None, "bad-clause.yaml:3: clause 'model.no-such-clause': no such clause"),
    ("toyext.backend:BadBackend", None,
     "bad-backend.yaml:3: clause 'model.flatten-dense-parameters': this registry ships with the adapter "
     "'toy-bad-backend', so its entries are for 'toy-bad-backend', not 'keras-jax'"),
    ("toyext.backend:Missing", None, "no-such.yaml: no such file: the adapter 'toy-missing-registry'"),
    ("toy-bare", "given.yaml", "given.yaml:3: clause 'model.nope': no such clause"),
    ("toy-bare", "absent.yaml", "absent.yaml: --divergences: no such file"),
])
def test_a_broken_registry_that_comes_with_a_run_stops_it_naming_the_file(site, tmp_path, backend, given, says):
    (tmp_path / "given.yaml").write_text(toy.registry("toy-bare", clause="model.nope"))
    proc = run(site, tmp_path, "--backend", backend, *(["--divergences", given] if given else []))
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert says in proc.stderr


def test_an_unknown_name_lists_the_entry_points_too(site, tmp_path):
    proc = run(site, tmp_path, "--backend", "nope")
    assert proc.returncode == 4
    assert "unknown backend 'nope'; known: reference" in proc.stderr and "toy-bare, toy-ext" in proc.stderr


# -- errata are about the document's own frameworks (item 2) --------------------------------------
KERAS = ("keras-tensorflow", "keras-jax", "keras-torch", "tf-keras")
WARNING = "UserWarning: Argument `input_length` is deprecated."


def _errata_run(backend: str) -> dict:
    """One backend's results file (with the reference), in a scenario where Keras, torch and a
    third-party flax-nnx diverge in different places."""
    from tests.report_fixtures import document, result

    def status(clause, b):
        return {"c.flax-only": {"flax-nnx": "diverge"},
                "c.torch-and-flax": {"torch": "diverge", "flax-nnx": "diverge"},
                "c.every-keras": {**dict.fromkeys(KERAS, "diverge"), "flax-nnx": "diverge"},
                "doc.flax-error": {"flax-nnx": "error", "torch": "unsupported"}}.get(clause, {}).get(b, "conform")

    rows = [result(c, b, status(c, b), reason=None if status(c, b) == "conform" else f"{b} differs",
                   document_code=c.startswith("doc."),
                   warnings=[WARNING] if (c, b) == ("doc.keras-warns", "keras-jax") else [])
            for c in ("c.flax-only", "c.torch-and-flax", "c.every-keras", "doc.flax-error", "doc.keras-warns")
            for b in ("reference", backend)]
    doc = document(rows)
    if backend == "flax-nnx":
        doc["backends"][backend]["framework"] = "flax"
    return doc


def _errata(backend_names) -> dict:
    from conformance.report import matrix
    from conformance.report.load import merge

    doc = merge([(f"{b}.json", _errata_run(b)) for b in backend_names])
    found = matrix.build(doc)["errata"]
    return {kind: [(e["row"]["id"], [x["backend"] for x in e["entries"]]) for e in found[kind]]
            for kind in ("all_diverge", "document_code")}


def test_a_report_of_one_framework_the_document_does_not_describe_lists_no_errata():
    assert _errata(["flax-nnx"]) == {"all_diverge": [], "document_code": []}
    assert _errata(["torch"]) == {"all_diverge": [], "document_code": []}


def test_a_merged_report_of_every_backend_lists_the_errata_of_the_keras_only_report():
    keras_only = _errata(KERAS)
    assert keras_only == {"all_diverge": [("c.every-keras", list(KERAS))],
                          "document_code": [("doc.keras-warns", ["keras-jax"])]}
    assert _errata([*KERAS, "torch", "flax-nnx"]) == keras_only


def test_only_the_keras_declarations_describe_the_document():
    assert backends.document_frameworks() == {"keras", "tf-keras"}
    described = {d.name for d in backends.catalogue() if d.describes_document}
    assert described == set(KERAS)


# -- installed and source runs merge (item 6) ------------------------------------------------------
def _run_reading(spec_file: str, backend: str) -> dict:
    from tests.report_fixtures import document, result

    meta = {"section": "Vector matrix", "level": "normative", "claim": "Rows are rows.",
            "document_code": False, "file": spec_file}
    return document([result("lookup.rows", "reference"), result("lookup.rows", backend)],
                    clauses={"lookup.rows": meta})


def test_an_installed_run_and_a_source_tree_run_merge_into_one_report(tmp_path):
    from conformance.report import render
    from conformance.report.load import ReportError, load_many
    from tests.report_fixtures import write

    installed = write(tmp_path / "installed.json", _run_reading("conformance/specs/03-vector-matrix.yaml", "torch"))
    source = write(tmp_path / "source.json", _run_reading("specs/03-vector-matrix.yaml", "keras-jax"))
    merged = load_many([installed, source])
    assert merged["clauses"]["lookup.rows"]["file"] == "specs/03-vector-matrix.yaml"
    assert {(r["clause"], r["backend"]) for r in merged["results"]} == {
        ("lookup.rows", "reference"), ("lookup.rows", "torch"), ("lookup.rows", "keras-jax")}
    render.write_report(merged, tmp_path / "report")
    assert "keras-jax" in (tmp_path / "report" / "report.md").read_text()
    # a clause read from another file is still another clause's metadata: refused
    other = write(tmp_path / "other.json", _run_reading("specs/04-regularization-and-constraints.yaml", "tf-keras"))
    with pytest.raises(ReportError, match="refusing to merge"):
        load_many([installed, other])


def test_a_clause_names_its_file_the_same_way_wherever_the_specs_were_read():
    from conformance.language.spec import load_all, spec_file_name

    assert spec_file_name("conformance/specs/divergences/torch.yaml") == "specs/divergences/torch.yaml"
    assert spec_file_name("specs/01-introduction.yaml") == "specs/01-introduction.yaml"
    assert {c.meta()["file"] for c in load_all()} == {f"specs/{p.name}" for p in (ROOT / "specs").glob("*.yaml")}


def test_xdist_schedules_a_third_party_by_the_cost_its_declaration_states(on_path):
    from types import SimpleNamespace

    from conformance.running import scheduling

    chosen = adapters.choose(["reference", "toy-ext"])
    options = {"tx": ["popen"] * 2, "dist": "load"}
    config = SimpleNamespace(getvalue=options.__getitem__, option=SimpleNamespace(loadscopereorder=True))
    sched = scheduling.make_scheduler(config, None, ["c.x"], chosen)
    assert sched.seconds_per_item["toy-ext"] == chosen["toy-ext"].seconds_per_item == 0.05
    assert sched.seconds_per_item["reference"] == scheduling.SECONDS_PER_ITEM["reference"]
