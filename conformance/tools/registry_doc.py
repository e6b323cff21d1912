"""The table of known divergences in docs/DIVERGENCES.md, generated from specs/divergences/*.yaml so
that the page and the registry never drift apart (tests/test_readme.py checks the page holds exactly
this text). One row per registered fact: an entry that holds on several backends (keras3.yaml) is one
row naming them all, with its reason, pins and snippet once."""
from __future__ import annotations

import re

import yaml

from backends import DEFAULT_ORDER
from conformance.language import registry
from conformance.language.spec import load_all
from conformance.tools import blocks

START, END = "<!-- divergences:start -->", "<!-- divergences:end -->"
DOC = "docs/DIVERGENCES.md"  # the page holding the block, from the repository root


def _anchor(group) -> str:
    first = group[0]
    releases = "".join({"<": "lt", ">": "gt", "=": "eq", "!": "ne", "~": "compat", ",": "-"}.get(ch, ch)
                       for ch in first.releases or "")
    who = first.backend if len(group) == 1 else first.path.stem  # e.g. keras3, the file of the backends
    text = f"{who}-{first.clause}" + (f"-{releases}" if releases else "")
    return re.sub(r"[^a-z0-9-]", "", text.replace(".", "-").lower())


def _backends(group) -> str:
    """The backends, and the releases when the fact holds for some only."""
    releases = group[0].releases
    return ", ".join(e.backend for e in group) + (f" ({releases})" if releases else "")


def _flow(check: dict) -> str:
    """A check as one line of YAML flow style, as written in the registry."""
    return yaml.safe_dump(check, default_flow_style=True, sort_keys=False, width=10**6).strip()


def _pins(group) -> list[str]:
    """What the fact pins: once where every backend is pinned alike, else per backend."""
    head = "Pinned (the run fails with \"known divergence changed\" if this stops holding)"
    flows = {e.backend: "; ".join(f"`` {_flow(check)} ``" for check in e.observed) for e in group if e.observed}
    if len(set(flows.values())) <= 1:
        return [f"{head}: {next(iter(flows.values()))}", ""] if flows else []
    return [f"{head}:", ""] + [f"- on {backend}: {flow}" for backend, flow in flows.items()] + [""]


def _snippet(group) -> list[str]:
    """The snippet as run on the first backend; where the others' differ, through the file's
    variables, which values they fill in."""
    first = group[0]
    if not first.snippet:
        return []
    lines = ["```python", first.snippet.rstrip(), "```", ""]
    others = [e for e in group[1:] if e.snippet != first.snippet]
    if others:  # the variables that tell them apart, as "name = value"
        names = {k for e in others for k, v in e.variables if dict(first.variables).get(k) != v}
        said = lambda e: ", ".join(f"`{k} = {v}`" for k, v in e.variables if k in names)  # noqa: E731
        lines += [f"Shown for {first.backend} ({said(first)}); " + "; ".join(
            f"on {e.backend}, {said(e)}" for e in others) + ".", ""]
    return lines


def markdown() -> str:
    entries = registry.load()
    clauses = {c.id: c for c in load_all()}
    rank = {name: n for n, name in enumerate(DEFAULT_ORDER)}
    order = {cid: n for n, cid in enumerate(clauses)}
    groups = [sorted(g, key=lambda e: rank.get(e.backend, 99)) for g in registry.by_fact(entries)]
    groups.sort(key=lambda g: (rank.get(g[0].backend, 99), order.get(g[0].clause, 0)))
    anchors: dict = {}
    for group in groups:  # an anchor per fact, numbered where two would read alike
        base = _anchor(group)
        anchors[id(group)] = base if base not in anchors.values() else f"{base}-{len(anchors)}"
    extensions = sum(clauses[g[0].clause].level == "extension" for g in groups if g[0].clause in clauses)
    lines = [f"{len(groups)} registered divergences (`specs/divergences/`; {len(entries)} counting each backend "
             f"a fact holds on), {extensions} of them on extension clauses", "(standard behaviour beyond the "
             "document's text). Each shows as an expected failure, and fails", "the run if it starts to conform.",
             "", "| Backends | Clause | Level | Section | Why | Upstream |", "|---|---|---|---|---|---|"]
    for group in groups:
        e = group[0]
        section = clauses[e.clause].section if e.clause in clauses else "?"
        level = clauses[e.clause].level if e.clause in clauses else "?"
        link = f"[link]({e.link})" if e.link else ""
        reason = e.reason.replace("|", "\\|")
        lines.append(f"| {_backends(group)} | [`{e.clause}`](#{anchors[id(group)]}) | {level} | {section} | "
                     f"{reason} | {link} |")
    lines.append("")
    for group in groups:
        lines += [f'<a id="{anchors[id(group)]}"></a>', f"**{_backends(group)}: `{group[0].clause}`**", ""]
        lines += _pins(group) + _snippet(group)
    return "\n".join(lines).rstrip() + "\n"


def update(path) -> bool:
    """Rewrite the block between the markers; returns True when the file changed."""
    return blocks.rewrite(path, START, END, markdown())


def current(path) -> str:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return text.split(START, 1)[1].split(END, 1)[0].lstrip("\n") if START in text else ""
