"""The README's "What the suite finds" table, one row per backend, from results files (the
snapshot's, docs/latest/*.json): ``python -m conformance report RESULTS... --output DIR --readme
README.md`` rewrites it, and tests/test_readme.py fails when it is not what the snapshot says.
A table copied by hand drifts from the run it claims to summarise; this one cannot."""
from __future__ import annotations

from conformance.report import matrix

START = "<!-- findings:start (generated from docs/latest/results.json by python -m conformance report --readme) -->"
END = "<!-- findings:end -->"
SKIPPED = ("unsupported", "skip")


def _score(results, level: str) -> str:
    conforming, applicable = matrix.level_score(results, level)
    emulated = matrix.level_emulated(results, level)
    return f"{conforming}/{applicable}", (f", {emulated} emulated" if emulated else "")


def table(doc: dict) -> str:
    """The markdown table (with a line saying which run it is) for the results file ``doc``."""
    order = list(doc.get("backends") or {}) or list(dict.fromkeys(r["backend"] for r in doc["results"]))
    hypothesis = doc.get("hypothesis") if isinstance(doc.get("hypothesis"), dict) else {}
    rows = [f"On the pinned releases (snapshot of {str(doc.get('generated', '?'))[:10]}, "
            f"`{hypothesis.get('profile', 'ci')}` profile, seed {hypothesis.get('seed', 0)}"
            + (f", --max-examples {hypothesis['max_examples']}" if hypothesis.get("max_examples") else "")
            + "; the whole report is "
            "[docs/latest/report.md](docs/latest/report.md)):", "",
            "| backend | normative | extensions | diverge (known) | unsupported | differs from the reference "
            "where the document is silent |", "|---|---|---|---|---|---|"]
    for name in order:
        results = [r for r in doc["results"] if r["backend"] == name]
        if not results:
            continue
        known = sum(r["status"] == "diverge" and bool(r["known"]) for r in results)
        unsupported = sum(r["status"] == "unsupported" for r in results)
        silent = [r for r in results if r["level"] == "characterization" and r["status"] not in SKIPPED]
        differs = sum(r.get("agrees") is False for r in silent)
        normative, extension = _score(results, "normative"), _score(results, "extension")
        rows.append(f"| {name} | {normative[0]} conform{normative[1]} | {''.join(extension)} | "
                    f"{known} | {unsupported} | {differs} of {len(silent)} |")
    return "\n".join(rows) + "\n"

