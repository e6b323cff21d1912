"""Drawn examples on every backend: Hypothesis properties, through the workers, in batches.

Still one pytest item per clause x backend. For a drawable clause (conformance/language/drawing.py) the
item runs:

1. **pass 1**: the clause's Hypothesis test in recording mode draws the profile's number of
   examples from the run's seed and records them, judging nothing (under ci, one Hypothesis run
   per set of sizes of drawing.BUCKETS, smallest first, each with its share of the examples, so
   that every run meets every set);
2. the document's example and every drawn one, resolved into cases, go to the backend's worker in
   **one message** (``run_many``: one answer per example, so a crash or a hang is pinned to its
   example); the reference runs each example in-process, once for all backends;
3. the document's example is judged first, as it always was (``outcome.judge``, a pure function
   of the clause, the case, the backend's reply, the reference's reply and the registry entry:
   this module gets the replies and the entry, the judge runs nothing). If it is already a new
   divergence, a changed known one, an error or unsupported, that is the verdict (the explicit
   example comes first). If it conforms, is emulated (the adapter's idiom must hold at every
   size too) or diverges exactly as a registered divergence pins it, the drawn examples are
   judged: a known divergence must not hide a new one;
4. **every** drawn example is judged from the answers, with the clause's checks (or its draw
   block's) against the reference on the same example and the registry entry that holds there.
   Each one conforms, diverges as registered (its entry's ``observed:`` pins hold) or diverges
   otherwise; the record counts the three (``drawn``). An example that diverges as registered
   does not stop the judging. The first that diverges otherwise is a new divergence ("known
   divergence changed" under a strict entry), even after known ones: **pass 2** replays the
   same Hypothesis run (same seed, no database, so the same examples in the same order) and
   shrinks it, examples that diverge as registered counting as passing. Every candidate the
   shrinker asks for that pass 1 did not draw is one round trip, up to the profile's budget;
   past it, candidates count as passing, so shrinking stops at the smallest failure found
   (counted, never timed, so a run replays exactly). Without one, a ``scope: drawn`` divergence
   is reported at its first example as it is (not shrunk), and otherwise the document's verdict
   stands. A drawn example the backend refuses (raises Unsupported on) is not judged but counted,
   with its reason (``refused``); on a normative clause, unless the adapter declares the limit
   (``drawn_limit``, backends/base.py), refusing what the document's example ran is a divergence
   at the first refused example (after a value divergence, which is shrunk first).

The record then says how many drawn examples were judged, the profile and the seed, and for a
failure the example itself (parameters and inputs), its expected and observed values and a
reproduction snippet for that very example. ``--hypothesis-seed N`` replays a run exactly.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed

from conformance.judging.outcome import (
    Outcome,
    judge,
    judging_error,
    refusals,
    refused_drawn,
    replay_options,
    unavailable,
)
from conformance.judging.replies import Observed, Refused
from conformance.judging.status import Status
from conformance.language import drawing, registry
from conformance.running import draw_cache, shared_draws, timings
from conformance.running.session import make_case


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int           # drawn examples per clause and backend (at most; fewer if the space is smaller)
    buckets: bool           # sizes from drawing.BUCKETS (compiled shapes recur) or from the whole domains
    shrink_calls: int       # round trips the shrinker may ask for, per failing item
    seed: int | None        # the run's seed unless --hypothesis-seed gives one; None: a random one


PROFILES = {
    # the default, in every CI run: derandomized (seed 0), sizes from buckets, within the speed budget
    "ci": Profile("ci", examples=20, buckets=True, shrink_calls=60, seed=0),
    # the weekly CI job: every size from its whole domain, a fresh seed each week (recorded)
    "thorough": Profile("thorough", examples=300, buckets=False, shrink_calls=300, seed=None),
}


@dataclass(frozen=True)
class RunConfig:
    """What every item of a run draws with: the profile and the seed (the same for every clause)."""

    profile: Profile
    seed: int
    max_examples: int | None = None  # --max-examples where it changes the profile's number; None: the profile's

    @property
    def examples(self) -> int:
        """Drawn examples per clause and backend."""
        return self.max_examples or self.profile.examples

    @property
    def draws(self) -> str:
        """What names this run's drawn examples besides the seed (shared_draws.py, draw_cache.py):
        the profile, and the number of examples where --max-examples changed it."""
        return self.profile.name if self.max_examples is None else f"{self.profile.name}-x{self.max_examples}"

    @property
    def replay(self) -> str:
        """The options that draw this run's examples again."""
        return replay_options(self.seed, self.profile.name, self.max_examples)

    @classmethod
    def make(cls, profile_name: str | None, seed: str | int | None, max_examples: int | None = None) -> RunConfig:
        name = profile_name or "ci"
        if name not in PROFILES:
            raise ValueError(f"--hypothesis-profile {name!r}: the conformance run knows the profiles "
                             f"{', '.join(PROFILES)}")
        profile = PROFILES[name]
        if seed is None:
            seed = profile.seed if profile.seed is not None else random.SystemRandom().randrange(2**32)
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise ValueError(f"--hypothesis-seed {seed!r}: the conformance run replays an integer seed") from None
        if max_examples is not None and (type(max_examples) is not int or max_examples < 1):
            raise ValueError(f"--max-examples {max_examples!r}: at least 1 drawn example per clause and backend")
        return cls(profile, seed, None if max_examples in (None, profile.examples) else max_examples)


class _Diverges(AssertionError):
    """Raised inside the Hypothesis test for an example that does not conform."""


def _settings(examples: int, shrink: bool) -> settings:
    return settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                    phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
                    report_multiple_bugs=False, suppress_health_check=list(HealthCheck),
                    verbosity=Verbosity.quiet, print_blob=False)


def _hypothesis_run(strategy, body, conf: settings, seed: int) -> None:
    @hypothesis_seed(seed)
    @conf
    @given(strategy)
    def test(example):
        body(example)

    test()


# What a backend's drawn examples vary: MODELS (sizes, weights and inputs, the default) or INPUTS
# only, against one model per clause (an adapter declaring drawn_inputs_only: an exported backend,
# for which every new model is a new export). Each kind is drawn once per run for all its backends.
MODELS, INPUTS = "models", "inputs"


def draws_of(session, backend: str) -> str:
    """The kind of drawn examples ``backend`` gets (its adapter's ``drawn_inputs_only``)."""
    return INPUTS if getattr(session.backends.get(backend), "drawn_inputs_only", False) else MODELS


def _runs(clause, run: RunConfig, kind: str = MODELS) -> list:
    """(strategy, examples, seed offset) per Hypothesis run of a clause: under ci one run per set
    of sizes (drawing.strategies, or drawing.input_strategies around the clause's one model for
    INPUTS), each with its share of the profile's examples and a seed of its own; otherwise one run."""
    if kind == INPUTS:
        strategies = drawing.input_strategies(clause, run.profile.buckets,
                                              drawing.one_model(clause, run.profile.buckets, run.seed))
    else:
        strategies = drawing.strategies(clause, run.profile.buckets)
    share = -(-run.examples // len(strategies))
    return [(strategy, share, n) for n, strategy in enumerate(strategies)]


def draw_examples(clause, run: RunConfig, kind: str = MODELS) -> list:
    """Pass 1: the examples the run draws for ``clause``, in order (smallest sizes first)."""
    drawn = []
    for strategy, examples, offset in _runs(clause, run, kind):
        _hypothesis_run(strategy, drawn.append, _settings(examples, shrink=False), run.seed + offset)
    return drawn


def example_clause(clause, example):
    """``clause`` at a drawn example: its parameters and arrays, the weights' seed, and the checks
    for drawn examples."""
    weights, args = clause.weights, {**clause.args, **example.args}
    if weights != "fresh":
        weights = {**(weights if isinstance(weights, dict) else {}), "seed": example.seed}
    if clause.action == "fresh_weights":
        args["seed"] = example.seed
    return replace(clause, params=dict(example.params), args=args,
                   weights=weights, expect=list(clause.draw.get("expect", clause.expect)))


def drawn(session, clause, run: RunConfig, kind: str = MODELS):
    """The clause's drawn examples of ``kind`` and their cases, drawn once for every backend that
    gets that kind (the same examples on each, so each is compared with one reference
    observation). Kept for the clause at hand and the next ones, whose batches go out ahead."""
    key = (clause.id, kind)
    if key not in session.drawn:
        if getattr(session, "shared_draws", None) is None:  # a serial run (or a test's stand-in session)
            session.drawn[key] = _draw(clause, run, kind, getattr(session, "kept_draws", None))
        else:  # under xdist: once per run, whichever xdist worker comes first (shared_draws.py)
            examples, cases, references = shared_draws.get_or_make(
                session.shared_draws, clause.id, run.draws, run.seed,
                lambda: _draw_with_references(session, clause, run, kind), kind=kind)
            session.drawn[key] = (examples, cases)
            session.prime_reference(clause.id, references)
        while len(session.drawn) > 6:  # three clauses, of both kinds
            session.drawn.pop(next(iter(session.drawn)))
    return session.drawn[key]


def _draw(clause, run: RunConfig, kind: str = MODELS, kept=None):
    """(the clause's drawn examples, their cases by example key); the examples are read from the
    run's folder of kept examples ``kept`` (draw_cache.py) when it has them, else drawn (and kept)."""
    with timings.phase("pytest", "reference", "draw", clause.action):
        if not drawing.is_drawable(clause):
            examples = []
        elif kept is not None:
            examples = draw_cache.get_or_make(kept, clause.id, run, kind, lambda: draw_examples(clause, run, kind))
        else:
            examples = draw_examples(clause, run, kind)
        return examples, {ex.key(): make_case(example_clause(clause, ex), ex.key()) for ex in examples}


def _draw_with_references(session, clause, run: RunConfig, kind: str = MODELS):
    """What shared_draws keeps of a clause: its drawn examples, their cases, and the reference's
    reply to the document's case and to every drawn one, by case key. A reply the reference
    could not make (an exception of the engine's own) is left out: the item that needs it
    computes it and reports the error, as in a serial run."""
    examples, cases = _draw(clause, run, kind, getattr(session, "kept_draws", None))
    references = {}
    for case in (session.case(clause), *cases.values()):
        try:
            references[(case.clause, case.example)] = session.reference(case)
        except Exception:  # noqa: BLE001 - reported by the item that asks for it
            pass
    return examples, cases, references


def judge_item(session, clause, backend: str, run: RunConfig) -> Outcome:
    """The verdict on ``clause`` x ``backend``: the document's example, then the drawn ones when
    the clause is drawable, all in one message to the backend's worker. Always a record: anything
    that goes wrong on the way (Hypothesis itself included) is an error naming its cause."""
    try:
        return _judge_item(session, clause, backend, run)
    except Exception as exc:  # noqa: BLE001 - every item ends in a record, with the cause
        drawable = drawing.is_drawable(clause)
        return _properties(judging_error(Outcome(clause, backend, Status.CONFORM), exc), run, 0 if drawable else None)


def _judge_item(session, clause, backend: str, run: RunConfig) -> Outcome:
    drawable = drawing.is_drawable(clause)
    availability = session.availability(backend)
    if not availability.available:
        return _properties(unavailable(clause, backend, availability.reason,
                                       getattr(availability, "broken", False)), run, None)
    try:
        batch, examples, cases = _batch(session, clause, run, backend)
    except Exception as exc:  # noqa: BLE001 - a clause or draw block that cannot make a case
        return _properties(judging_error(Outcome(clause, backend, Status.CONFORM), exc), run, 0 if drawable else None)
    _submit_ahead(session, clause, backend, run)
    answers = session.run_many(backend, batch) if drawable else [session.run(backend, batch[0])]
    _submit_next_here(session, backend, run)
    outcome = _judge_case(session, clause, backend, batch[0], answers[0])
    if not drawable:
        return _properties(outcome, run, None)
    if not _drawn_tell(outcome):
        return _properties(outcome, run, 0)
    replies = dict(zip(cases, answers[1:]))
    return _judge_examples(session, clause, backend, run, examples, cases, replies, outcome)


def _drawn_tell(doc: Outcome) -> bool:
    """Whether the drawn examples still have something to tell after the document's example: yes
    when it conforms (emulated included: the adapter's idiom must hold at every size too) or
    diverges exactly as registered (a drawn example that diverges otherwise is a new divergence
    hidden behind the known one); no when it is already a new divergence, a changed one, an error
    or unsupported."""
    if doc.status in (Status.CONFORM, Status.EMULATED):
        return True
    return doc.status == Status.DIVERGE and doc.known and not doc.changed



def _judge_case(session, clause, backend: str, case, reply) -> Outcome:
    """The judge's verdict on one case (the document's example or a drawn one), with the
    reference's reply to the same case and the registry entry for the backend's release."""
    try:
        reference = session.reference(case)
        entry = registry.find(session.known, backend, clause.id, session.availability(backend).version,
                              drawn=case.example is not None)
    except Exception as exc:  # noqa: BLE001 - every item ends in a record, with the cause
        return judging_error(Outcome(clause, backend, Status.CONFORM), exc)
    with timings.phase("pytest", backend, "judge"):
        return judge(clause, backend, case, reply, reference, entry)


def _batch(session, clause, run, backend):
    """(the document's case and every drawn one for ``backend``, the examples, their cases by key)."""
    examples, cases = drawn(session, clause, run, draws_of(session, backend))
    return [session.case(clause), *cases.values()], examples, cases


# A serial run uses both cores: before this item's answers are read, the next five items that
# run on other workers get their batches, so those workers compute while this one is waited for
# and judged. Measured on 2 cores (full run, ci profile): six columns, 61 s with one item ahead, 54 s
# with two, the same with three; every framework busy at once fought for the cores (slower than
# serial). Nine columns with the exported artifacts read from the cache (2026-12-02, quiet, warm):
# 60.7 s with two ahead, 56.3 with three, 56.1 with four (two runs each; 55 to 56 s looking nine
# items ahead instead of five). With the cold cache's exports (2026-12-02, quiet, two runs each):
# 97.8 and 98.5 s with three ahead of five, 94.1 and 95.5 s with five ahead of nine; warm 48.7 s
# and 47.6 s.
# "Next" skips the items that have no batch to hand ahead (the reference, which runs in this
# process), so the pipeline
# does not stall where one clause ends and the next begins. The order of the items is known only
# when one process runs them all (not under xdist).
AHEAD = 5       # batches handed ahead, each to another worker
LOOK_AHEAD = 9  # items looked at to find them


def _submit_ahead(session, clause, backend, run) -> None:
    item, handed, seen = (clause.id, backend), 0, {backend}
    for _ in range(LOOK_AHEAD):
        item = (session.following or {}).get(item)
        if item is None or item[0] not in session.clauses or item[1] in seen:
            return
        seen.add(item[1])
        if item[1] != "reference":
            _submit(session, item[1], session.clauses[item[0]], run)
            handed += 1
            if handed == AHEAD:
                return


def _submit_next_here(session, backend, run) -> None:
    """Without a plan (under xdist, where a worker runs one backend's items one after the
    other), the backend's worker, idle now that its answers are in, gets the next item's batch
    if that item is its own: it computes while this item is judged."""
    nxt = session.next_item
    if session.following is None and nxt is not None and nxt[1] == backend != "reference" \
            and nxt[0] in session.clauses:
        _submit(session, backend, session.clauses[nxt[0]], run)


def _submit(session, name, clause, run) -> None:
    try:
        batch = _batch(session, clause, run, name)[0]
    except Exception:  # noqa: BLE001 - its own item reports it
        return
    session.submit(name, batch)


def _judge_one(session, clause, backend, example, case, reply) -> Outcome:
    return _judge_case(session, example_clause(clause, example), backend, case, reply)


@dataclass
class _Tally:
    """How the drawn examples of one item went: conformed (emulated ones included), diverged as a
    registered divergence pins it, diverged otherwise (a new divergence, or a known one changed)."""

    conform: int = 0
    known: int = 0
    other: int = 0

    def plain(self) -> dict:
        return {"conform": self.conform, "known": self.known, "other": self.other}


def _judge_examples(session, clause, backend, run, examples, cases, replies, doc_outcome):
    """Judge every drawn answer (pass 2). An example that diverges as registered does not stop
    the judging: the first that diverges otherwise is shrunk and is the verdict, even after known
    ones; without one, the first known divergence (a ``scope: drawn`` entry) or the document's
    own verdict stands."""
    tally, first_known, first_other, judged, refused = _Tally(), None, None, 0, []
    for example in examples:
        key = example.key()
        reply = replies[key]
        if isinstance(reply, Refused):  # counted, with its reason: never dropped in silence
            refused.append((example, reply))
            continue
        judged += 1
        outcome = _judge_one(session, clause, backend, example, cases[key], reply)
        if outcome.status == Status.ERROR:  # the backend, the reference or a check could not run it: not shrunk
            return _properties(_as_item(outcome, clause), run, judged, example=example, tally=tally,
                               refused=refusals([r for _, r in refused]))
        if outcome.status != Status.DIVERGE:
            tally.conform += 1
        elif outcome.known:
            tally.known += 1
            first_known = first_known or (example, outcome)
        else:
            tally.other += 1
            first_other = first_other or (example, outcome)
    declared = session.drawn_limit(backend) if refused else ""
    said = refusals([r for _, r in refused], declared)
    if first_other is None:
        if refused and not declared and clause.normative:  # refused what the document's example ran
            example, reply = refused[0]
            return _properties(refused_drawn(clause, backend, reply, said, judged), run, judged, example=example,
                               tally=tally, refused=said)
        if first_known is not None and doc_outcome.status != Status.DIVERGE:  # shows at drawn examples only
            example, outcome = first_known
            return _properties(_as_item(outcome, clause), run, judged, example=example, tally=tally, refused=said)
        return _properties(doc_outcome, run, judged, tally=tally, refused=said)
    example, outcome, calls, case = _shrink(session, clause, backend, run, cases, replies,
                                            draws_of(session, backend))
    outcome = _as_item(outcome, clause)
    if backend != "reference":
        reply = session.run(backend, case)  # the snippet of this very example
        outcome.snippet = reply.snippet or outcome.snippet
    return _properties(outcome, run, judged, example=example, shrunk=True, calls=calls, tally=tally, refused=said)



def _shrink(session, clause, backend, run, cases, replies, kind=MODELS):
    """Pass 2: the same Hypothesis run, judging from the answers, shrinks the first failure. Returns
    (smallest failing example, its outcome, the round trips the shrinker asked for, its case)."""
    state = {"calls": 0, "failure": None}
    # the shrinker's candidates are this item's own: the drawn cases are shared with the clause's
    # other backends, whose batches must hold the drawn examples only
    cases, replies = dict(cases), dict(replies)

    def body(example):
        key = example.key()
        case = cases.get(key)
        if case is None:
            case = cases[key] = make_case(example_clause(clause, example), key)
        reply = replies.get(key)
        if reply is None:
            if state["calls"] >= run.profile.shrink_calls:
                return  # over the shrink budget: counts as passing, so shrinking stops
            state["calls"] += 1
            reply = replies[key] = session.run(backend, case)
        if not isinstance(reply, Observed):
            return  # a candidate the backend cannot run is no smaller failure of this kind
        outcome = _judge_one(session, clause, backend, example, case, reply)
        if outcome.status == Status.DIVERGE and not outcome.known:  # as registered: no failure of its own
            state["failure"] = (example, outcome)
            raise _Diverges(outcome.summary())

    try:  # the runs of pass 1 again, in order: the first one holding a failure shrinks it
        for strategy, examples, offset in _runs(clause, run, kind):
            _hypothesis_run(strategy, body, _settings(examples, shrink=True), run.seed + offset)
    except _Diverges:
        pass
    if state["failure"] is None:  # cannot happen for a deterministic backend: say so
        raise RuntimeError("the failing example did not fail again when replayed (a flaky backend?)")
    example, outcome = state["failure"]
    return example, outcome, state["calls"], cases[example.key()]


def _as_item(outcome: Outcome, clause) -> Outcome:
    """An example's outcome as the item's: the clause as the spec states it."""
    outcome.clause = clause
    return outcome


def _properties(outcome: Outcome, run: RunConfig, judged: int | None, example=None, shrunk=False, calls=0,
                tally: _Tally | None = None, refused: dict | None = None) -> Outcome:
    outcome.examples, outcome.seed, outcome.profile = judged, run.seed, run.profile.name
    outcome.max_examples = run.max_examples
    if judged is not None:
        outcome.drawn = (tally or _Tally()).plain()
        outcome.refused = refused or refusals([])
    if example is not None:
        outcome.example = {**example.plain(), "shrunk": shrunk, "shrink_calls": calls}
    return outcome
