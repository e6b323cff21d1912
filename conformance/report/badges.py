"""Per-backend badges: an SVG made with anybadge and a shields.io endpoint JSON.

``badge-<backend>`` counts normative clauses only (what the document says; characterization
clauses have no right answer); ``badge-<backend>-extension`` counts the extension clauses
(standard behaviour beyond the text) apart. Skipped or unsupported results are left out of the
denominator; results the adapter emulated (computed by hand where the framework has no built-in)
are in it but never count as conforming, and the message names how many there are.
"""
from __future__ import annotations

import json
from pathlib import Path

import anybadge

from .load import column_finder
from .matrix import extension_score, level_emulated, normative_score


def colour(conform: int, applicable: int) -> str:
    """100% green, at least 80% yellow, else red; lightgrey when nothing applied."""
    if applicable == 0:
        return "lightgrey"
    if conform == applicable:
        return "green"
    return "yellow" if conform / applicable >= 0.8 else "red"


def badge_data(backend: str, results, level: str = "normative") -> dict:
    """The shields.io endpoint document for one backend's results at one level."""
    score = extension_score if level == "extension" else normative_score
    mine = [r for r in results if r["backend"] == backend]
    conform, applicable = score(mine)
    emulated = level_emulated(mine, level)
    message = f"{conform}/{applicable} conform" if applicable else f"no {level} results"
    if emulated:
        message += f", {emulated} emulated"
    label = backend if level == "normative" else f"{backend} extensions"
    return {"schemaVersion": 1, "label": label, "message": message,
            "color": colour(conform, applicable)}


def write_badges(doc: dict, backends, out_dir, labels=None) -> list[Path]:
    """Write ``badge-<column>.svg``/``.json`` (normative) and ``badge-<column>-extension.svg``/
    ``.json`` per column of the report (a backend name, or a release when the report holds a
    backend at several releases; ``labels`` gives the badge's label per column); return the paths."""
    out_dir = Path(out_dir)
    labels = labels or {}
    find = column_finder(doc)
    written = []
    for backend, level in ((b, lv) for b in backends for lv in ("normative", "extension")):
        results = [r for r in doc["results"] if find(r) == backend]
        name = results[0]["backend"] if results else backend
        data = badge_data(name, results, level)
        if backend in labels:
            data["label"] = labels[backend] if level == "normative" else f"{labels[backend]} extensions"
        stem = "badge-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in backend)
        stem += "" if level == "normative" else "-extension"
        svg = out_dir / f"{stem}.svg"
        anybadge.Badge(label=data["label"], value=data["message"],
                       default_color=data["color"]).write_badge(str(svg), overwrite=True)
        endpoint = out_dir / f"{stem}.json"
        endpoint.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written += [svg, endpoint]
    return written
