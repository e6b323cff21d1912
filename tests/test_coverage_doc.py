"""docs/COVERAGE.md and the spec stay in step."""
import re
from pathlib import Path

from conformance.spec import load_all

COVERAGE = Path(__file__).resolve().parent.parent / "docs" / "COVERAGE.md"


def test_every_clause_is_traced_to_a_statement_and_every_traced_id_exists():
    listed = set(re.findall(r"`([a-z0-9]+(?:\.[a-z0-9-]+)+)`", COVERAGE.read_text()))
    ids = {c.id for c in load_all()}
    assert not ids - listed, f"clauses missing from docs/COVERAGE.md: {sorted(ids - listed)}"
    assert not listed - ids, f"docs/COVERAGE.md names unknown clauses: {sorted(listed - ids)}"
