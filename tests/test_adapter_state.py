"""The contract's two styles of state and the clause given to ``emulation`` (docs/ADAPTERS.md):
an adapter of a functional framework returns new state from ``set_weights`` and ``train_step``
instead of mutating, and gets the same observations as one that mutates; ``emulation`` receives
the clause id when its signature takes ``clause``, and an older three-argument one still works."""
from __future__ import annotations

import copy

import numpy as np

from backends.reference import Reference
from conformance.language.spec import load_all
from conformance.running import actions
from conformance.running.actions import run_case
from conformance.running.session import make_case

CLAUSES = {c.id: c for c in load_all()}


class Functional(Reference):
    """The reference, with immutable state: every update makes a new model, the old one untouched."""

    def set_weights(self, built, weights):
        new = copy.copy(built)
        super().set_weights(new, weights)
        return new

    def train_step(self, built, x, y, lr):
        new = copy.deepcopy(built)
        loss = super().train_step(new, x, y, lr)
        return loss, new

    def emulation(self, action, model, args, clause=None):
        return {"outputs": f"idiom for {clause}"}


class OldSignature(Reference):
    def emulation(self, action, model, args):
        return {"outputs": "three arguments"}


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def test_new_state_from_train_step_is_what_after_reads():
    case = make_case(CLAUSES["train.sgd-updates-looked-up-rows-only"])
    mutating, functional = run_case(Reference(), case), run_case(Functional(), case)
    functional.pop("emulated")
    assert _same(mutating, functional)
    assert not np.array_equal(mutating["after"][0][0], mutating["before"][0][0])  # the step did change weights


def test_new_state_from_set_weights_is_what_runs():
    case = make_case(CLAUSES["lookup.rows-are-matrix-rows"])
    # a Functional set_weights that the engine ignored would run the unset model: weights drawn afresh
    assert np.allclose(run_case(Functional(), case)["outputs"][0], run_case(Reference(), case)["outputs"][0])


def test_drawn_examples_keep_the_new_state_of_a_reused_model():
    clause = CLAUSES["lookup.rows-are-matrix-rows"]
    first = make_case(clause, example="a")
    second = make_case(clause, example="b")
    second.weights = [[w + 1.0 for w in ws] for ws in second.weights]
    actions._BUILT.clear()
    backend = Functional()
    run_case(backend, first)
    out = run_case(backend, second)["outputs"][0]
    assert np.allclose(out, run_case(Reference(), second)["outputs"][0])
    actions._BUILT.clear()


def test_emulation_gets_the_clause_when_it_takes_one():
    case = make_case(CLAUSES["lookup.rows-are-matrix-rows"])
    assert run_case(Functional(), case)["emulated"] == {"outputs": "idiom for lookup.rows-are-matrix-rows"}
    assert run_case(OldSignature(), case)["emulated"] == {"outputs": "three arguments"}
