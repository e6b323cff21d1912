"""backends/layouts.py: Keras (reference) layout <-> PyTorch parameters.

(a) NumPy only: round trips, shapes, and the order of gate blocks checked on hand-made matrices
whose every entry says where it came from. (b) With torch: a torch module given converted
reference weights computes what backends.reference computes, and the reference given converted
torch weights computes what the torch module computes.
"""
import numpy as np
import pytest

from backends import layouts
from backends.base import Layer, Model
from backends.reference import Reference

IN, UNITS = 3, 2
GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def keras_weights(kind, rng, in_=IN, units=UNITS):
    """Random Keras-layout weights of one layer."""
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    if kind == "embedding":
        return [f(5, in_)]
    if kind == "flatten":
        return []
    if kind == "dense":
        return [f(in_, units), f(units)]
    g = GATES[kind]
    bias = f(2, g * units) if kind == "gru" else f(g * units)
    return [f(in_, g * units), f(units, g * units), bias]


def torch_params(kind, rng, in_=IN, units=UNITS):
    """Random PyTorch-layout parameters of one layer (both RNN biases non-zero)."""
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    if kind == "embedding":
        return {"weight": f(5, in_)}
    if kind == "flatten":
        return {}
    if kind == "dense":
        return {"weight": f(units, in_), "bias": f(units)}
    g = GATES[kind]
    return {"weight_ih_l0": f(g * units, in_), "weight_hh_l0": f(g * units, units),
            "bias_ih_l0": f(g * units), "bias_hh_l0": f(g * units)}


def tagged(rows, cols, tag=0):
    """Entry [i, j] = tag*10000 + 100*i + j: any transpose or block move shows."""
    i, j = np.indices((rows, cols))
    return (tag * 10000 + 100 * i + j).astype(np.float64)


# -- (a) NumPy only -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", layouts.KINDS)
def test_reference_torch_reference_is_identity(kind):
    weights = keras_weights(kind, np.random.default_rng(1))
    back = layouts.from_torch(kind, layouts.to_torch(kind, weights))
    assert len(back) == len(weights)
    for a, b in zip(weights, back):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", layouts.KINDS)
def test_torch_reference_torch_preserves_the_function(kind):
    params = torch_params(kind, np.random.default_rng(2))
    back = layouts.to_torch(kind, layouts.from_torch(kind, params))
    assert set(back) == set(params)
    for name, value in params.items():
        assert back[name].shape == value.shape
    if kind in ("simple_rnn", "lstm"):
        # the split of the bias is not representable in Keras: only the sum survives
        for name in ("weight_ih_l0", "weight_hh_l0"):
            np.testing.assert_array_equal(back[name], params[name])
        np.testing.assert_allclose(back["bias_ih_l0"] + back["bias_hh_l0"],
                                   params["bias_ih_l0"] + params["bias_hh_l0"], rtol=1e-6)
        np.testing.assert_array_equal(back["bias_hh_l0"], 0)
    else:  # exact, GRU included (its two biases are Keras' two rows)
        for name, value in params.items():
            np.testing.assert_array_equal(back[name], value)


def test_embedding_is_the_same_matrix_not_a_view():
    matrix = tagged(5, 2)
    out = layouts.to_torch("embedding", [matrix])["weight"]
    np.testing.assert_array_equal(out, matrix)
    out += 1
    assert matrix[0, 0] == 0  # the caller's array is untouched
    back = layouts.from_torch("embedding", {"weight": matrix})[0]
    back += 1
    assert matrix[0, 0] == 0


def test_dense_weight_is_kernel_transposed():
    kernel, bias = tagged(IN, UNITS), np.array([7.0, 8.0])
    p = layouts.to_torch("dense", [kernel, bias])
    assert p["weight"].shape == (UNITS, IN)
    assert p["weight"][1, 2] == kernel[2, 1] == 201
    np.testing.assert_array_equal(p["bias"], bias)


def test_simple_rnn_bias_goes_to_bias_ih_and_bias_hh_is_zero():
    kernel, recurrent, bias = tagged(IN, UNITS, 1), tagged(UNITS, UNITS, 2), np.array([5.0, 6.0])
    p = layouts.to_torch("simple_rnn", [kernel, recurrent, bias])
    assert p["weight_ih_l0"].shape == (UNITS, IN) and p["weight_hh_l0"].shape == (UNITS, UNITS)
    np.testing.assert_array_equal(p["weight_ih_l0"], kernel.T)
    np.testing.assert_array_equal(p["weight_hh_l0"], recurrent.T)
    np.testing.assert_array_equal(p["bias_ih_l0"], bias)
    np.testing.assert_array_equal(p["bias_hh_l0"], [0.0, 0.0])
    summed = layouts.from_torch("simple_rnn", {**p, "bias_hh_l0": np.array([1.0, -1.0])})[2]
    np.testing.assert_array_equal(summed, [6.0, 5.0])


def _blocks(in_, units, count, base):
    """A (in_, count*units) Keras matrix whose gate block k is tagged base + k."""
    return np.concatenate([tagged(in_, units, base + k) for k in range(count)], axis=1)


def _torch_block(matrix, k, units):
    """Gate block k of a PyTorch (count*units, in) matrix, as the Keras (in, units) block."""
    return matrix[k * units:(k + 1) * units].T


def test_lstm_keeps_gate_order_i_f_c_o():
    kernel, recurrent = _blocks(IN, UNITS, 4, 10), _blocks(UNITS, UNITS, 4, 20)
    bias = np.repeat(np.arange(4.0), UNITS)              # block k filled with k
    p = layouts.to_torch("lstm", [kernel, recurrent, bias])
    assert p["weight_ih_l0"].shape == (4 * UNITS, IN)
    assert p["weight_hh_l0"].shape == (4 * UNITS, UNITS)
    assert p["bias_ih_l0"].shape == p["bias_hh_l0"].shape == (4 * UNITS,)
    for k in range(4):  # PyTorch i, f, g, o is Keras i, f, c, o
        np.testing.assert_array_equal(_torch_block(p["weight_ih_l0"], k, UNITS), tagged(IN, UNITS, 10 + k))
        np.testing.assert_array_equal(_torch_block(p["weight_hh_l0"], k, UNITS), tagged(UNITS, UNITS, 20 + k))
        np.testing.assert_array_equal(p["bias_ih_l0"][k * UNITS:(k + 1) * UNITS], k)
    np.testing.assert_array_equal(p["bias_hh_l0"], 0)


def test_gru_reorders_z_r_h_to_r_z_n():
    kernel, recurrent = _blocks(IN, UNITS, 3, 10), _blocks(UNITS, UNITS, 3, 20)
    bias = np.stack([np.repeat([30.0, 31.0, 32.0], UNITS),   # input bias z, r, h
                     np.repeat([40.0, 41.0, 42.0], UNITS)])  # recurrent bias z, r, h
    p = layouts.to_torch("gru", [kernel, recurrent, bias])
    assert p["weight_ih_l0"].shape == (3 * UNITS, IN)
    assert p["weight_hh_l0"].shape == (3 * UNITS, UNITS)
    keras_of = {0: 1, 1: 0, 2: 2}  # torch block r <- Keras r (1), z <- z (0), n <- h (2)
    for t, k in keras_of.items():
        np.testing.assert_array_equal(_torch_block(p["weight_ih_l0"], t, UNITS), tagged(IN, UNITS, 10 + k))
        np.testing.assert_array_equal(_torch_block(p["weight_hh_l0"], t, UNITS), tagged(UNITS, UNITS, 20 + k))
    np.testing.assert_array_equal(p["bias_ih_l0"], np.repeat([31.0, 30.0, 32.0], UNITS))  # b_ir, b_iz, b_in
    np.testing.assert_array_equal(p["bias_hh_l0"], np.repeat([41.0, 40.0, 42.0], UNITS))  # b_hr, b_hz, b_hn
    back = layouts.from_torch("gru", p)
    assert back[2].shape == (2, 3 * UNITS)
    for a, b in zip([kernel, recurrent, bias], back):
        np.testing.assert_array_equal(a, b)


def test_gru_without_reset_after_and_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="reset_after"):
        layouts.to_torch("gru", [np.zeros((IN, 6)), np.zeros((UNITS, 6)), np.zeros(6)])
    with pytest.raises(ValueError, match="unknown layer kind"):
        layouts.to_torch("conv1d", [])
    with pytest.raises(ValueError, match="unknown layer kind"):
        layouts.from_torch("conv1d", {})


# -- (b) against torch's own modules ----------------------------------------------------------
VOC, DIM, STEPS = 6, 3, 5


def _reference_run(kind, emb_matrix, layer_weights, x):
    """backends.reference's forward of Embedding -> kind (sequences for RNNs)."""
    args = {"units": UNITS, "return_sequences": True} if kind != "dense" else {"units": UNITS}
    ref = Reference(seed=0)
    model = ref.build(Model((Layer("embedding", {"input_dim": VOC, "output_dim": DIM}),
                             Layer(kind, args))))
    ref.set_weights(model, [[emb_matrix], layer_weights])
    return ref.forward(model, x)


def _torch_module(kind):
    torch = pytest.importorskip("torch", reason="torch is not installed: part (b) needs it")
    nn = torch.nn
    if kind == "dense":
        return nn.Linear(DIM, UNITS)
    cls = {"simple_rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    return cls(DIM, UNITS, batch_first=True)


def _torch_run(module, vectors):
    import torch
    with torch.no_grad():
        out = module(torch.from_numpy(vectors))
    return (out[0] if isinstance(out, tuple) else out).numpy()


KINDS_B = ("simple_rnn", "lstm", "gru", "dense")


@pytest.mark.parametrize("kind", KINDS_B)
def test_torch_given_reference_weights_computes_the_reference(kind):
    import_torch = pytest.importorskip("torch", reason="torch is not installed: part (b) needs it")
    rng = np.random.default_rng(3)
    emb = rng.uniform(-1, 1, (VOC, DIM)).astype(np.float32)
    weights = keras_weights(kind, rng, in_=DIM)
    x = rng.integers(0, VOC, (2, STEPS))
    module = _torch_module(kind)
    module.load_state_dict({k: import_torch.from_numpy(v)
                            for k, v in layouts.to_torch(kind, weights).items()})
    np.testing.assert_allclose(_torch_run(module, emb[x]), _reference_run(kind, emb, weights, x),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS_B)
def test_reference_given_torch_weights_computes_torch(kind):
    torch = pytest.importorskip("torch", reason="torch is not installed: part (b) needs it")
    torch.manual_seed(4)
    module = _torch_module(kind)  # PyTorch's own init: both RNN biases non-zero
    if kind != "dense":
        assert module.bias_hh_l0.abs().sum() > 0
    rng = np.random.default_rng(4)
    emb = rng.uniform(-1, 1, (VOC, DIM)).astype(np.float32)
    x = rng.integers(0, VOC, (2, STEPS))
    params = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    weights = layouts.from_torch(kind, params)
    np.testing.assert_allclose(_reference_run(kind, emb, weights, x), _torch_run(module, emb[x]),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS_B)
def test_torch_given_the_seeded_differential_weights_computes_the_reference(kind):
    """The weights every backend gets for a differential check (non-zero biases in every gate, the
    GRU's recurrent row too) reach torch faithfully: Keras' bias in bias_ih, zero bias_hh."""
    import_torch = pytest.importorskip("torch", reason="torch is not installed: part (b) needs it")
    from backends.reference import seeded_weights
    args = {"units": UNITS, "return_sequences": True} if kind != "dense" else {"units": UNITS}
    emb_w, layer_w = seeded_weights(Model((Layer("embedding", {"input_dim": VOC, "output_dim": DIM}),
                                           Layer(kind, args)), (STEPS,)), seed=6)
    assert np.abs(layer_w[-1]).min() > 0
    params = layouts.to_torch(kind, layer_w)
    if kind in ("simple_rnn", "lstm"):
        np.testing.assert_array_equal(params["bias_hh_l0"], 0)
    module = _torch_module(kind)
    module.load_state_dict({k: import_torch.from_numpy(v) for k, v in params.items()})
    x = np.random.default_rng(6).integers(0, VOC, (2, STEPS))
    np.testing.assert_allclose(_torch_run(module, emb_w[0][x]), _reference_run(kind, emb_w[0], layer_w, x),
                               rtol=1e-5, atol=1e-6)
