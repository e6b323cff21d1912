"""``python -m conformance same OLD.json NEW.json``: prove that two runs gave the same records.

For a change that must not alter results (a refactoring, a redesign of the engine, a new way to
run the suite): run the suite before and after, then compare the two results files record by
record. Unlike ``diff`` (which judges a new run against an old one and fails only on regressions),
``same`` fails on *any* difference:

* records are matched by clause, backend and (in a merged file of several releases) release; a
  record of OLD missing from NEW, or one of NEW not in OLD, is a difference;
* every field of a matched record is compared, except those that legitimately vary between two
  runs of the same observation (``load.VOLATILE``: the ``duration``); values compare as JSON
  (NaN equals NaN, key order ignored, ``1`` differs from ``1.0`` and from ``true``), and a
  difference inside an observed array is shown at its deepest differing element;
* the run's own fields are compared too (backends and their releases, the Hypothesis profile and
  seed, completeness, the clauses' metadata), except ``generated``, the time the file was written.

Each difference is printed as one line, ``clause [backend] field: old -> new`` (``(run)`` for the
run's fields), then a count. Exit status: 0 equal, 1 different, 2 bad input (one line naming the
file). Two full runs of an unchanged tree (same seed) differ in ``duration`` and ``generated`` only.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .load import VOLATILE, ReportError, _canon

RUN_VOLATILE = frozenset({"generated"})   # run-level fields that vary between identical runs
SHOWN_PER_FIELD = 5                       # deepest differences printed per record field
WIDTH = 100                               # a value longer than this is cut when printed
ABSENT = object()                         # a record or field one of the files does not have
PRESENT = object()                        # a whole record the other file does not have
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")


@dataclass(frozen=True)
class Difference:
    clause: str        # the clause id, or "(run)"
    backend: str       # the backend (with its release in a merged file), or "" for the run
    field: str         # the field, down to the differing element: observed.outputs[0][1]
    old: object        # ABSENT where OLD does not have it; PRESENT for a whole record
    new: object        # ABSENT where NEW does not have it; PRESENT for a whole record

    @property
    def where(self) -> str:
        return f"{self.clause} [{self.backend}]" if self.backend else self.clause

    def line(self) -> str:
        return f"{self.where} {self.field}: {_show(self.old)} -> {_show(self.new)}"


def _show(value) -> str:
    if value is ABSENT:
        return "(absent)"
    if value is PRESENT:
        return "(present)"
    text = json.dumps(value, allow_nan=True)
    return text if len(text) <= WIDTH else text[:WIDTH - 3] + "..."


def _child(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _NAME.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _leaves(old, new, path: str):
    """(path, old, new) for each deepest part where ``old`` and ``new`` differ."""
    if old is not ABSENT and new is not ABSENT and _canon(old) == _canon(new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            yield from _leaves(old.get(key, ABSENT), new.get(key, ABSENT), _child(path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _leaves(a, b, _child(path, i))
    else:
        yield path, old, new


def _records(doc: dict, src: str) -> dict:
    """``{(clause, backend, release): record}``; a file holding one of them twice is bad input."""
    out = {}
    for n, rec in enumerate(doc["results"], 1):
        key = (rec["clause"], rec["backend"], rec.get("release"))
        if key in out:
            release = f" at {key[2]}" if key[2] else ""
            raise ReportError(f"{src}: holds clause {key[0]!r} on backend {key[1]!r}{release} twice "
                              f"(record #{n}); compare single runs or merged files without duplicates")
        out[key] = rec
    return out


def differences(old_doc: dict, new_doc: dict, old_src: str = "OLD", new_src: str = "NEW") -> list[Difference]:
    """Every difference between two results documents (validated, as :func:`load.load` returns them)."""
    found = []
    for path, a, b in _leaves({k: v for k, v in old_doc.items() if k != "results" and k not in RUN_VOLATILE},
                              {k: v for k, v in new_doc.items() if k != "results" and k not in RUN_VOLATILE}, ""):
        found.append(Difference("(run)", "", path, a, b))
    old, new = _records(old_doc, old_src), _records(new_doc, new_src)
    for key in dict.fromkeys([*old, *new]):
        clause, backend = key[0], key[1] + (f" @ {key[2]}" if key[2] else "")
        if key not in new or key not in old:
            found.append(Difference(clause, backend, "(record)", PRESENT if key in old else ABSENT,
                                    PRESENT if key in new else ABSENT))
            continue
        a, b = ({k: v for k, v in rec[key].items() if k not in VOLATILE} for rec in (old, new))
        found += [Difference(clause, backend, path, x, y) for path, x, y in _leaves(a, b, "")]
    return found


def text(found: list[Difference], old_count: int, new_count: int) -> str:
    """The lines to print: each difference (at most SHOWN_PER_FIELD per record field), then a count."""
    lines, shown = [], {}
    for d in found:
        top = (d.clause, d.backend, re.split(r"[.\[]", d.field, maxsplit=1)[0])
        shown[top] = shown.get(top, 0) + 1
        if shown[top] <= SHOWN_PER_FIELD:
            lines.append(d.line())
        elif shown[top] == SHOWN_PER_FIELD + 1:
            lines.append(f"{d.where} {top[2]}: ... (more differences in this field; counted below)")
    ignored = ", ".join(sorted(VOLATILE | RUN_VOLATILE))
    if not found:
        lines.append(f"same: {old_count} records, equal apart from {ignored}")
    else:
        records = len({(d.clause, d.backend) for d in found if d.clause != "(run)"})
        lines.append(f"DIFFERENT: {len(found)} difference(s) in {records} record(s) of {old_count} old / "
                     f"{new_count} new" + (" and in the run's fields" if any(d.clause == "(run)" for d in found)
                                           else "") + f" ({ignored} ignored)")
    return "\n".join(lines)
