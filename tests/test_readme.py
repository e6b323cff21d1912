"""The README keeps its promises: the two commands, and the divergence table in sync with the registry."""
from pathlib import Path

from conformance.language import registry
from conformance.tools import registry_doc

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_readme_shows_the_two_fresh_machine_commands():
    text = README.read_text()
    assert "make conformance" in text and "make test" in text and "pytest conformance" in text
    makefile = (ROOT / "Makefile").read_text()
    assert "-m pytest conformance --json" in makefile and "-m pytest tests" in makefile


def test_divergence_table_is_generated_from_the_registry():
    assert registry_doc.current(README) == registry_doc.markdown(), (
        "README divergence table is stale: run python -m conformance divergences --update README.md")


def test_every_registered_divergence_has_reason_and_snippet():
    for entry in registry.load().values():
        assert len(entry.reason) > 40, entry
        assert entry.snippet and "import" in entry.snippet, f"{entry.backend}:{entry.clause} has no snippet"
