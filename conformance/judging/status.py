"""The statuses a record can have, and the one place that classifies a record for people.

:class:`Status` is what a verdict is (its values are the strings the results JSON has always
held, so a record is the same text). :func:`classify` turns status, registered-or-not, level
and agreement with the reference into a :class:`Verdict`: the report's cell category (also the
CSS class suffix) and the words the terminal summary and the release sweep count by.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    CONFORM = "conform"
    EMULATED = "emulated"        # conforms only through what the adapter computed by hand
    DIVERGE = "diverge"
    UNSUPPORTED = "unsupported"  # the adapter raised Unsupported: the release lacks the API
    ERROR = "error"
    SKIP = "skip"                # the backend is not installed


class Category(enum.StrEnum):
    CONFORM = "conform"
    EMULATED = "emulated"
    DIVERGE_KNOWN = "diverge-known"
    DIVERGE_NEW = "diverge-new"
    ERROR = "error"
    UNSUPPORTED = "unsupported"
    SKIP = "skip"
    MISSING = "missing"          # no record (a merged report's cell nobody ran)
    RECORDED = "recorded"        # a characterization that behaves as the reference
    DIFFERS = "differs"          # a characterization that behaves differently


@dataclass(frozen=True)
class Verdict:
    category: Category
    label: str


_LABELS = {
    Category.EMULATED: "emulated (the adapter computed it)",
    Category.DIVERGE_KNOWN: "diverge (known)",
    Category.DIVERGE_NEW: "DIVERGE (new)",
    Category.MISSING: "not run",
    Category.RECORDED: "characterized",
    Category.DIFFERS: "characterized (differs from reference)",
}


def classify(status, known: bool = False, level: str | None = None, agrees: bool | None = None,
             changed: bool = False) -> Verdict:
    """The verdict on one record. A characterization (the document is silent) that ran is
    recorded or differs from the reference, never conforms or diverges; ``changed`` (a registered
    divergence that no longer diverges as pinned) is a new divergence, labelled as such."""
    try:
        status = Status(status)
    except ValueError:
        raise ValueError(f"status {status!r} is none of {', '.join(Status)}") from None
    if level == "characterization" and status in (Status.CONFORM, Status.DIVERGE):
        differs = (agrees is False) if agrees is not None else status == Status.DIVERGE
        category = Category.DIFFERS if differs else Category.RECORDED
    elif status == Status.DIVERGE:
        if changed:
            return Verdict(Category.DIVERGE_NEW, "DIVERGE (known divergence changed)")
        category = Category.DIVERGE_KNOWN if known else Category.DIVERGE_NEW
    else:
        category = Category(status.value)
    return Verdict(category, _LABELS.get(category, category.value))


def classify_record(record: dict | None) -> Verdict:
    """:func:`classify` of a results-JSON record; None (no record) is ``missing``."""
    if record is None:
        return Verdict(Category.MISSING, _LABELS[Category.MISSING])
    changed = any(not p.get("ok") for p in record.get("pinned") or [])
    return classify(record["status"], bool(record.get("known")), record.get("level"),
                    record.get("agrees"), changed)
