"""From a merged results document to the tables a report shows.

Everything here is plain data (dicts and lists) so the templates stay dumb and the tests can
check the numbers without parsing HTML.
"""
from __future__ import annotations

import json
import re

from packaging.version import InvalidVersion, Version

import backends
from backends import DEFAULT_ORDER
from conformance.judging.outcome import refused_text
from conformance.judging.status import classify_record

from . import releases
from .load import column_finder, columns, describe_incomplete, incomplete

REFERENCE = "reference"
BACKEND_ORDER = DEFAULT_ORDER  # the order the adapters declare (backends/base.py, Declaration)
SECTION_ORDER = ("Introduction", "Embedding in Keras", "Vector matrix",
                 "Regularization and constraints", "Interaction with Dense and RNN",
                 "Input masking")
NOT_APPLICABLE = ("skip", "unsupported")
MAX_VALUE_CHARS = 2000

# cell category -> (text, symbol); the category is also the CSS class suffix
CATEGORIES = {
    "conform": ("conform", "\u2714"),
    # conforms only through what the adapter computed by hand (the record's ``emulation``)
    "emulated": ("emulated by the adapter", "\u25d0"),
    "diverge-known": ("diverge (known)", "\u2248"),
    "diverge-new": ("diverge (new)", "\u2718"),
    "error": ("error", "!"),
    "unsupported": ("unsupported", "\u2013"),
    "skip": ("skip", "\u00b7"),
    "missing": ("not run", "\u2205"),
    # characterization clauses (the document is silent): what the backend did, vs the reference
    "recorded": ("as the reference", "="),
    "differs": ("differs from the reference", "\u2260"),
}


def category(result: dict | None) -> str:
    """The cell's key in CATEGORIES (conformance/judging/status.py classifies every record)."""
    return classify_record(result).category.value


def _ordered(names, order):
    rank = {n: i for i, n in enumerate(order)}
    return sorted(names, key=lambda n: (rank.get(n, len(order)), n))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


def show(value) -> str:
    """A JSON value as compact text for people; long values are cut (the merged JSON has all)."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, allow_nan=True, default=str)
    if len(text) > MAX_VALUE_CHARS:
        text = f"{text[:MAX_VALUE_CHARS]}\u2026 ({len(text)} chars; see results.json)"
    return text


def level_score(results, level: str) -> tuple[int, int]:
    """(conforming, applicable) over the results of one level; skip/unsupported are not
    applicable. Only what the framework computed conforms: an ``emulated`` result (the adapter
    computed the value by hand) is applicable but not conforming, and counted by
    :func:`level_emulated`."""
    applicable = [r for r in results if r["level"] == level and r["status"] not in NOT_APPLICABLE]
    return sum(r["status"] == "conform" for r in applicable), len(applicable)


def level_emulated(results, level: str) -> int:
    """How many results of one level conform only through the adapter's emulation."""
    return sum(r["level"] == level and r["status"] == "emulated" for r in results)


def normative_score(results) -> tuple[int, int]:
    """(conforming, applicable) over normative results: what the document says."""
    return level_score(results, "normative")


def extension_score(results) -> tuple[int, int]:
    """(conforming, applicable) over extension results: standard behaviour beyond the text,
    judged like normative clauses but never counted as conformance to the document."""
    return level_score(results, "extension")


def _version_key(version):
    try:
        return (0, Version(str(version)), "")
    except InvalidVersion:
        return (1, Version("0"), str(version))


def column_list(doc: dict, results) -> list[dict]:
    """The report's columns: one per backend and release, in the canonical backend order, then
    oldest release first (a nightly after the release it builds on).

    Each column is the backend's info plus ``key`` (its key in ``backends``, and in every
    ``cells`` dict), ``name`` (the backend), ``label`` (the name, with the version when the
    backend has several releases or is a nightly, which is also marked), ``nightly`` and
    ``release_label`` (framework and version, as "since" texts name a release)."""
    cols = dict(columns(doc))
    find = column_finder(doc)
    for r in results:
        key = find(r)
        if key not in cols:
            cols[key] = (r["backend"], None, {})
    per_name: dict = {}
    for name, _, _ in cols.values():
        per_name[name] = per_name.get(name, 0) + 1
    out = []
    for key, (name, rel, info) in cols.items():
        version = info.get("version")
        nightly = releases.is_nightly(version, rel)
        label = name
        if version is not None and (per_name[name] > 1 or nightly):
            label += f" {version}"
        elif per_name[name] > 1:
            label = key  # a release without a version (not installed, or not listed): its key says which
        if nightly:
            label += " (nightly)"
        framework = info.get("framework") or name
        out.append({**{k: v for k, v in info.items() if k != "backend"}, "key": key, "name": name,
                    "label": label, "nightly": nightly,
                    "release_label": releases.release_label(framework, version, nightly, key)})
    rank = {n: i for i, n in enumerate(BACKEND_ORDER)}
    return sorted(out, key=lambda c: (rank.get(c["name"], len(rank)), c["name"], _version_key(c.get("version")),
                                      c["nightly"], c["key"]))


def build(doc: dict) -> dict:
    """Compute matrix rows, per-backend summary, errata, coverage and characterization."""
    results = doc["results"]
    cols = column_list(doc, results)
    backends = [c["key"] for c in cols]
    find = column_finder(doc)
    clauses = {}
    for r in results:  # metadata from results first, then the clauses table overrides
        clauses.setdefault(r["clause"], {"section": r["section"], "level": r["level"],
                                         "claim": r.get("claim", "")})
        if r.get("document_code"):
            clauses[r["clause"]]["document_code"] = True
    for cid, meta in doc.get("clauses", {}).items():
        clauses.setdefault(cid, {}).update(meta)
    by_key = {(r["clause"], find(r)): r for r in results}
    anchors = set()

    rows = []
    for cid, meta in clauses.items():
        cells = {}
        for b in backends:
            res = by_key.get((cid, b))
            cat = category(res)
            anchor = None
            if res is not None:
                anchor = base = f"r-{_slug(cid)}--{_slug(b)}"
                n = 1
                while anchor in anchors:
                    n += 1
                    anchor = f"{base}-{n}"
                anchors.add(anchor)
            text = CATEGORIES[cat][0]
            if cat in ("recorded", "differs") and res.get("behaviour"):
                text = res["behaviour"]
            cells[b] = {"result": res, "category": cat, "text": text,
                        "symbol": CATEGORIES[cat][1], "anchor": anchor,
                        "examples": res.get("examples") if res else None,
                        "drawn": drawn_text(res.get("drawn")) if res else None,
                        "refused": refused_text(res.get("refused"), res.get("examples")) if res else None,
                        "refused_count": ((res.get("refused") or {}).get("count") or 0) if res else 0,
                        "example": show(res["example"]) if res and res.get("example") else None,
                        "expected": show(res["expected"]) if res else None,
                        "observed": show(res["observed"]) if res else None}
        rows.append({"id": cid, "anchor": f"c-{_slug(cid)}", "section": meta.get("section", ""),
                     "level": meta.get("level", ""), "claim": meta.get("claim", ""),
                     "quote": list(meta.get("quote") or []),
                     "document_code": bool(meta.get("document_code")), "cells": cells})
    section_names = _ordered({r["section"] for r in rows}, SECTION_ORDER)
    # within a section, clauses keep the order of the results (the spec's order)
    sections = [{"name": s, "rows": [r for r in rows if r["section"] == s]}
                for s in section_names]
    rows = [r for s in sections for r in s["rows"]]
    return {
        "backends": cols,
        "sections": sections,
        "summary": summary(rows, backends),
        "errata": errata(rows, cols),
        "early_warnings": [{**w, "facts": by_fact(w["entries"])} for w in releases.early_warnings(rows, cols)],
        "coverage": coverage(sections, backends),
        "characterization": characterization(rows, cols),
        "releases": releases.releases_run(cols),
        "sources": doc.get("sources", []),
        "generated": doc.get("generated"),
        "drawing": drawing(results),
        "incomplete": [{"file": s["file"] or "this results file", "text": describe_incomplete(s)}
                       for s in incomplete(doc)],
    }


def drawing(results) -> list[dict]:
    """How the drawn examples were drawn: per Hypothesis profile and seed, the backends and the
    number of examples run (a merged report may hold runs of several seeds)."""
    runs: dict = {}
    for r in results:
        if r.get("examples") is None or r.get("profile") is None:
            continue
        run = runs.setdefault((r["profile"], r.get("seed"), r.get("max_examples")), {
            "profile": r["profile"], "seed": r.get("seed"), "max_examples": r.get("max_examples"),
            "backends": [], "examples": 0, "cells": 0})
        if r["backend"] not in run["backends"]:
            run["backends"].append(r["backend"])
        run["examples"] += r["examples"]
        run["cells"] += 1
    return list(runs.values())


def summary(rows, backends) -> dict:
    out = {}
    for b in backends:
        cells = [r["cells"][b] for r in rows]
        counts = {cat: sum(c["category"] == cat for c in cells) for cat in CATEGORIES}
        ran = [c["result"] for c in cells if c["result"]]
        conform, applicable = normative_score(ran)
        ext_conform, ext_applicable = extension_score(ran)
        out[b] = {"counts": counts, "normative_conform": conform,
                  "normative_applicable": applicable, "extension_conform": ext_conform,
                  "extension_applicable": ext_applicable,
                  "normative_emulated": level_emulated(ran, "normative"),
                  "extension_emulated": level_emulated(ran, "extension")}
    return out


def _warnings(res) -> list[str]:
    found = res.get("warnings") or []
    return [str(w) for w in found] if isinstance(found, list) else [str(found)]


def _entry(column, cell, text=None, since=None):
    res = cell["result"]
    return {"backend": column["label"], "category": cell["category"], "text": text or cell["text"],
            "reason": res.get("reason"), "link": res.get("link"), "anchor": cell["anchor"],
            "warnings": _warnings(res), "since": since, "nightly": column["nightly"]}


def errata(rows, cols) -> dict:
    """(a) normative clauses on which every framework of the document that ran them diverges;
    (b) clauses running the document's own code that diverge, error or warn on one of them.

    The frameworks of the document are the ones it describes, Keras (the built-in declarations
    that say ``describes_document``: backends.document_frameworks()), read from each column's
    ``framework``: a statement is not an erratum of the tutorial because another framework
    behaves otherwise, and other frameworks' divergences are theirs, shown in the matrix.

    "Ran" excludes skip, unsupported and missing results. Results carry the framework's
    warnings (e.g. a deprecated argument the tutorial uses) in an optional ``warnings`` list
    (``framework_warnings``, raised inside a framework's own code, never count).

    A framework run at several releases is judged on its newest release that ran the clause, a
    nightly only when no release did (a nightly's news are early warnings, see releases.py);
    each entry says since which release its state holds (``since``).

    Each erratum has its ``entries`` (one per backend) and the same grouped by fact (``facts``,
    see :func:`by_fact`), which the report shows.
    """
    real = [c for c in cols if c["name"] != REFERENCE and _of_document(c)]
    all_diverge, doc_code = [], []
    for row in rows:
        current = releases.current(row, real)
        ran = {name: (col, row["cells"][col["key"]]) for name, col in current.items()}
        since = {name: releases.since(row, [c for c in real if c["name"] == name]) for name in ran}
        if (row["level"] == "normative" and ran
                and all(c["result"]["status"] == "diverge" for _, c in ran.values())):
            listed = [_entry(col, c, since=since[n]) for n, (col, c) in ran.items()]
            all_diverge.append({"row": row, "ran": len(ran), "entries": listed, "facts": by_fact(listed)})
        if row["document_code"]:
            bad = []
            for name, (col, c) in ran.items():
                if c["result"]["status"] in ("diverge", "error"):
                    bad.append(_entry(col, c, since=since[name]))
                elif _warnings(c["result"]):
                    bad.append(_entry(col, c, text=f"{c['text']}, warns", since=since[name]))
            if bad:
                doc_code.append({"row": row, "entries": bad, "facts": by_fact(bad)})
    return {"all_diverge": all_diverge, "document_code": doc_code}


def _of_document(column) -> bool:
    """Whether the column's framework is one the document describes (a results file that does not
    say a built-in backend's framework: its declaration's)."""
    builtin = backends.builtin().get(column["name"])
    framework = column.get("framework") or (builtin.declaration.framework if builtin else None)
    return framework in backends.document_frameworks()


FACT_KEYS = ("category", "text", "since", "reason", "link", "warnings", "nightly", "was")


def by_fact(entries) -> list[dict]:
    """Entries that say the same (state, since, reason, link, warnings) on several backends, as
    one fact naming them all, in the order the backends come: a divergence registered once for
    the three Keras 3 backends reads once, not three times. Each backend keeps its ``label`` and
    the ``anchor`` of its cell."""
    facts: dict = {}
    for entry in entries:
        key = json.dumps([entry.get(k) for k in FACT_KEYS], sort_keys=True, default=str)
        fact = facts.setdefault(key, {**{k: entry.get(k) for k in FACT_KEYS}, "backends": []})
        fact["backends"].append({"label": entry["backend"], "anchor": entry["anchor"]})
    return list(facts.values())


def coverage(sections, backends) -> list:
    out = []
    for s in sections:
        per = {}
        for b in backends:
            res = [r["cells"][b]["result"] for r in s["rows"]]
            ran = [x for x in res if x is not None and x["status"] not in NOT_APPLICABLE]
            per[b] = {"conform": sum(x["status"] == "conform" for x in ran),
                      "emulated": sum(x["status"] == "emulated" for x in ran), "applicable": len(ran)}
        out.append({"section": s["name"], "clauses": len(s["rows"]), "backends": per})
    return out


def characterization(rows, cols) -> list:
    """Each characterization clause with every column's behaviour.

    ``disagree`` is set when two columns that ran the clause behaved differently, or one of
    them reports that it does not agree with the reference. ``since`` says, for each backend
    run at several releases, from which release on its behaviour holds.
    """
    out = []
    for row in rows:
        if row["level"] != "characterization":
            continue
        seen, disagree, per = set(), False, {}
        for col in cols:
            b = col["key"]
            res = row["cells"][b]["result"]
            behaviour = res.get("behaviour") if res else None
            per[b] = {"behaviour": behaviour, "agrees": res.get("agrees") if res else None,
                      "category": row["cells"][b]["category"], "text": row["cells"][b]["text"],
                      "anchor": row["cells"][b]["anchor"]}
            if res is None or res["status"] in NOT_APPLICABLE:
                continue
            if behaviour is not None:
                seen.add(behaviour.strip())
            if res.get("agrees") is False:
                disagree = True
        since = []
        for name in dict.fromkeys(c["name"] for c in cols if c["name"] != REFERENCE):
            mine = [c for c in cols if c["name"] == name]
            if len(mine) > 1 and (text := releases.since(row, mine, with_state=True)):
                since.append({"backend": name, "text": text})
        out.append({"row": row, "backends": per, "disagree": disagree or len(seen) > 1, "since": since})
    return out


def drawn_text(drawn: dict | None) -> str | None:
    """How a cell's drawn examples went, in words; None where the record does not say (not drawn,
    or a results file written before the counts were recorded)."""
    if not drawn:
        return None
    return (f"{drawn['conform']} conformed, {drawn['known']} diverged as registered, "
            f"{drawn['other']} diverged otherwise")
