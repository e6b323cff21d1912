"""No coercion turns a wrong answer right (issue 20, item 3): a flag is not a count, a float 0/1
mask is not a boolean one, a complex number is not a real one, a count of 10.9 is not 10, a loss
given as a string is not a loss, and a check states the shape and finiteness it needs.

The checks are judged with the pure judge on hand-made replies; the actions run in this process on
fake adapters in tests/hostile.py style (the reference with one answer bent)."""
from __future__ import annotations

import numpy as np
import pytest

from backends.base import LayerSummary
from backends.reference import Reference
from conformance.judging.checks import Context, evaluate
from conformance.judging.outcome import judge
from conformance.judging.replies import Observed
from conformance.judging.status import Status
from conformance.language.spec import load_all
from conformance.running.actions import AdapterError, count, real, run_case
from conformance.running.session import make_case

CLAUSES = {c.id: c for c in load_all()}


def _judged(clause_id, bend):
    """The status of ``clause_id`` when the backend's observation is the reference's, bent."""
    clause = CLAUSES[clause_id]
    case = make_case(clause)
    obs = run_case(Reference(), case)
    return judge(clause, "x", case, Observed(bend(dict(obs))), Observed(obs)).status


def test_the_reference_observation_itself_conforms_on_every_clause_used_here():
    for clause_id in ("doc.weights-argument-frozen", "mask.marks-nonzero-indices",
                      "init.initializer-argument-honoured", "init.fresh-layers-differ"):
        assert _judged(clause_id, lambda obs: obs) == Status.CONFORM, clause_id


def test_a_flag_is_not_a_count():
    assert _judged("doc.weights-argument-frozen", lambda obs: {**obs, "trainable": False}) == Status.DIVERGE
    assert _judged("doc.weights-argument-frozen", lambda obs: {**obs, "trainable": np.False_}) == Status.DIVERGE


def test_a_float_or_integer_mask_is_not_a_boolean_one():
    as_float = lambda obs: {**obs, "mask": obs["mask"].astype(np.float32)}  # noqa: E731
    as_int = lambda obs: {**obs, "mask": obs["mask"].astype(np.int64)}  # noqa: E731
    assert _judged("mask.marks-nonzero-indices", as_float) == Status.DIVERGE
    assert _judged("mask.marks-nonzero-indices", as_int) == Status.DIVERGE


def ev(obs, check, params=None):
    return evaluate(Context(obs, None, params or {}, None), check)


def test_complex_numbers_never_equal_real_ones():
    assert not ev({"n": 10 + 0j}, {"check": "equal", "of": "n", "to": 10}).ok
    assert not ev({"n": np.array([10 + 0j])}, {"check": "equal", "of": "n", "to": [10]}).ok
    assert not ev({"n": [True, 0]}, {"check": "equal", "of": "n", "to": [1, 0]}).ok
    # one number, whatever its Python or NumPy type: an integral float is that integer, 10.9 is not
    assert ev({"n": [np.int64(10), 10.0]}, {"check": "equal", "of": "n", "to": [10, 10]}).ok
    assert not ev({"n": 10.9}, {"check": "equal", "of": "n", "to": 10}).ok


def test_a_boolean_matrix_is_not_a_matrix_of_ones():
    bend = lambda obs: {**obs, "matrices": [np.ones_like(obs["matrices"][0], dtype=bool)]}  # noqa: E731
    assert _judged("init.initializer-argument-honoured", bend) == Status.DIVERGE
    assert _judged("init.initializer-argument-honoured",
                   lambda obs: {**obs, "matrices": [np.array([[True]])]}) == Status.DIVERGE


@pytest.mark.parametrize("second", [
    lambda m: np.full_like(m, np.inf),          # all +inf
    lambda m: np.full_like(m, -np.inf),
    lambda m: np.zeros((m.shape[0] + 1, m.shape[1]), m.dtype),  # another shape
    lambda m: np.zeros(m.size, m.dtype),        # the same values, flattened
    lambda m: m != 0,                           # booleans
])
def test_fresh_layers_differ_needs_two_finite_matrices_of_one_shape(second):
    bend = lambda obs: {**obs, "matrices": [obs["matrices"][0], second(obs["matrices"][0])]}  # noqa: E731
    assert _judged("init.fresh-layers-differ", bend) == Status.DIVERGE


# -- the actions: counts are integers, losses real numbers, or the cell is an error ---------------------
class TruncatedSummary(Reference):
    """Counts of 10.9 where the reference has 10 (int() would truncate them to the right answer)."""

    def summary(self, built):
        return [LayerSummary(row.output_shape, row.trainable + 0.9 if row.trainable else row.trainable,
                             row.non_trainable + 0.9 if row.non_trainable else row.non_trainable)
                for row in super().summary(built)]


class FractionalShapes(Reference):
    def summary(self, built):
        return [LayerSummary(tuple(None if d is None else d + 0.5 for d in row.output_shape),
                             row.trainable, row.non_trainable) for row in super().summary(built)]


class FlagCounts(Reference):
    def summary(self, built):
        return [LayerSummary(row.output_shape, bool(row.trainable), bool(row.non_trainable), row.params)
                for row in super().summary(built)]


class FloatCounts(Reference):
    """Integral floats (10.0): the same counts, accepted."""

    def summary(self, built):
        return [LayerSummary(row.output_shape, float(row.trainable), float(row.non_trainable))
                for row in super().summary(built)]


class StringLosses(Reference):
    def loss(self, built, x, y):
        total, reg = super().loss(built, x, y)
        return str(float(total)), reg

    def train_step(self, built, x, y, lr):
        return str(float(super().train_step(built, x, y, lr)))


class ComplexLosses(Reference):
    def loss(self, built, x, y):
        total, reg = super().loss(built, x, y)
        return complex(total), reg


@pytest.mark.parametrize("adapter, clause_id, named", [
    (TruncatedSummary, "pretrained.frozen-counts-non-trainable", r"\d+\.9"),
    (TruncatedSummary, "model.flatten-dense-parameters", r"\d+\.9"),
    (FractionalShapes, "model.flatten-dense-shapes", "3.5"),
    (FlagCounts, "pretrained.frozen-counts-non-trainable", "(True|False)"),
])
def test_a_count_that_is_not_an_integer_is_an_error_naming_field_and_value(adapter, clause_id, named):
    with pytest.raises(AdapterError, match=rf"layer \d's \w+ must be an integer count, got \w+ {named}"):
        run_case(adapter(), make_case(CLAUSES[clause_id]))


def test_an_integral_float_count_is_that_count():
    case = make_case(CLAUSES["pretrained.frozen-counts-non-trainable"])
    assert run_case(FloatCounts(), case)["non_trainable"] == run_case(Reference(), case)["non_trainable"]


@pytest.mark.parametrize("adapter, clause_id, named", [
    (StringLosses, "mask.loss-ignores-masked-targets", "loss 0 must be a real number, got str"),
    (StringLosses, "pretrained.frozen-unchanged-by-training", "train_step's loss must be a real number, got str"),
    (ComplexLosses, "mask.loss-ignores-masked-targets", "loss 0 must be a real number, got complex"),
])
def test_a_loss_that_is_not_a_real_number_is_an_error(adapter, clause_id, named):
    with pytest.raises(AdapterError, match=named):
        run_case(adapter(), make_case(CLAUSES[clause_id]))


def test_count_and_real_accept_numbers_and_refuse_the_rest():
    assert count(np.int32(7), "n") == 7 and count(7.0, "n") == 7 and type(count(7.0, "n")) is int
    for bad in (7.5, True, np.bool_(False), "7", float("nan"), float("inf"), None, 7 + 0j):
        with pytest.raises(AdapterError):
            count(bad, "n")
    assert real(np.float32(0.5), "l") == 0.5 and real(np.array(0.25), "l") == 0.25 and real(0, "l") == 0.0
    for bad in ("0.5", True, np.bool_(True), 0.5 + 0j, np.complex64(1), None, [0.5], np.zeros(2)):
        with pytest.raises(AdapterError):
            real(bad, "l")


# -- every check states the shape and finiteness it needs (the reference's, at the same field) ----------
def ev_ref(obs, ref, check, case=None):
    return evaluate(Context(obs, ref, {}, case), check)


def test_a_one_by_one_matrix_of_ones_is_not_a_layer_of_ones():
    one = lambda obs: {**obs, "matrices": [np.ones((1, 1), np.float32)]}  # noqa: E731
    assert _judged("init.initializer-argument-honoured", one) == Status.DIVERGE
    flat = lambda obs: {**obs, "matrices": [obs["matrices"][0].ravel()]}  # noqa: E731  the right values, flattened
    assert _judged("init.initializer-argument-honoured", flat) == Status.DIVERGE


SAMPLE = np.random.default_rng(0).uniform(-0.05, 0.05, (1000, 10))
RANGE = {"low": -0.05, "high": 0.05}


@pytest.mark.parametrize("check", [
    {"check": "within", "of": "m", **RANGE},
    {"check": "attains", "of": "m", **RANGE, "margin": 0.0004},
    {"check": "uniform", "of": "m", **RANGE},
    {"check": "independent", "of": "m"},
])
@pytest.mark.parametrize("bend", [
    lambda m: m.astype(str),                    # the right numbers, as strings
    lambda m: m.astype(np.complex128),          # as complex numbers (NumPy would drop the imaginary part)
    lambda m: m.ravel(),                        # the right values, another shape
    lambda m: m[:100],                          # fewer rows than the layer has
], ids=["strings", "complex", "flattened", "fewer-rows"])
def test_the_sample_checks_need_real_numbers_of_the_references_shape(check, bend):
    assert ev_ref({"m": SAMPLE}, {"m": SAMPLE}, check).ok  # the sample itself passes every one
    assert not ev_ref({"m": bend(SAMPLE)}, {"m": SAMPLE}, check).ok


@pytest.mark.parametrize("check", [
    {"check": "attains", "of": "m", **RANGE, "margin": 0.0004},
    {"check": "uniform", "of": "m", **RANGE},
    {"check": "independent", "of": "m"},
])
def test_the_sample_checks_need_finite_values(check):
    bent = SAMPLE.copy()
    bent[0, :2] = [-np.inf, np.inf]             # reaches both ends, by infinities
    result = ev_ref({"m": bent}, {"m": SAMPLE}, check)
    assert not result.ok and "not finite" in result.observed


def test_close_from_first_input_needs_real_numbers():
    x = np.array([[0, 1, 2]])
    case = type("Case", (), {"args": {"inputs": [x]}})()
    seq = np.arange(3, dtype=np.float64).reshape(1, 3, 1)
    check = {"check": "close_from_first_input", "of": "outputs[0]", "to": "reference"}
    assert ev_ref({"outputs": [seq]}, {"outputs": [seq]}, check, case).ok
    assert not ev_ref({"outputs": [seq.astype(str)]}, {"outputs": [seq]}, check, case).ok
    assert not ev_ref({"outputs": [seq]}, {"outputs": [seq.astype(str)]}, check, case).ok


def test_a_boolean_array_is_not_close_to_numbers_nor_of_their_shape():
    ones = np.ones((2, 3), np.float32)
    assert ev_ref({"o": ones}, {"o": ones}, {"check": "close", "of": "o"}).ok
    assert not ev_ref({"o": ones.astype(bool)}, {"o": ones}, {"check": "close", "of": "o"}).ok
    assert not ev_ref({"o": ones.astype(bool)}, {"o": ones}, {"check": "shape", "of": "o"}).ok


def test_is_true_needs_the_references_shape():
    assert ev_ref({"a": True}, {"a": True}, {"check": "is_true", "of": "a"}).ok
    assert not ev_ref({"a": [True, True]}, {"a": True}, {"check": "is_true", "of": "a"}).ok
