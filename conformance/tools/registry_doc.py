"""The table of known divergences in docs/DIVERGENCES.md, generated from specs/divergences/*.yaml
so that the two never drift apart (tests/test_readme.py checks the page holds exactly this text)."""
from __future__ import annotations

import re

import yaml

from backends import DEFAULT_ORDER
from conformance.language import registry
from conformance.language.spec import load_all
from conformance.tools import blocks

START, END = "<!-- divergences:start -->", "<!-- divergences:end -->"
DOC = "docs/DIVERGENCES.md"  # the page holding the block, from the repository root


def _anchor(entry) -> str:
    releases = "".join({"<": "lt", ">": "gt", "=": "eq", "!": "ne", "~": "compat", ",": "-"}.get(ch, ch)
                       for ch in entry.releases or "")
    text = f"{entry.backend}-{entry.clause}" + (f"-{releases}" if releases else "")
    return re.sub(r"[^a-z0-9-]", "", text.replace(".", "-").lower())


def _backend(entry) -> str:
    """The backend, and the releases when the entry holds for some only."""
    return entry.backend + (f" ({entry.releases})" if entry.releases else "")


def _flow(check: dict) -> str:
    """A check as one line of YAML flow style, as written in the registry."""
    return yaml.safe_dump(check, default_flow_style=True, sort_keys=False, width=10**6).strip()


def markdown() -> str:
    entries = registry.load()
    clauses = {c.id: c for c in load_all()}
    rank = {name: n for n, name in enumerate(DEFAULT_ORDER)}
    order = {cid: n for n, cid in enumerate(clauses)}
    ordered = sorted(entries.values(), key=lambda e: (rank.get(e.backend, 99), order.get(e.clause, 0)))
    extensions = sum(clauses[e.clause].level == "extension" for e in ordered if e.clause in clauses)
    lines = [f"{len(ordered)} registered divergences (`specs/divergences/`), {extensions} of them on "
             "extension clauses", "(standard behaviour beyond the document's text). Each shows as an "
             "expected failure, and fails", "the run if it starts to conform.", "",
             "| Backend | Clause | Level | Section | Why | Upstream |", "|---|---|---|---|---|---|"]
    for e in ordered:
        section = clauses[e.clause].section if e.clause in clauses else "?"
        level = clauses[e.clause].level if e.clause in clauses else "?"
        link = f"[link]({e.link})" if e.link else ""
        reason = e.reason.replace("|", "\\|")
        lines.append(f"| {_backend(e)} | [`{e.clause}`](#{_anchor(e)}) | {level} | {section} | {reason} | {link} |")
    lines.append("")
    for e in ordered:
        lines += [f'<a id="{_anchor(e)}"></a>', f"**{_backend(e)}: `{e.clause}`**", ""]
        if e.observed:
            lines += ["Pinned (the run fails with \"known divergence changed\" if this stops holding): "
                      + "; ".join(f"`` {_flow(check)} ``" for check in e.observed), ""]
        if e.snippet:
            lines += ["```python", e.snippet.rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def update(path) -> bool:
    """Rewrite the block between the markers; returns True when the file changed."""
    return blocks.rewrite(path, START, END, markdown())


def current(path) -> str:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return text.split(START, 1)[1].split(END, 1)[0].lstrip("\n") if START in text else ""
