"""Property-based checks: the same clauses with parameters drawn by Hypothesis.

The spec keeps parameters as data (the document's values are the default example), so a clause
whose expectations are formulas can be re-run on the reference with any other values. This
tests the reference's shapes and parameter counts against the spec's formulas, for every
parameter combination, not just the document's.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.reference import Reference
from conformance.judging import checks
from conformance.language.spec import load_all
from conformance.running.session import make_case

FORMULA_CHECKS = {"equal", "shape"}
SIZES = st.integers(min_value=1, max_value=12)


def formula_clauses():
    for clause in load_all():
        if clause.judged and clause.model and clause.action in ("summary", "forward", "weights") \
                and all(c["check"] in FORMULA_CHECKS for c in clause.expect):
            yield clause


@pytest.mark.parametrize("clause", list(formula_clauses()), ids=lambda c: c.id)
@given(data=st.data())
def test_formula_expectations_hold_for_drawn_parameters(clause, data):
    params = {name: data.draw(SIZES, label=name) for name in clause.params}
    if "voc_size" in params:
        params["voc_size"] = max(params["voc_size"], 5)  # the clauses' literal inputs use ids up to 4
    drawn = type(clause)(**{**clause.__dict__, "params": params})
    case = make_case(drawn)
    from conformance.running.actions import run_case
    obs = run_case(Reference(), case)
    for check in drawn.expect:
        result = checks.evaluate(checks.Context(obs, None, params, case), check)
        assert result.ok, (clause.id, params, result)


@given(batch=st.integers(0, 6), inputs=st.integers(1, 9), voc=st.integers(1, 50), dim=st.integers(1, 8))
def test_lookup_shape_and_rows_for_any_batch_and_inputs(batch, inputs, voc, dim):
    from backends.base import Layer, Model
    ref = Reference(seed=0)
    model = ref.build(Model((Layer("embedding", {"input_dim": voc, "output_dim": dim}),)))
    x = np.random.default_rng(batch * 31 + inputs).integers(0, voc, (batch, inputs))
    out = ref.forward(model, x)
    assert out.shape == (batch, inputs, dim) and out.dtype == np.float32
    for b in range(batch):
        for j in range(inputs):
            assert np.array_equal(out[b, j], model.weights[0][0][x[b, j]])
