"""Judging one clause on one backend: run, compare, classify, explain."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import checks, registry
from .characterize import describe
from .spec import Clause


@dataclass
class Outcome:
    clause: Clause
    backend: str
    status: str                      # conform | diverge | unsupported | error | skip
    known: bool = False
    expected: object = None
    observed: object = None
    reason: str | None = None
    link: str | None = None
    snippet: str | None = None
    behaviour: str | None = None
    agrees: bool | None = None
    mismatches: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    api: list = field(default_factory=list)  # how the release was called, where releases differ
    detail: str | None = None        # traceback or worker log of an error
    duration: float = 0.0

    def record(self) -> dict:
        c = self.clause
        return {
            "clause": c.id, "section": c.section, "level": c.level, "claim": c.claim,
            "document_code": c.document_code, "backend": self.backend, "status": self.status,
            "known": self.known, "expected": self.expected, "observed": self.observed,
            "reason": self.reason, "link": self.link, "snippet": self.snippet,
            "behaviour": self.behaviour, "agrees": self.agrees, "warnings": self.warnings,
            "api": self.api,
            "duration": round(self.duration, 4),
        }

    def summary(self) -> str:
        return f"{self.clause.id} on {self.backend}: {self.status}" + (
            f" ({self.reason})" if self.reason else "")

    def explain(self) -> str:
        c = self.clause
        lines = [f"clause   {c.id}  [{c.level}]  ({c.section}; {c.path.name})",
                 f"claim    {c.claim}", f"backend  {self.backend}"]
        if self.status == "error":
            lines += ["outcome  ERROR: the adapter or the backend's worker failed", self.detail or ""]
            return "\n".join(lines)
        if self.known and self.status == "conform":
            lines.append("outcome  a registered divergence now CONFORMS: remove its registry entry")
            lines.append(f"registry reason was: {self.reason}")
            return "\n".join(lines)
        lines.append("outcome  DIVERGES from the document")
        for m in self.mismatches:
            lines += [f"  check    {m.check} on {m.field or '(observation)'}",
                      f"  expected {m.expected}", f"  observed {m.observed}"]
            if m.message:
                lines.append(f"  why      {m.message}")
        if self.warnings:
            lines.append("warnings " + "; ".join(self.warnings))
        if self.snippet:
            lines += ["reproduce with the framework alone:", _indent(self.snippet)]
        lines.append("If this divergence is understood and confirmed, register it in "
                     f"specs/divergences/{self.backend}.yaml with its reason and an upstream link.")
        return "\n".join(lines)


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())


def judge(session, clause: Clause, backend: str) -> Outcome:
    availability = session.availability(backend)
    if not availability.available:
        return Outcome(clause, backend, "skip", reason=availability.reason)
    case = session.case(clause)
    ref_kind, ref_obs, _ = session.reference(case)
    kind, payload, snippet = session.run(backend, case)
    entry = registry.find(session.known, backend, clause.id, availability.version)
    outcome = Outcome(clause, backend, "conform", snippet=snippet)
    if kind == "unsupported":
        outcome.status, outcome.reason = "unsupported", payload
        return outcome
    if kind == "error":
        first = next((line for line in reversed(payload.strip().splitlines()) if line.strip()), "")
        outcome.status, outcome.reason, outcome.detail = "error", first[:300], payload
        return outcome
    if ref_kind != "ok":
        outcome.status, outcome.reason = "error", f"the reference could not run the clause: {ref_obs}"
        outcome.detail = outcome.reason
        return outcome
    obs = payload
    outcome.warnings = list(obs.get("warnings", []))
    outcome.api = list(obs.get("api", []))
    if clause.characterize:
        name = clause.characterize["describe"]
        outcome.behaviour = describe(name, obs, case)
        reference_behaviour = describe(name, ref_obs, case)
        outcome.agrees = outcome.behaviour == reference_behaviour
        outcome.expected, outcome.observed = reference_behaviour, outcome.behaviour
        outcome.status = "conform" if outcome.agrees else "diverge"
        if not outcome.agrees:
            outcome.reason = "behaves differently from the reference (the document is silent)"
    if clause.expect:
        ctx = checks.Context(obs, ref_obs, clause.params, case)
        results = [checks.evaluate(ctx, check) for check in clause.expect]
        outcome.mismatches = [r for r in results if not r.ok]
        if clause.normative:
            outcome.expected = {_key(r): r.expected for r in results}
            outcome.observed = {_key(r): r.observed for r in results}
            if outcome.mismatches:
                outcome.status = "diverge"
                outcome.reason = "; ".join(m.message or f"{m.check} check on {m.field} failed"
                                           for m in outcome.mismatches)
    if entry is not None:
        outcome.known, outcome.link = True, entry.link
        outcome.reason = entry.reason
        outcome.snippet = entry.snippet or snippet
    return outcome


def _key(m) -> str:
    return f"{m.check}:{m.field}" if m.field else m.check
