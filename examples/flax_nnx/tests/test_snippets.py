"""Every divergence registered in flaxnnx_adapter/divergences.yaml is confirmed by its snippet, run
alone (Flax and JAX only, no suite, no adapter) in a fresh interpreter: each snippet asserts the
divergence it shows, so a Flax release that fixes one fails here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REGISTRY = Path(__file__).resolve().parent.parent / "flaxnnx_adapter" / "divergences.yaml"
ENTRIES = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))["divergences"]


def test_every_entry_has_reason_link_and_snippet():
    for entry in ENTRIES:
        assert entry.get("reason") and entry.get("link", "").startswith("https://"), entry["clause"]
        assert "assert " in entry.get("snippet", ""), f"{entry['clause']}: the snippet must assert what it shows"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["clause"] for e in ENTRIES])
def test_snippet_confirms_the_divergence(entry, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(entry["snippet"], encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, f"{entry['clause']}: the snippet failed\n{done.stdout}\n{done.stderr}"
