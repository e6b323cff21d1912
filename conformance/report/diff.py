"""Comparing two runs clause x backend.

A *change* is any difference in status, known flag, observed value or behaviour, plus pairs that
appear or disappear. A *regression* is the subset that should fail CI:

* a result that conformed now diverges or errors, or conforms only through the adapter's
  emulation (``emulated``: the framework no longer computes the value itself);
* a result that conformed (or was emulated) is now skipped or unsupported, at any level: nothing
  was measured, and a verdict that vanished is never a pass;
* a newly added pair that errors;
* an emulated result that now diverges or errors;
* a normative divergence that is not registered (``known: false``) and was not already an
  unregistered divergence, including on a newly added pair;
* a pair present in OLD and absent from NEW: a verdict that vanished is never a pass.

Characterization results have no right answer, so a behaviour change there (even one that
flips the status to or from ``diverge``) is reported but never a regression; only a crash
(conform -> error) is.
"""
from __future__ import annotations

from .load import ReportError, _canon, columns, merge
from .matrix import show

FIELDS = ("status", "known", "observed", "behaviour")
WIDTH = 48


def _index(doc, src) -> dict:
    merged = merge([(src, doc)])  # also refuses a file with contradictory duplicates
    several = {}
    for _, (name, rel, _) in columns(merged).items():
        several.setdefault(name, []).append(rel or "not installed")
    for name, rels in several.items():
        if len(rels) > 1:
            raise ReportError(f"{src}: holds {name} at {len(rels)} releases ({', '.join(rels)}); diff compares one "
                              "release per backend: pass the results file of each release")
    return {(r["clause"], r["backend"]): r for r in merged["results"]}


def releases(old_doc, new_doc, old_src="OLD", new_src="NEW") -> str:
    """Which release of each backend OLD and NEW ran, as header lines: a diff of two releases of
    one backend matches cells by clause and backend name, so the header says what was compared."""
    old, new = columns(old_doc), columns(new_doc)
    old_by, new_by = ({name: info for name, _, info in cols.values()} for cols in (old, new))
    lines = [f"OLD {old_src}", f"NEW {new_src}"]
    for name in dict.fromkeys([*old_by, *new_by]):
        a, b = (_release_text(d.get(name)) for d in (old_by, new_by))
        lines.append(f"  {name}: {a} -> {b}" if a != b else f"  {name}: {a} (same release)")
    return "\n".join(lines)


def _release_text(info) -> str:
    if info is None:
        return "(not in the file)"
    if info.get("version") is None:
        return "not installed"
    return info.get("detail") or f"{info.get('framework')} {info['version']}"


def _state(res) -> str:
    if res is None:
        return "(absent)"
    if res["status"] == "diverge":
        return "diverge (known)" if res.get("known") else "diverge (new)"
    return res["status"]


def is_regression(old, new) -> bool:
    if new is None:
        return old is not None
    was = old["status"] if old else None
    if was in ("conform", "emulated", None) and new["status"] == "error":
        return True
    if was in ("conform", "emulated") and new["status"] in ("skip", "unsupported"):
        return True
    if new["level"] not in ("normative", "extension"):  # judged levels; characterization never regresses
        return False
    if was in ("conform", "emulated") and new["status"] == "diverge":
        return True
    if was == "conform" and new["status"] == "emulated":
        return True
    unknown = lambda r: r is not None and r["status"] == "diverge" and not r.get("known")  # noqa: E731
    return unknown(new) and not unknown(old)


def changes(old_doc, new_doc, old_src="OLD", new_src="NEW") -> list[dict]:
    """Every changed field of every clause x backend pair.

    Rows are dicts with keys clause, backend, what, old, new, regression.
    """
    old, new = _index(old_doc, old_src), _index(new_doc, new_src)
    rows = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        reg = is_regression(a, b)
        if a is None or b is None:
            rows.append({"clause": key[0], "backend": key[1],
                         "what": "added" if a is None else "removed",
                         "old": _state(a), "new": _state(b), "regression": reg})
            continue
        for field in FIELDS:
            va, vb = a.get(field), b.get(field)
            if _canon(va) != _canon(vb):
                rows.append({"clause": key[0], "backend": key[1], "what": field,
                             "old": show(va), "new": show(vb), "regression": False})
        # the regression flag goes on the status/known row that explains it
        if reg:
            for row in rows:
                if (row["clause"], row["backend"]) == key and row["what"] in ("status", "known"):
                    row["regression"] = True
                    break
    return rows


def _cut(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= WIDTH else text[:WIDTH - 1] + "\u2026"


def table(rows) -> str:
    """A plain-text table, one line per change; regressions are marked with ``!!``."""
    if not rows:
        return "No changes."
    head = ("", "clause", "backend", "change", "old", "new")
    body = [("!!" if r["regression"] else "", r["clause"], r["backend"], r["what"],
             _cut(r["old"]), _cut(r["new"])) for r in rows]
    widths = [max(len(str(line[i])) for line in [head, *body]) for i in range(len(head))]
    fmt = lambda line: "  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip()  # noqa: E731
    regressions = sum(r["regression"] for r in rows)
    out = [fmt(head), fmt(["-" * w for w in widths]), *map(fmt, body), "",
           f"{len(rows)} change(s), {regressions} regression(s)."]
    return "\n".join(out)
