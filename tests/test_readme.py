"""The README keeps its promises: short, the two commands, every link into docs/ resolving; and the
divergence table of docs/DIVERGENCES.md in sync with the registry."""
import re
from pathlib import Path

from conformance.language import registry
from conformance.tools import registry_doc

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DIVERGENCES = ROOT / registry_doc.DOC
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_shows_the_two_fresh_machine_commands():
    text = README.read_text()
    assert "make conformance" in text and "make test" in text and "pytest conformance" in text
    makefile = (ROOT / "Makefile").read_text()
    assert "-m pytest conformance --json" in makefile and "-m pytest tests" in makefile


def test_readme_is_read_in_five_minutes():
    lines = README.read_text().count("\n")
    assert lines <= 300, f"README.md has {lines} lines: move the detail to a page under docs/"


def test_readme_links_resolve():
    text = README.read_text()
    local = [link for link in LINK.findall(text) if not re.match(r"[a-z]+:", link)]
    assert len(local) >= 10
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else README
        assert target.exists(), f"README links to {link}, which does not exist"
        if anchor and target == DIVERGENCES:
            assert f'<a id="{anchor}"></a>' in target.read_text(), (
                f"README links to {link}: no such anchor in {registry_doc.DOC}")


def test_every_docs_page_is_linked_from_the_readme():
    linked = {link.partition("#")[0] for link in LINK.findall(README.read_text())}
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} | {"CONTRIBUTING.md"}
    assert pages - linked == set(), "docs pages the README does not link to"


def test_divergence_table_is_generated_from_the_registry():
    assert registry_doc.current(DIVERGENCES) == registry_doc.markdown(), (
        f"{registry_doc.DOC}'s divergence table is stale: "
        f"run python -m conformance divergences --update {registry_doc.DOC}")


def test_every_registered_divergence_has_reason_and_snippet():
    for entry in registry.load().values():
        assert len(entry.reason) > 40, entry
        assert entry.snippet and "import" in entry.snippet, f"{entry.backend}:{entry.clause} has no snippet"


def test_the_findings_table_is_what_the_snapshot_says():
    """Not copied by hand: generated from the snapshot's results files, docs/latest/*.json (python -m
    conformance report docs/latest/results.json docs/latest/flax-nnx.json --output docs/latest
    --readme README.md)."""
    from conformance.report import findings, load_many
    from conformance.tools import blocks

    latest = ROOT / "docs" / "latest"  # the six built-in columns first, as the report command is given them
    snapshot = load_many([str(latest / "results.json")] + [str(p) for p in sorted(latest.glob("*.json"))
                                                           if p.name != "results.json"])
    assert blocks.current(README, findings.START, findings.END) == findings.table(snapshot), (
        "README's findings table is stale: python -m conformance report docs/latest/results.json "
        "docs/latest/flax-nnx.json --output docs/latest --readme README.md")


def test_the_findings_table_counts_each_status(tmp_path):
    def record(backend, level, status, known=False, agrees=True):
        return {"clause": f"c{len(results)}", "backend": backend, "level": level, "status": status,
                "known": known, "agrees": agrees}
    from conformance.report import findings
    results = []
    for args in [("a", "normative", "conform"), ("a", "normative", "diverge", True),
                 ("a", "normative", "emulated"), ("a", "extension", "unsupported"),
                 ("a", "characterization", "conform", False, False), ("a", "characterization", "skip")]:
        results.append(record(*args))
    text = findings.table({"results": results, "backends": {"a": {}}, "generated": "2030-01-02T00:00",
                           "hypothesis": {"profile": "thorough", "seed": 3}})
    assert "snapshot of 2030-01-02, `thorough` profile, seed 3" in text
    assert text.splitlines()[-1] == "| a | 1/3 conform, 1 emulated | 0/0 | 1 | 1 | 1 of 1 |"
