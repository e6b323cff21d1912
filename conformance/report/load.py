"""Reading, validating and merging results files.

Every file is validated against ``results.schema.json`` before it is used, so a report is never
built from a file of another schema. Merging is lossless: all backends, all clause metadata and
every result survive. Two results for the same clause x backend are accepted only when they are
the same observation (run time aside); otherwise the merge refuses, naming both files, because a
report that silently picked one of them would be lying about the other.

Completeness survives the merge too: each source keeps its ``complete``/``collected``/
``recorded``/``interrupted``, and the merged document is ``complete`` only when every source is
(a source that does not say leaves the merged completeness unknown, i.e. absent).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "results.schema.json"

# fields that may differ between two runs of the same observation
VOLATILE = frozenset({"duration"})


class ReportError(Exception):
    """Bad input for ``report``/``diff``; the message names the file."""


@lru_cache(maxsize=1)
def _validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def load(path) -> dict:
    """Read one results file; raise ReportError naming it if it is missing, not JSON or invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON: {exc}") from None
    expected = _validator().schema["properties"]["schema"]["const"]
    if isinstance(doc, dict) and "schema" in doc and doc["schema"] != expected:
        raise ReportError(f"{path}: schema is {doc['schema']!r}, this tool reads {expected!r}")
    error = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ReportError(f"{path}: does not match {SCHEMA_PATH.name} at {where}: {error.message}")
    return doc


def _canon(value) -> str:
    """A comparable form of any JSON value (NaN == NaN, key order ignored)."""
    return json.dumps(value, sort_keys=True, allow_nan=True)


def same_result(a: dict, b: dict) -> bool:
    strip = lambda r: {k: v for k, v in r.items() if k not in VOLATILE}  # noqa: E731
    return _canon(strip(a)) == _canon(strip(b))


def _merge_fields(kind, key, old, new, old_src, new_src) -> dict:
    """Union of two metadata dicts; a field set to different values in both is a conflict."""
    merged = dict(old)
    for field, value in new.items():
        if field not in merged or merged[field] is None:
            merged[field] = value
        elif value is not None and _canon(merged[field]) != _canon(value):
            raise ReportError(
                f"{new_src}: {kind} {key!r} has {field}={value!r} but {old_src} has "
                f"{field}={merged[field]!r}; refusing to merge results of different runs")
    return merged


def _merge_backend(name, old, new, old_src, new_src) -> dict:
    # A backend listed but not installed in one run and installed in another is not a conflict:
    # the installed description wins.
    old_ok = old.get("available", old.get("version") is not None)
    new_ok = new.get("available", new.get("version") is not None)
    if old_ok and not new_ok:
        return old
    if new_ok and not old_ok:
        return new
    return _merge_fields("backend", name, old, new, old_src, new_src)


def merge(docs) -> dict:
    """Merge ``[(source, doc), ...]`` into one results document (itself schema-valid).

    The result keeps the order of first appearance and records its inputs under ``sources``.
    """
    docs = list(docs)
    backends, clauses, results = {}, {}, []
    origin_backend, origin_clause, seen = {}, {}, {}
    sources = []
    for src, doc in docs:
        src = str(src)
        sources.append({"file": src, "generated": doc.get("generated"),
                        **{k: doc.get(k) for k in COMPLETENESS}})
        for name, info in doc.get("backends", {}).items():
            if name in backends:
                backends[name] = _merge_backend(name, backends[name], info,
                                                origin_backend[name], src)
            else:
                backends[name], origin_backend[name] = dict(info), src
        for cid, meta in doc.get("clauses", {}).items():
            if cid in clauses:
                clauses[cid] = _merge_fields("clause", cid, clauses[cid], meta,
                                             origin_clause[cid], src)
            else:
                clauses[cid], origin_clause[cid] = dict(meta), src
        for res in doc["results"]:
            key = (res["clause"], res["backend"])
            if key in seen:
                first, first_src = seen[key]
                if not same_result(first, res):
                    raise ReportError(
                        f"{src}: result for clause {key[0]!r} on backend {key[1]!r} "
                        f"(status {res['status']}) disagrees with the one in {first_src} "
                        f"(status {first['status']}); refusing to merge")
                continue
            seen[key] = (res, src)
            results.append(res)
    generated = [s["generated"] for s in sources if s["generated"]]
    merged = {"schema": _validator().schema["properties"]["schema"]["const"],
              "backends": backends, "clauses": clauses, "results": results, "sources": sources}
    if generated:
        merged["generated"] = max(generated)
    merged.update(_completeness(sources, docs))
    return merged


COMPLETENESS = ("complete", "collected", "recorded", "interrupted")


def _completeness(sources, docs) -> dict:
    """The merged document's completeness fields (see the module docstring)."""
    flags = [s["complete"] for s in sources]
    out: dict = {}
    if False in flags:
        out["complete"] = False
    elif flags and all(f is True for f in flags):
        out["complete"] = True
    for key in ("collected", "recorded"):
        if all(isinstance(s[key], int) for s in sources):
            out[key] = sum(s[key] for s in sources)
    reasons = [f"{s['file']}: {s['interrupted']}" for s in sources if s["interrupted"]]
    out["interrupted"] = "; ".join(reasons) or None
    out["missing"] = [m for _, doc in docs for m in doc.get("missing", [])]
    return out


def incomplete(doc: dict) -> list[dict]:
    """The sources of ``doc`` that are not known to be complete, for a report's banner.

    A document that is not a merge counts as its own single source."""
    sources = doc.get("sources") or [{"file": None, "generated": doc.get("generated"),
                                      **{k: doc.get(k) for k in COMPLETENESS}}]
    return [s for s in sources if s.get("complete") is not True]


def describe_incomplete(source: dict) -> str:
    """Why ``source`` cannot be read as a whole run, as a predicate: "<file> is INCOMPLETE: ..."."""
    if source.get("complete") is None:
        return ("does not say whether its run was complete (written before results files recorded "
                "it?); results may be missing")
    counts = ""
    if source.get("collected") is not None and source.get("recorded") is not None:
        counts = f"{source['recorded']} of {source['collected']} collected items recorded"
    reason = f"interrupted: {source['interrupted']}" if source.get("interrupted") else ""
    return "is INCOMPLETE: " + ("; ".join(x for x in (counts, reason) if x) or "not every item ran")


def load_many(paths) -> dict:
    """Load, validate and merge several files (also one file: duplicates inside it are checked)."""
    if not paths:
        raise ReportError("no results files given")
    return merge([(p, load(p)) for p in paths])
