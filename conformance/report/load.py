"""Reading, validating and merging results files.

Every file is validated against ``results.schema.json`` before it is used, so a report is never
built from a file of another schema. Merging is lossless: all backends, all clause metadata and
every result survive. Two results for the same clause x backend x release are accepted only when
they are the same observation (run time aside); otherwise the merge refuses, naming both files,
because a report that silently picked one of them would be lying about the other.

Runs of one backend at different releases (``release`` in the backend's info, e.g.
``keras-tensorflow@3.0.5+tensorflow-2.16.2``; ``name@version`` for files written before it) are
kept apart, as *columns*. A merged document keys ``backends`` by backend name while a backend
has one release in it, as a single run does; a backend with several releases gets one entry per
release, keyed by the release and naming the backend in ``backend``, and each of its results
says its ``release``. :func:`columns` and :func:`column_finder` read either form.

Completeness survives the merge too: each source keeps its ``complete``/``collected``/
``recorded``/``interrupted``, and the merged document is ``complete`` only when every source is
(a source that does not say leaves the merged completeness unknown, i.e. absent).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema

from conformance.language.spec import spec_file_name

SCHEMA_PATH = Path(__file__).resolve().parent / "results.schema.json"

# fields that may differ between two runs of the same observation
VOLATILE = frozenset({"duration"})
# A results file written by the plugin nests a few levels (an observation's arrays at most about
# ten); a file nested deeper is refused before anything recurses into it (validation, merging).
MAX_DEPTH = 100


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
    except RecursionError:
        raise ReportError(f"{path}: nested too deeply to read (a results file nests at most "
                          f"{MAX_DEPTH} levels)") from None
    if _depth(doc) > MAX_DEPTH:
        raise ReportError(f"{path}: nested more than {MAX_DEPTH} levels deep: not a results file")
    expected = _validator().schema["properties"]["schema"]["const"]
    if isinstance(doc, dict) and "schema" in doc and doc["schema"] != expected:
        raise ReportError(f"{path}: schema is {doc['schema']!r}, this tool reads {expected!r}")
    error = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ReportError(f"{path}: does not match {SCHEMA_PATH.name} at {where}: {error.message}")
    return doc


def _depth(doc) -> int:
    """How deeply ``doc`` nests lists and dicts, counted without recursion."""
    deepest, todo = 0, [(doc, 1)]
    while todo:
        value, level = todo.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                todo.extend((v, level + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


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


def release_of(name: str, info: dict) -> str | None:
    """The release a backend's info describes: its ``release`` token, ``name@version`` for files
    written before results had one, None when the backend was not installed."""
    if info.get("release"):
        return info["release"]
    return f"{name}@{info['version']}" if info.get("version") is not None else None


def columns(doc: dict) -> dict:
    """``{key: (backend name, release, info)}`` for the ``backends`` of a single run or a merge."""
    return {key: (info.get("backend") or key, release_of(info.get("backend") or key, info), info)
            for key, info in doc.get("backends", {}).items()}


def column_finder(doc: dict):
    """A function from a result of ``doc`` to the key in ``doc["backends"]`` of its column (its
    backend name when ``backends`` does not list it)."""
    cols = columns(doc)
    by_release = {(name, rel): key for key, (name, rel, _) in cols.items()}
    by_name = {name: key for key, (name, _, _) in cols.items()}

    def column_of(result: dict) -> str:
        if "release" in result:
            return by_release.get((result["backend"], result["release"]),
                                  _column_key(result["backend"], result["release"]))
        return by_name.get(result["backend"], result["backend"])
    return column_of


def _column_key(name: str, release: str | None) -> str:
    """The ``backends`` key of one release of a backend that has several."""
    return release or f"{name}@not-installed"


def merge(docs) -> dict:
    """Merge ``[(source, doc), ...]`` into one results document (itself schema-valid).

    The result keeps the order of first appearance and records its inputs under ``sources``.
    """
    docs = list(docs)
    found, origin = {}, {}       # (name, release) -> info, and the file it came from
    clauses, origin_clause = {}, {}
    kept, seen = [], {}          # [(name, release, result)], (clause, name, release) -> (result, file)
    sources = []
    for src, doc in docs:
        src = str(src)
        sources.append({"file": src, "generated": doc.get("generated"),
                        **{k: doc.get(k) for k in COMPLETENESS}})
        releases: dict = {}      # this file's releases per backend name
        for name, rel, info in columns(doc).values():
            releases.setdefault(name, []).append(rel)
            info = {k: v for k, v in info.items() if k != "backend"}
            if (name, rel) in found:
                found[name, rel] = _merge_backend(name, found[name, rel], info, origin[name, rel], src)
            else:
                found[name, rel], origin[name, rel] = dict(info), src
        for cid, meta in doc.get("clauses", {}).items():
            if isinstance(meta.get("file"), str):  # an installed run's and a source tree's: one file
                meta = {**meta, "file": spec_file_name(meta["file"])}
            if cid in clauses:
                clauses[cid] = _merge_fields("clause", cid, clauses[cid], meta,
                                             origin_clause[cid], src)
            else:
                clauses[cid], origin_clause[cid] = dict(meta), src
        for res in doc["results"]:
            name = res["backend"]
            if "release" in res:
                rel = res["release"]
            elif len(releases.get(name, [])) > 1:
                raise ReportError(f"{src}: a result for clause {res['clause']!r} on backend {name!r} does not "
                                  f"say which of its {len(releases[name])} releases it is from")
            else:
                rel = (releases.get(name) or [None])[0]
            key = (res["clause"], name, rel)
            if key in seen:
                first, first_src = seen[key]
                if not same_result(first, res):
                    at = f" at release {rel}" if rel else ""
                    raise ReportError(
                        f"{src}: result for clause {key[0]!r} on backend {name!r}{at} "
                        f"(status {res['status']}) disagrees with the one in {first_src} "
                        f"(status {first['status']}); refusing to merge")
                continue
            seen[key] = (res, src)
            kept.append((name, rel, res))
    backends, results = _columns_out(found, kept)
    generated = [s["generated"] for s in sources if s["generated"]]
    merged = {"schema": _validator().schema["properties"]["schema"]["const"],
              "backends": backends, "clauses": clauses, "results": results, "sources": sources}
    if generated:
        merged["generated"] = max(generated)
    merged.update(_completeness(sources, docs))
    return merged


def _columns_out(found: dict, kept: list) -> tuple[dict, list]:
    """The merged ``backends`` and ``results``: keyed by name while a backend has one release,
    by release (naming the backend) when it has several. A listing of a backend that was not
    installed (no release) is dropped when the backend ran at some release and nothing ran on it."""
    with_results = {(name, rel) for name, rel, _ in kept}
    ran = {name for name, rel in found if rel is not None}
    cols = [(name, rel) for name, rel in found
            if rel is not None or name not in ran or (name, rel) in with_results]
    cols += [c for c in dict.fromkeys((n, r) for n, r, _ in kept) if c not in found]
    per_name: dict = {}
    for name, rel in cols:
        per_name.setdefault(name, []).append(rel)
    backends = {}
    for name, rel in cols:
        if len(per_name[name]) == 1:
            if (name, rel) in found:  # else: results of a backend their file does not list
                backends[name] = found[name, rel]
            continue
        info = found.get((name, rel)) or {"framework": name, "version": None, "release": rel,
                                          "reason": "results of a release their file does not list"}
        backends[_column_key(name, rel)] = {"backend": name, **info}
    results = [res if len(per_name[name]) == 1 else {**res, "release": rel} for name, rel, res in kept]
    return backends, results


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
