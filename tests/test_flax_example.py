"""examples/flax_nnx/, the worked third-party adapter, stays usable without Flax installed here: its
registry is valid for the suite's loader and names real clauses, its pins fit the suite's pinned JAX,
its entry point is the one docs/ADAPTERS.md shows, and importing its adapter imports no framework.
(Its snippets, which need Flax, are run by examples/flax_nnx/tests/test_snippets.py.)"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

import yaml

from conformance.language import registry
from conformance.language.spec import ROOT, load_all

EXAMPLE = ROOT / "examples" / "flax_nnx"
REGISTRY = EXAMPLE / "flaxnnx_adapter" / "divergences.yaml"


def test_the_registry_loads_with_the_suites_loader_and_names_real_clauses(tmp_path):
    shutil.copy(REGISTRY, tmp_path / "flax-nnx.yaml")
    entries = registry.load(tmp_path)
    clauses = {c.id for c in load_all()}
    assert entries and {e.backend for e in entries.values()} == {"flax-nnx"}
    for entry in entries.values():
        assert entry.clause in clauses, entry.clause
        assert entry.reason and entry.link and entry.snippet and entry.observed, entry.clause


def test_the_pins_fit_the_suites_pinned_jax():
    ours = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    suite = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    deps = set(ours["dependencies"])
    pinned = {d for d in suite["keras-jax"] if d.startswith(("jax==", "jaxlib=="))}
    assert len(pinned) == 2
    assert {d for d in deps if d.startswith(("jax==", "jaxlib=="))} == pinned
    assert any(d.startswith("flax==") for d in deps) and any(d.startswith("optax==") for d in deps)


def test_the_entry_point_and_the_declaration():
    ours = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    assert ours["entry-points"]["embedding_conformance.backends"] == {"flax-nnx": "flaxnnx_adapter.backend:FlaxNNX"}
    code = ("import sys; from flaxnnx_adapter.backend import FlaxNNX as F; d = F.declaration; "
            "print(d.name, d.framework, d.divergences, ','.join(d.requires), F.name); "
            "print(sorted(m for m in ('flax', 'jax', 'optax') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=EXAMPLE,
                          env={"PYTHONPATH": f"{EXAMPLE}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["flax-nnx flax divergences.yaml flax,jax flax-nnx", "[]"]
    assert yaml.safe_load(REGISTRY.read_text())["backends"] == ["flax-nnx"]
