"""The reference weight layout (backends/base.py) really is the Keras layout.

For every layer kind, the reference's seeded weights go into a Keras model through the adapter
and come back bit for bit; recurrent layers fed those weights compute what the reference
computes. If the two layouts differed (a transposed kernel, another gate order, GRU's bias rows),
the round trip or the forward would fail here, before any conformance clause is judged.

Keras fixes its backend when first imported, so the adapters run in their own worker process
(conformance/running/worker.py), exactly as in a conformance run; this test process never imports Keras.
"""
from __future__ import annotations

import numpy as np
import pytest

from backends.base import Layer, Model
from backends.reference import Reference, seeded_weights
from conformance.judging.replies import Failed, Observed
from conformance.judging.tolerances import TOLERANCES
from conformance.running.actions import Case, run_case
from tests.framework_workers import start_worker

ADAPTERS = ("keras-tensorflow", "tf-keras")
RNN_KINDS = ("simple_rnn", "lstm", "gru")
EMBEDDING = Layer("embedding", {"input_dim": 5, "output_dim": 2})
SEQUENCES = np.array([[1, 4, 2, 3], [0, 1, 1, 2]], dtype=np.int32)


def _stack(kind: str, **args) -> Model:
    """The embedding alone, or the embedding followed by one layer of ``kind``."""
    if kind == "embedding":
        return Model((Layer("embedding", {"input_dim": 5, "output_dim": 2, **args}),))
    if kind == "flatten":
        return Model((EMBEDDING, Layer("flatten")), input_shape=(4,))
    if kind == "dense":
        return Model((EMBEDDING, Layer("dense", {"units": 3})))
    return Model((Layer("embedding", {"input_dim": 5, "output_dim": 2, **args}),
                  Layer(kind, {"units": 3, "return_sequences": True})))


@pytest.fixture(scope="module", params=ADAPTERS)
def worker(request):
    handle, _ = start_worker(request.param)
    yield handle
    handle.close()


def _run(worker, case: Case) -> dict:
    reply = worker.run(case)
    assert isinstance(reply, Observed), f"{worker.backend_name}: {reply}"
    assert "raised" not in reply.observation, f"{worker.backend_name} raised: {reply.observation}"
    return reply.observation


@pytest.mark.parametrize("kind", ["embedding", "flatten", "dense", *RNN_KINDS])
def test_reference_weights_round_trip_unchanged(worker, kind):
    model = _stack(kind)
    given = seeded_weights(model, seed=3)
    obs = _run(worker, Case(f"round-trip-{kind}", "weights", model, {}, given))
    back = obs["weights"]
    assert [len(ws) for ws in back] == [len(ws) for ws in given]
    for got_layer, want_layer in zip(back, given):
        for got, want in zip(got_layer, want_layer):
            assert got.dtype == np.float32 and got.shape == want.shape
            assert got.tobytes() == want.tobytes()


def test_weights_of_another_layout_are_refused(worker):
    """A transposed Dense kernel (units, in) does not fit: the adapter says so, clearly."""
    model = _stack("dense")
    weights = seeded_weights(model)
    weights[1][0] = weights[1][0].T.copy()
    reply = worker.run(Case("wrong-layout", "weights", model, {}, weights))
    assert isinstance(reply, Failed) and "do not fit the Keras weights" in reply.text


@pytest.mark.parametrize("mask_zero", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("kind", RNN_KINDS)
def test_recurrent_forward_equals_reference(worker, kind, mask_zero):
    model = _stack(kind, mask_zero=mask_zero)
    case = Case(f"forward-{kind}", "forward", model, {"inputs": [SEQUENCES]},
                seeded_weights(model, seed=5))
    got = _run(worker, case)["outputs"][0]
    want = run_case(Reference(), case)["outputs"][0]
    assert got.shape == want.shape == (2, 4, 3)
    np.testing.assert_allclose(got, want, **TOLERANCES["float32"])
