"""docs/COVERAGE.md, the spec and the tutorial stay in step: every quote is the tutorial's own
text, every normative clause quotes it and is traced to a quoted row, every extension is listed
as such, and every id exists."""
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

from conformance.language.spec import load_all

ROOT = Path(__file__).resolve().parent.parent
COVERAGE = ROOT / "docs" / "COVERAGE.md"
TUTORIAL = "embedding-layer-in-keras.txt"
ID = re.compile(r"`([a-z0-9]+(?:\.[a-z0-9-]+)+)`")
LOCK = ROOT / "docs" / "quotes.lock.json"
QUOTED_TABLE = "| the document, verbatim |"
EXTENSION_TABLE = "| extension clause |"


def normalise(text: str) -> str:
    return " ".join(text.split())


def tutorial_path() -> Path | None:
    """The tutorial sits next to the repository, in ../shared/source/ (a checkout whose parent
    directory holds shared/); a worktree nested deeper finds it further up. EMBEDDING_TUTORIAL
    overrides the lookup."""
    if os.environ.get("EMBEDDING_TUTORIAL"):
        return Path(os.environ["EMBEDDING_TUTORIAL"])
    for parent in ROOT.parents:
        candidate = parent / "shared" / "source" / TUTORIAL
        if candidate.is_file():
            return candidate
    return None


def load_tutorial() -> str:
    """The tutorial's text, whitespace normalised; skips (with the reason) when it is absent."""
    path = tutorial_path()
    if path is None or not path.is_file():
        pytest.skip(f"the tutorial {TUTORIAL} is not in ../shared/source/ (nor above "
                    f"{ROOT.parent}), and EMBEDDING_TUTORIAL is not set: quotes cannot be checked")
    return normalise(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tutorial() -> str:
    return load_tutorial()


def tables(text: str) -> dict[str, list[tuple[str, str]]]:
    """Rows (first cell, second cell) of the quoted tables and of the extension table."""
    found = {QUOTED_TABLE: [], EXTENSION_TABLE: []}
    current = None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        if line.startswith((QUOTED_TABLE, EXTENSION_TABLE)):
            current = QUOTED_TABLE if line.startswith(QUOTED_TABLE) else EXTENSION_TABLE
            continue
        if current is None or line.startswith("|---"):
            continue
        first, second = (cell.strip() for cell in line.strip().strip("|").split("|", 1))
        found[current].append((first, second))
    return found


def quoted_rows(text: str) -> list[tuple[str, set[str]]]:
    rows = []
    for first, second in tables(text)[QUOTED_TABLE]:
        assert first.startswith("`") and first.endswith("`") and first.count("`") == 2, (
            f"docs/COVERAGE.md: a quote is one code span: {first}")
        rows.append((normalise(first[1:-1]), set(ID.findall(second))))
    return rows


def misquoted(quotes, document: str) -> list[str]:
    return [q for q in quotes if normalise(q) not in document]


CLAUSES = load_all()


def test_every_clause_is_traced_and_every_traced_id_exists():
    listed = set(ID.findall(COVERAGE.read_text()))
    ids = {c.id for c in CLAUSES}
    assert not ids - listed, f"clauses missing from docs/COVERAGE.md: {sorted(ids - listed)}"
    assert not listed - ids, f"docs/COVERAGE.md names unknown clauses: {sorted(listed - ids)}"


def test_every_quote_in_the_coverage_document_is_the_tutorials_text(tutorial):
    rows = quoted_rows(COVERAGE.read_text())
    assert len(rows) >= 40
    bad = misquoted([q for q, _ in rows], tutorial)
    assert not bad, f"docs/COVERAGE.md quotes text the tutorial does not contain: {bad}"


def test_every_normative_clause_quotes_the_tutorial(tutorial):
    bad = {c.id: misquoted(c.quote, tutorial) for c in CLAUSES if c.normative}
    assert all(c.quote for c in CLAUSES if c.normative)
    assert not {k: v for k, v in bad.items() if v}, "normative quotes not in the tutorial"


def test_every_normative_clause_is_in_a_quoted_row_and_every_extension_is_listed_apart():
    rows = quoted_rows(COVERAGE.read_text())
    in_quoted = set().union(*(ids for _, ids in rows))
    normative = {c.id for c in CLAUSES if c.normative}
    assert not normative - in_quoted, f"normative clauses without a quoted row: {sorted(normative - in_quoted)}"
    extensions_listed = {ID.fullmatch(first).group(1) for first, _ in
                         tables(COVERAGE.read_text())[EXTENSION_TABLE]}
    extensions = {c.id for c in CLAUSES if c.level == "extension"}
    assert extensions_listed == extensions
    assert not extensions & in_quoted, "an extension is presented as something the document says"


def test_the_checks_catch_a_misquote_and_ignore_line_breaks():
    document = normalise("It is mandatory to specify the vocabulary\n size VOC_SIZE")
    assert misquoted(["mandatory to specify the   vocabulary size"], document) == []
    assert misquoted(["mandatory to give the vocabulary size"], document) == [
        "mandatory to give the vocabulary size"]
    rows = quoted_rows(f"{QUOTED_TABLE} clauses |\n|---|---|\n| `a  b` | `x.y`, silent: `c.d` |\n")
    assert rows == [("a b", {"x.y", "c.d"})]


def test_without_the_tutorial_the_quote_tests_skip_and_say_why(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDDING_TUTORIAL", str(tmp_path / "absent.txt"))
    assert not tutorial_path().is_file()
    with pytest.raises(pytest.skip.Exception, match="quotes cannot be checked"):
        load_tutorial()


# -- the lock: quotes verified against the tutorial, for checkouts without it ---------------------
# A clone without ../shared/source/ cannot read the tutorial. docs/quotes.lock.json records every
# quote (COVERAGE.md rows and normative clauses) as verified against the tutorial with a given
# SHA-256; there, a quote that is not in the lock fails (it was never checked against the text).
# Refresh it, with the tutorial present, with: python -m tests.test_coverage_doc --update-lock
def current_quotes() -> list[str]:
    quotes = {q for q, _ in quoted_rows(COVERAGE.read_text())}
    quotes |= {normalise(q) for c in CLAUSES if c.normative for q in c.quote}
    return sorted(quotes)


def tutorial_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_quote_was_verified_against_the_tutorial_even_without_it():
    lock = json.loads(LOCK.read_text())
    unverified = sorted(set(current_quotes()) - set(lock["quotes"]))
    assert not unverified, ("quotes never checked against the tutorial (refresh docs/quotes.lock.json with "
                            f"the tutorial present: python -m tests.test_coverage_doc --update-lock): {unverified}")


def test_the_lock_is_current_where_the_tutorial_is_present(tutorial):
    lock = json.loads(LOCK.read_text())
    assert lock["tutorial_sha256"] == tutorial_digest(tutorial_path()), (
        "the tutorial changed since docs/quotes.lock.json was written: re-verify and refresh it")
    assert lock["quotes"] == current_quotes(), "docs/quotes.lock.json is stale: refresh it"
    assert not misquoted(lock["quotes"], tutorial)


def update_lock() -> int:
    path = tutorial_path()
    if path is None or not path.is_file():
        print("the tutorial is needed to verify the quotes; set EMBEDDING_TUTORIAL", file=sys.stderr)
        return 2
    document = normalise(path.read_text(encoding="utf-8"))
    quotes = current_quotes()
    bad = misquoted(quotes, document)
    if bad:
        print(f"not the tutorial's text, not locked: {bad}", file=sys.stderr)
        return 1
    LOCK.write_text(json.dumps({"tutorial": TUTORIAL, "tutorial_sha256": tutorial_digest(path),
                                "quotes": quotes}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{LOCK.relative_to(ROOT)}: {len(quotes)} quotes verified")
    return 0


if __name__ == "__main__" and sys.argv[1:] == ["--update-lock"]:
    sys.exit(update_lock())
