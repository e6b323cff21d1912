"""Judging one clause on one backend: compare, classify, explain.

:func:`judge` is a function of the clause, the case, the backend's reply, the reference's reply
and the registry entry (conformance/judging/replies.py): it runs nothing, the running layer
(conformance/running/properties.py) gets the replies. It always returns an :class:`Outcome`:
whatever goes wrong while judging (a formula that cannot be evaluated, a check or describer that
cannot read an odd observation) becomes status ``error`` with its cause, never a missing result.
"""
from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field

from conformance.judging import checks, replies
from conformance.judging.describers import describe
from conformance.judging.replies import Observed, Refused, Reply
from conformance.judging.status import Status
from conformance.language import registry, vocabulary
from conformance.language.spec import Clause


@dataclass
class Outcome:
    clause: Clause
    backend: str
    status: Status
    known: bool = False
    expected: object = None
    observed: object = None
    reason: str | None = None
    link: str | None = None
    snippet: str | None = None
    behaviour: str | None = None
    agrees: bool | None = None
    mismatches: list = field(default_factory=list)
    warnings: list = field(default_factory=list)   # about the clause's call (checks and errata read them)
    framework_warnings: list = field(default_factory=list)  # caused by the framework's own code: shown only
    api: list = field(default_factory=list)  # how the release was called, where releases differ
    detail: str | None = None        # traceback or worker log of an error
    cause: dict | None = None        # error only: where, type, message, traceback (last frames)
    emulation: dict | None = None    # field -> the idiom the adapter computed it with (see below)
    pinned: list | None = None       # a registered divergence: its ``observed`` checks, evaluated
    duration: float = 0.0
    examples: int | None = None      # drawn examples judged (properties.py); None: not drawable
    seed: int | None = None          # the run's Hypothesis seed and profile
    profile: str | None = None
    max_examples: int | None = None  # --max-examples, where it changed the profile's number
    example: dict | None = None      # the failing drawn example: params, inputs, shrinking
    drawn: dict | None = None        # drawn examples that conformed, diverged as registered, otherwise
    refused: dict | None = None      # drawn examples the backend refused: count, reasons, declared limit

    def record(self) -> dict:
        c = self.clause
        return {
            "clause": c.id, "section": c.section, "level": c.level, "claim": c.claim,
            "document_code": c.document_code, "backend": self.backend, "status": self.status,
            "known": self.known, "expected": self.expected, "observed": self.observed,
            "reason": self.reason, "link": self.link, "snippet": self.snippet,
            "behaviour": self.behaviour, "agrees": self.agrees, "warnings": self.warnings,
            "framework_warnings": self.framework_warnings,
            "cause": self.cause, "api": self.api, "emulation": self.emulation, "pinned": self.pinned,
            "duration": round(self.duration, 4),
            "examples": self.examples, "seed": self.seed, "profile": self.profile, "example": self.example,
            "drawn": self.drawn, "refused": self.refused,
            **({"max_examples": self.max_examples} if self.max_examples else {}),
        }

    @property
    def refused_drawn(self) -> bool:
        """A divergence that is a refusal: drawn examples refused after the document's ran."""
        return any(m.check == REFUSED_CHECK for m in self.mismatches)

    @property
    def changed(self) -> bool:
        """A registered divergence that still diverges, but not as its entry pins it."""
        return bool(self.pinned) and not all(p["ok"] for p in self.pinned)

    def summary(self) -> str:
        return f"{self.clause.id} on {self.backend}: {self.status}" + (
            f" ({self.reason})" if self.reason else "")

    def explain(self, home: str | None = None) -> str:
        """The failure as text for people; ``home``: where a new divergence of this backend is
        registered (conformance/running/adapters.py), by default its file in specs/divergences/."""
        c = self.clause
        lines = [f"clause   {c.id}  [{c.level}]  ({c.section}; {c.path.name})",
                 f"claim    {c.claim}", f"backend  {self.backend}"]
        if self.status == Status.ERROR:
            if self.example:
                lines += _example_lines(self)
            where = (self.cause or {}).get("where")
            what = {"judging": "the observation could not be judged (a formula, check or describer failed on it)",
                    "reference": "the reference could not run the clause"}.get(
                where, "the adapter or the backend's worker failed")
            lines += [f"outcome  ERROR: {what}", self.detail or ""]
            return "\n".join(lines)
        if self.known and self.status in (Status.CONFORM, Status.EMULATED):
            lines.append("outcome  a registered divergence now CONFORMS"
                         + (" (through the adapter's emulation)" if self.status == Status.EMULATED else "")
                         + ": remove its registry entry")
            lines.append(f"registry reason was: {self.reason}")
            return "\n".join(lines)
        if self.changed:
            lines.append("outcome  KNOWN DIVERGENCE CHANGED: the backend still diverges, but no longer "
                         "as its registry entry pins it (observed:)")
            for p in self.pinned:
                if not p["ok"]:
                    lines += [f"  pinned   {p['check']} on {p['field'] or '(observation)'}",
                              f"  expected {p['expected']}", f"  observed {p['observed']}"]
            lines.append("Update the registry entry (reason and observed) once the new behaviour is understood.")
        lines.append("outcome  DIVERGES from the document" if c.normative else
                     "outcome  DIVERGES from the extension (standard behaviour the document does not state)")
        if self.emulation:
            lines.append("emulated the framework plus the adapter's idiom still diverges; the adapter computed "
                         + "; ".join(f"{f}: {idiom}" for f, idiom in self.emulation.items()))
        if self.example:
            lines += _example_lines(self)
        for m in self.mismatches:
            lines += [f"  check    {m.check} on {m.field or '(observation)'}",
                      f"  expected {m.expected}", f"  observed {m.observed}"]
            if m.message:
                lines.append(f"  why      {m.message}")
        if self.warnings:
            lines.append("warnings " + "; ".join(self.warnings))
        if self.snippet:
            lines += ["reproduce with the framework alone:", _indent(self.snippet)]
        if self.refused_drawn:
            lines.append("If the adapter cannot run other sizes by design (e.g. an exported model with static "
                         "shapes), declare it on its class, Declaration(drawn_limit=\"why\") "
                         "(docs/DRAWN-EXAMPLES.md, \"Refused examples\"): the cell then conforms and the "
                         "report shows the refusals. Otherwise the adapter or the framework refuses what it "
                         "should run.")
        elif not self.changed:
            lines.append("If this divergence is understood and confirmed, register it in "
                         f"{home or registry.home(self.backend)} with its reason and an upstream link.")
        return "\n".join(lines)


def replay_options(seed, profile, max_examples=None) -> str:
    """The options that draw a run's examples again: its seed, profile and --max-examples if given."""
    more = f" --max-examples {max_examples}" if max_examples else ""
    return f"--hypothesis-seed {seed} --hypothesis-profile {profile}{more}"


def _example_lines(outcome) -> list[str]:
    """The drawn example a failure was found at: what a reader needs to run it again."""
    ex = outcome.example
    how = (f"shrunk, {ex['shrink_calls']} extra examples run" if ex.get("shrunk")
           else "not shrunk (a registered divergence, an error or a refusal)")
    lines = [f"example  drawn ({how}); profile {outcome.profile}, seed {outcome.seed}: replay with "
             + replay_options(outcome.seed, outcome.profile, outcome.max_examples),
             "  params   " + ", ".join(f"{k}={v}" for k, v in ex["params"].items())]
    if ex.get("weights_seed") is not None:
        lines[-1] += f"; weights from the reference's seed {ex['weights_seed']}"
    for key, value in ex["with"].items():
        for n, item in enumerate(value if isinstance(value, list) else [value]):
            name = f"{key}[{n}]" if isinstance(value, list) else key
            lines.append(f"  {name:8} {_array_text(item)}")
    return lines


def _array_text(item) -> str:
    if isinstance(item, dict) and "values" in item:
        return f"{item['values']} ({item['dtype']}, shape {tuple(item['shape'])})"
    return str(item)


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())


FRAMES = 6          # frames of a judging error's traceback kept in the record
MAX_REASONS = 3     # distinct reasons for refused drawn examples kept in a record
REASON_CHARS = 300  # each cut to this many characters
REFUSED_CHECK = "runs"  # the mismatch a refusal divergence shows: the example did not run


def refusals(replies: list[Refused], declared: str = "") -> dict:
    """What a record says of the drawn examples a backend refused (raised Unsupported on): how
    many, the distinct reasons (the first MAX_REASONS, each cut to REASON_CHARS), and the
    adapter's declared limit when there were some (``drawn_limit``, backends/base.py)."""
    reasons = list(dict.fromkeys(" ".join(str(r.reason).split())[:REASON_CHARS] for r in replies))
    return {"count": len(replies), "reasons": reasons[:MAX_REASONS],
            "declared": (declared or None) if replies else None}


def refused_text(refused: dict | None, judged: int | None) -> str | None:
    """"N of M drawn examples refused: REASON; ..." (M: those run, ``judged`` ones answered), with
    the declared limit; None when none was refused (or the record does not say)."""
    if not refused or not refused.get("count"):
        return None
    text = (f"{refused['count']} of {refused['count'] + (judged or 0)} drawn examples refused: "
            + "; ".join(refused["reasons"]))
    return text + (f" (declared limit: {refused['declared']})" if refused.get("declared") else "")


def refused_drawn(clause: Clause, backend: str, first: Refused, refused: dict, judged: int) -> Outcome:
    """The verdict on a normative cell whose backend refused drawn examples after running the
    document's, without declaring the limit (``drawn_limit``, backends/base.py): a divergence,
    shown at the first refused example (``first``, its reply) like any other."""
    expected = "every drawn example runs, as the document's example did (the adapter declares no drawn_limit)"
    observed = refused_text(refused, judged)
    outcome = Outcome(clause, backend, Status.DIVERGE, expected={REFUSED_CHECK: expected},
                      observed={REFUSED_CHECK: observed}, snippet=first.snippet,
                      reason=f"refused drawn examples its document example accepted: {observed}"[:2000])
    outcome.mismatches = [checks.Result(False, REFUSED_CHECK, "", expected, f"Unsupported: {first.reason}",
                                        "the adapter raised Unsupported at this drawn example")]
    return outcome
TRACE_LINES = 40    # lines of a backend's error text kept in the record


def judge(clause: Clause, backend: str, case, reply: Reply, reference: Reply,
          entry: registry.Divergence | None = None) -> Outcome:
    """The verdict on ``clause`` x ``backend`` at ``case``, from the backend's ``reply``, the
    reference's reply to the same case and the registry ``entry`` for this backend's release
    (or None). Pure: it runs nothing and reads nothing else. An exception while judging is an
    ``error`` naming its cause."""
    outcome = Outcome(clause, backend, Status.CONFORM)
    try:
        return _judge(outcome, case, reply, reference, entry)
    except Exception as exc:  # noqa: BLE001 - every item ends in a record, with the cause
        return judging_error(outcome, exc)


def unavailable(clause: Clause, backend: str, reason: str | None, broken: bool = False) -> Outcome:
    """The verdict when ``backend`` cannot run: a skip when it is not installed, an error when it
    is installed but its worker could not start (a broken framework must not pass in silence)."""
    outcome = Outcome(clause, backend, Status.SKIP, reason=reason)
    if broken:
        return backend_error(outcome, f"{backend} is installed but its worker could not start:\n{reason}")
    return outcome


def judging_error(outcome: Outcome, exc: BaseException) -> Outcome:
    """``outcome`` turned into an error naming ``exc``; the snippet and warnings are kept."""
    message = " ".join(str(exc).split())[:500]
    trace = "".join(traceback.format_exception(exc, limit=-FRAMES))
    outcome.status, outcome.known, outcome.link = Status.ERROR, False, None
    outcome.expected = outcome.observed = outcome.behaviour = outcome.agrees = None
    outcome.mismatches = []
    outcome.reason = f"judging failed: {type(exc).__name__}: {message}"[:300]
    outcome.detail = trace
    outcome.cause = {"where": "judging", "type": type(exc).__name__, "message": message,
                     "traceback": trace}
    return outcome


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Died)): ")


def backend_error(outcome: Outcome, text: str, where: str = "backend") -> Outcome:
    """``outcome`` as an error from the backend's worker (or the reference), given its text."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    first = lines[-1] if lines else "no error text"
    kinds = [m.group(1) for m in map(_EXCEPTION_LINE.match, lines) if m]
    outcome.status, outcome.reason, outcome.detail = Status.ERROR, first[:300], text
    outcome.cause = {"where": where, "type": kinds[-1] if kinds else None,
                     "message": first[:500], "traceback": "\n".join(lines[-TRACE_LINES:])}
    return outcome


def _judge(outcome: Outcome, case, reply: Reply, reference: Reply, entry) -> Outcome:
    clause = outcome.clause
    snippet = reply.snippet
    outcome.snippet = snippet
    if isinstance(reply, Refused):
        outcome.status, outcome.reason = Status.UNSUPPORTED, reply.reason
        return outcome
    if not isinstance(reply, Observed):
        return backend_error(outcome, str(reply.text))
    if not isinstance(reference, Observed):
        text = replies.payload(reference)
        backend_error(outcome, str(text), where="reference")
        outcome.reason = f"the reference could not run the clause: {text}"[:300]
        return outcome
    obs, ref_obs = reply.observation, reference.observation
    outcome.warnings = list(obs.get("warnings", []))
    outcome.framework_warnings = list(obs.get("framework_warnings", []))
    outcome.api = list(obs.get("api", []))
    outcome.emulation = emulated_fields(clause, obs.get("emulated"))
    if clause.characterize:
        name = clause.characterize["describe"]
        outcome.behaviour = describe(name, obs, case)
        reference_behaviour = describe(name, ref_obs, case)
        outcome.agrees = outcome.behaviour == reference_behaviour
        outcome.expected, outcome.observed = reference_behaviour, outcome.behaviour
        outcome.status = Status.CONFORM if outcome.agrees else Status.DIVERGE
        if not outcome.agrees:
            outcome.reason = "behaves differently from the reference (the document is silent)"
    ctx = checks.Context(obs, ref_obs, clause.params, case)
    if clause.expect:
        results = [checks.evaluate(ctx, check) for check in clause.expect]
        outcome.mismatches = [r for r in results if not r.ok]
        if clause.judged:
            outcome.expected = {_key(r): r.expected for r in results}
            outcome.observed = {_key(r): r.observed for r in results}
            if outcome.mismatches:
                outcome.status = Status.DIVERGE
                outcome.reason = "; ".join(m.message or f"{m.check} check on {m.field} failed"
                                           for m in outcome.mismatches)
    if outcome.status == Status.CONFORM and clause.judged and outcome.emulation:
        # the adapter, not the framework, computed what the clause tests: not the framework's conformance
        outcome.status = Status.EMULATED
        outcome.reason = ("conforms only through what the adapter computed by hand (" + ", ".join(
            outcome.emulation) + "; see emulation): not the framework's own conformance")
    if entry is not None and (entry.scope is None or outcome.status == Status.DIVERGE):
        outcome.link = entry.link
        outcome.snippet = entry.snippet or snippet
        if outcome.status == Status.DIVERGE and entry.observed:
            pinned = [checks.evaluate(ctx, check) for check in entry.observed]
            outcome.pinned = [{"check": r.check, "field": r.field, "ok": r.ok, "expected": r.expected,
                               "observed": r.observed} for r in pinned]
            off = [r for r in pinned if not r.ok]
            if off:  # still diverges, but not as registered: fails the run like a new divergence
                outcome.reason = ("known divergence changed: " + "; ".join(
                    f"{r.check} on {r.field or 'the observation'} expected {r.expected}, observed {r.observed}"
                    for r in off) + f" (registered in {entry.path.name}: {entry.reason})")[:2000]
                return outcome
        outcome.known = True
        outcome.reason = entry.reason
    return outcome


def emulated_fields(clause: Clause, declared) -> dict | None:
    """The adapter's emulations (observation field -> idiom) that touch a field the clause's
    checks read: ``outputs`` touches ``outputs[0]`` and the other way round, ``shapes[2]`` does
    not touch ``shapes[0]``."""
    if not declared or not isinstance(declared, dict):
        return None
    read = [path for check in clause.expect for path in vocabulary.fields_read(check)]
    if clause.characterize and clause.characterize.get("of"):
        read.append(clause.characterize["of"])
    touched = {str(f): str(idiom) for f, idiom in declared.items()
               if any(_overlaps(str(f), path) for path in read)}
    return touched or None


_TOKENS = re.compile(r"[A-Za-z_]\w*|\[-?\d+\]")


def _overlaps(a: str, b: str) -> bool:
    """One field path is the other or lies inside it."""
    x, y = _TOKENS.findall(a), _TOKENS.findall(b)
    n = min(len(x), len(y))
    return n > 0 and x[:n] == y[:n]


def _key(m) -> str:
    return f"{m.check}:{m.field}" if m.field else m.check
