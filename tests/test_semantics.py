"""The reference's alternative semantics (backends/reference.py, ``SEMANTICS``) against numbers
computed by hand, the checks that compare with them (``to: {reference: NAME}``, ``close`` with
``exact_zeros``), and the torch pins that name them: they hold where torch behaves as their reason
says, at the document's example and at drawn ones, and fail where a torch would do anything else."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from backends.base import Layer, Model
from backends.reference import (
    MAX_NORM,
    PREFIX,
    SEMANTICS,
    UNMASKED,
    Reference,
    renorm_looked_up,
    seeded_weights,
    semantics_for,
)
from conformance.judging import checks
from conformance.judging.outcome import judge
from conformance.judging.replies import Observed
from conformance.judging.status import Status
from conformance.language import registry, vocabulary
from conformance.language.spec import load_all
from conformance.running.actions import run_case
from conformance.running.properties import RunConfig, drawn, example_clause
from conformance.running.session import make_case, reference_observation

from .test_reference import DOC_MATRIX, built, emb
from .test_registry_facts import _load, _refused

CLAUSES = {c.id: c for c in load_all()}
TORCH = {e.clause: e for e in registry.load().values() if e.backend == "torch"}
# SimpleRNN(1): kernel [1, 0.5], recurrent 0.5, bias 0 on the document's printed matrix
SIMPLE = [np.array([[1.0], [0.5]], np.float32), np.array([[0.5]], np.float32), np.zeros(1, np.float32)]


def _simple_rnn(return_sequences=True, semantics=PREFIX):
    ref, model = built([emb(mask_zero=True), Layer("simple_rnn", {"units": 1, "return_sequences": return_sequences})],
                       weights=[[DOC_MATRIX], SIMPLE])
    return Reference(semantics=semantics), model


def test_the_reference_implements_the_semantics_the_vocabulary_declares():
    assert list(SEMANTICS) == list(vocabulary.SEMANTICS)
    with pytest.raises(ValueError, match="no semantics 'keras'"):
        Reference(semantics="keras")


def test_prefix_runs_each_rows_first_nonzero_count_steps_zeros_included_then_fills_zeros():
    ref, model = _simple_rnn()
    out = ref.forward(model, np.array([[1, 0, 3, 0, 2, 0, 0], [0, 0, 4, 1, 0, 2, 0]]))[:, :, 0]
    a1 = math.tanh(-0.044 + 0.5 * 0.029)                    # index 1
    a2 = math.tanh(0.01 + 0.5 * 0.025 + 0.5 * a1)           # index 0: run, not skipped
    a3 = math.tanh(-0.018 + 0.5 * -0.045 + 0.5 * a2)        # index 3; length 3: the rest cut off
    b1 = math.tanh(0.01 + 0.5 * 0.025)                      # index 0 (leading)
    b2 = math.tanh(0.01 + 0.5 * 0.025 + 0.5 * b1)           # index 0
    b3 = math.tanh(0.035 + 0.5 * 0.012 + 0.5 * b2)          # index 4; length 3
    np.testing.assert_allclose(out, [[a1, a2, a3, 0, 0, 0, 0], [b1, b2, b3, 0, 0, 0, 0]], rtol=1e-6)
    assert not out[:, 3:].any()  # exact zeros: a fill, not a computed value
    ref, model = _simple_rnn(return_sequences=False)
    final = ref.forward(model, np.array([[1, 0, 3, 0, 2, 0, 0], [0, 0, 4, 1, 0, 2, 0]]))[:, 0]
    np.testing.assert_allclose(final, [a3, b3], rtol=1e-6)  # the state after step `length`


def test_max_norm_scales_only_looked_up_rows_longer_than_one_by_one_over_norm_plus_1e_7():
    matrix = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    out = renorm_looked_up(matrix, np.array([[0, 1], [0, 0]]))
    np.testing.assert_array_equal(out[1:], matrix[1:])  # shorter, or not looked up: as they were
    np.testing.assert_allclose(out[0], [3 / (5 + 1e-7), 4 / (5 + 1e-7)], rtol=1e-15)


def test_max_norm_step_is_a_plain_step_from_the_renormalised_matrix_with_no_constraint_after():
    unit_norm = {"unit_norm": {"axis": 1}}
    constrained = [Layer("embedding", {"input_dim": 3, "output_dim": 2, "embeddings_constraint": unit_norm}),
                   Layer("flatten"), Layer("dense", {"units": 1})]
    dense = [np.array([[0.5], [-1.0]], np.float32), np.zeros(1, np.float32)]
    matrix = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]], np.float32)
    model = Reference().build(Model(tuple(constrained), (1,)))
    model.weights = [[matrix], [], dense]
    ref = Reference(semantics=MAX_NORM)
    ref.train_step(model, np.array([[0], [1]]), np.array([[1.0], [0.0]]), lr=0.1)
    # by hand: row 0 -> (0.6, 0.8) (norm 5 + 1e-7); predictions -0.5 and -0.3 for targets 1 and 0
    row0 = np.array([3.0, 4.0]) / (5 + 1e-7)
    g = 2 * (np.array([row0 @ [0.5, -1.0], 0.3 * 0.5 - 0.4]) - [1.0, 0.0]) / 2
    expected = np.array([row0 - 0.1 * g[0] * np.array([0.5, -1.0]), [0.3, 0.4] - 0.1 * g[1] * np.array([0.5, -1.0]),
                         [6.0, 8.0]])
    np.testing.assert_allclose(model.weights[0][0], expected, rtol=1e-6)


def test_each_semantics_is_computed_where_it_changes_the_observation_only():
    assert semantics_for("forward", make_case(CLAUSES["mask.rnn-repeats-hidden-state"]).model) == (PREFIX, UNMASKED)
    assert semantics_for("forward", make_case(CLAUSES["mask.still-outputs-every-vector"]).model) == ()
    assert semantics_for("train_step", make_case(CLAUSES["constraint.unit-norm-after-step"]).model) == (MAX_NORM,)
    assert "under" not in reference_observation(make_case(CLAUSES["lookup.rows-are-matrix-rows"]))


# -- the checks -------------------------------------------------------------------------------------
def _ctx(observed, under):
    return checks.Context({"outputs": [np.asarray(observed)]}, {"under": {PREFIX: {"outputs": [np.asarray(under)]}}},
                          {}, None)


def test_close_to_a_semantics_reads_the_references_observation_under_it():
    check = {"check": "close", "of": "outputs[0]", "to": {"reference": PREFIX}}
    assert checks.evaluate(_ctx([[0.5, 0.0]], [[0.5, 0.0]]), check).ok
    assert not checks.evaluate(_ctx([[0.5, 0.1]], [[0.5, 0.0]]), check).ok
    with pytest.raises(ValueError, match="'prefix_of_nonzero_count', but the reference made no observation.*has: none"):
        checks.evaluate(checks.Context({"outputs": [np.zeros(2)]}, {"outputs": [np.zeros(2)]}, {}, None), check)


def test_exact_zeros_fails_a_tiny_value_where_the_target_is_a_filled_zero():
    check = {"check": "close", "of": "outputs[0]", "to": {"reference": PREFIX}}
    near = _ctx([[0.5, 1e-8, 0.0]], [[0.5, 0.0, 0.0]])
    assert checks.evaluate(near, check).ok  # within float32's atol
    result = checks.evaluate(near, {**check, "exact_zeros": True})
    assert not result.ok and result.observed == {"at": [0, 1], "observed there": "1e-08", "places not 0": 1}
    assert checks.evaluate(_ctx([[0.5, 0.0, 0.0]], [[0.5, 0.0, 0.0]]), {**check, "exact_zeros": True}).ok


ENTRY = ("backend: keras-tensorflow\ndivergences:\n  - clause: lookup.rows-are-matrix-rows\n"
         "    reason: registered for the test, with a reason long enough to read.\n"
         "    observed:\n      - {check: close, of: outputs, to: %s}\n")


def test_a_pin_names_a_declared_semantics_and_nothing_else(tmp_path):
    assert _load(tmp_path, ENTRY % "{reference: prefix_of_nonzero_count}", name="tf-keras.yaml")
    message = _refused(tmp_path, ENTRY % "{reference: keras}", name="tf-keras.yaml")
    assert "lookup.rows-are-matrix-rows" in message and "no such semantics" in message
    assert "prefix_of_nonzero_count, max_norm_before_step" in message
    message = _refused(tmp_path, ENTRY % "{reference: prefix_of_nonzero_count, of: outputs}", name="tf-keras.yaml")
    assert "a mapping is {of: FIELD} or {reference: SEMANTICS}" in message


# -- the torch pins -----------------------------------------------------------------------------------
MASKING = ("mask.rnn-repeats-hidden-state", "mask.batch-repeats-hidden-state", "mask.final-state-ignores-masked-steps",
           "mask.final-state-ignores-masked-steps-lstm", "mask.final-state-ignores-masked-steps-gru")


def _cases(clause_id, count=6):
    """The document's case and the first drawn ones of the ci profile (with padding, where inputs are padded)."""
    clause = CLAUSES[clause_id]

    class Session:
        drawn = {}

    examples, cases = drawn(Session(), clause, RunConfig.make("ci", None))
    padded = [(ex, cases[ex.key()]) for ex in examples
              if any((np.asarray(x) == 0).any() for x in cases[ex.key()].args.get("inputs", [[0]]))]
    return [(clause, make_case(clause))] + [(example_clause(clause, ex), case) for ex, case in padded[:count]]


def _verdict(clause, case, obs):
    ref = reference_observation(case)
    return judge(clause, "torch", case, Observed(obs), Observed(ref), TORCH[clause.id])


def _as_torch(case):
    """What torch's packing idiom computes: the reference under the prefix semantics."""
    return reference_observation(case)["under"][PREFIX]


@pytest.mark.parametrize("clause_id", MASKING)
def test_the_masking_clauses_draw_no_row_of_zeros_only(clause_id):
    """pack_padded_sequence refuses a length of 0 (RuntimeError, pinned for mask.loss-ignores-masked-targets,
    which draws such rows): the pins above compare values, so these clauses must never draw one."""
    assert not any(gen.get("empty_rows") for gen in CLAUSES[clause_id].draw["with"]["inputs"])
    for _, case in _cases(clause_id, count=20)[1:]:
        assert all((np.asarray(x) != 0).any(axis=1).all() for x in case.args["inputs"]), case.example


@pytest.mark.parametrize("clause_id", MASKING)
def test_the_masking_pins_hold_as_torch_behaves_at_the_document_and_drawn_examples(clause_id):
    for clause, case in _cases(clause_id):
        outcome = _verdict(clause, case, _as_torch(case))
        assert outcome.status == Status.CONFORM or (outcome.known and not outcome.changed), (
            case.example, outcome.reason, outcome.pinned)


def _layer_args(model, index, **args):
    layers = list(model.layers)
    layers[index] = Layer(layers[index].kind, {**layers[index].args, **args})
    return replace(model, layers=tuple(layers))


@pytest.mark.parametrize("clause_id", MASKING)
def test_the_masking_pins_fail_a_torch_that_does_not_pack(clause_id):
    """A torch that runs every step, the zeros after the length too (no packing): the pins fail at the
    document's example and at every drawn one with padding."""
    for clause, case in _cases(clause_id):
        unpacked = run_case(Reference(), replace(case, model=_layer_args(case.model, 0, mask_zero=False)))
        outcome = _verdict(clause, case, unpacked)
        assert outcome.changed, (case.example, outcome.status, outcome.reason)


@pytest.mark.parametrize("clause_id", MASKING[:2])
def test_the_padding_must_be_exact_zeros(clause_id):
    for clause, case in _cases(clause_id):
        obs = _as_torch(case)
        filled = [np.where(o == 0, np.float32(1e-8), o) for o in obs["outputs"]]
        outcome = _verdict(clause, case, dict(obs, outputs=filled))
        assert outcome.changed and "exactly 0" in outcome.reason, outcome.reason


def _unit_norm_cases():
    return _cases("constraint.unit-norm-after-step")


def _trained(case, semantics):
    return run_case(Reference(semantics=semantics), case)


def test_the_max_norm_pin_holds_as_torch_behaves_and_fails_a_unit_norm_or_a_skipped_renorm():
    for clause, case in _unit_norm_cases():
        torch_like = _trained(case, MAX_NORM)
        outcome = _verdict(clause, case, torch_like)
        assert outcome.known and not outcome.changed, (case.example, outcome.reason)
        # a framework that normalises every row (the document's UnitNorm) conforms: not this pin's business;
        # one that also changes a row it did not look up does not match it
        extra = dict(torch_like, after=[[torch_like["after"][0][0].copy()], *torch_like["after"][1:]])
        untouched = sorted(set(range(len(extra["after"][0][0]))) - set(np.asarray(case.args["x"]).ravel().tolist()))
        if untouched:
            extra["after"][0][0][untouched[0]] *= np.float32(1.5)
            assert _verdict(clause, case, extra).changed
    # a looked-up row longer than 1: torch scales it before the step; a max_norm that skipped it differs
    clause, case = _unit_norm_cases()[0]
    weights = [[w.copy() for w in ws] for ws in case.weights]
    looked = int(np.asarray(case.args["x"]).ravel()[0])
    weights[0][0][looked] *= np.float32(40.0 / np.linalg.norm(weights[0][0][looked]))
    long_case = replace(case, weights=weights)
    torch_like = _trained(long_case, MAX_NORM)
    assert _verdict(clause, long_case, torch_like).known
    plain = _layer_args(case.model, 0, embeddings_constraint=None)  # max_norm that skipped the long row
    skipped = dict(torch_like, after=_trained(replace(long_case, model=plain), None)["after"])
    assert _verdict(clause, long_case, skipped).changed


def test_mask_ignored_runs_every_step_as_the_unmasked_model_does():
    """Flax's nnx.RNN per-step outputs: the masking model computes what the same model without
    mask_zero computes, zeros run as inputs."""
    layers = (Layer("embedding", {"input_dim": 5, "output_dim": 2, "mask_zero": True}),
              Layer("simple_rnn", {"units": 1, "return_sequences": True}))
    plain = Model((Layer("embedding", {"input_dim": 5, "output_dim": 2}), layers[1]))
    weights = seeded_weights(Model(layers), 3)
    x = np.array([[1, 0, 3, 0, 2, 0, 0]])
    ignored, masked, reference = Reference(semantics=UNMASKED), Reference(), Reference()
    out = []
    for backend, model in ((ignored, Model(layers)), (masked, Model(layers)), (reference, plain)):
        built = backend.build(model)
        backend.set_weights(built, weights)
        out.append(backend.forward(built, x))
    np.testing.assert_array_equal(out[0], out[2])
    assert not np.allclose(out[0], out[1])  # the document's masking repeats states at the zeros
