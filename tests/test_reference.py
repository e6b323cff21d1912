"""The reference against numbers computed by hand or printed in the document, never against itself."""
import math

import numpy as np
import pytest

from backends.base import Layer, Model
from backends.reference import Reference, seeded_weights

# The matrix the document prints under "Vector matrix" (rows for ids 0..4).
DOC_MATRIX = np.array([[0.01, 0.025], [-0.044, 0.029], [0.01, 0.038], [-0.018, -0.045],
                       [0.035, 0.012]], dtype=np.float32)


def emb(**args):
    return Layer("embedding", {"input_dim": 5, "output_dim": 2, **args})


def f32(values):
    return np.array(values, np.float32)


def built(layers, input_shape=None, weights=None):
    ref = Reference(seed=0)
    model = ref.build(Model(tuple(layers), input_shape))
    if weights is not None:
        ref.set_weights(model, weights)
    return ref, model


def test_lookup_reproduces_the_documents_printed_predictions():
    ref, model = built([emb()], weights=[[DOC_MATRIX]])
    np.testing.assert_array_equal(ref.forward(model, np.array([[0]])), f32([[[0.01, 0.025]]]))
    np.testing.assert_array_equal(ref.forward(model, np.array([[0, 4]])),
                                  f32([[[0.01, 0.025], [0.035, 0.012]]]))
    np.testing.assert_array_equal(ref.forward(model, np.array([[1, 2], [3, 4]])),
                                  f32([[[-0.044, 0.029], [0.01, 0.038]], [[-0.018, -0.045], [0.035, 0.012]]]))


def test_lookup_output_is_float32_and_shape_is_inferred():
    ref, model = built([emb()], weights=[[DOC_MATRIX]])
    out = ref.forward(model, np.zeros((3, 11), np.int32))
    assert out.dtype == np.float32 and out.shape == (3, 11, 2)


@pytest.mark.parametrize("bad, error", [([[5]], IndexError), ([[-1]], IndexError),
                                        (np.array([[1.0]]), TypeError)])
def test_out_of_contract_indices_raise_clear_errors(bad, error):
    ref, model = built([emb()], weights=[[DOC_MATRIX]])
    with pytest.raises(error, match="integers|range"):
        ref.forward(model, np.asarray(bad))


def test_document_parameter_counts_10_0_7_and_3_and_16():
    ref, model = built([emb(), Layer("flatten"), Layer("dense", {"units": 1})], input_shape=(3,))
    rows = ref.summary(model)
    assert [r.output_shape for r in rows] == [(None, 3, 2), (None, 6), (None, 1)]
    assert [r.trainable + r.non_trainable for r in rows] == [10, 0, 7]
    ref, model = built([emb(), Layer("dense", {"units": 1})], input_shape=(3,))
    rows = ref.summary(model)
    assert [r.output_shape for r in rows] == [(None, 3, 2), (None, 3, 1)]
    assert [r.trainable for r in rows] == [10, 3]
    ref, model = built([emb(), Layer("lstm", {"units": 1})], input_shape=(3,))
    rows = ref.summary(model)
    assert rows[1].output_shape == (None, 1) and rows[1].trainable == 16


def test_gru_and_simple_rnn_counts():
    # GRU(1) on VEC_DIM=2, reset_after: 3 gates x (2 inputs + 1 recurrent + 2 biases) = 15
    ref, model = built([emb(), Layer("gru", {"units": 1})], input_shape=(3,))
    assert ref.summary(model)[1].trainable == 15
    ref, model = built([emb(), Layer("simple_rnn", {"units": 1})], input_shape=(3,))
    assert ref.summary(model)[1].trainable == 4


def test_flatten_of_ones_is_10_by_120():
    assert Reference().document_call("flatten_ones", shape=[10, 2, 3, 4, 5]) == {"shape": [10, 120]}


def test_flatten_concatenates_vectors_in_input_order():
    ref, model = built([emb(), Layer("flatten")], input_shape=(3,), weights=[[DOC_MATRIX], []])
    out = ref.forward(model, np.array([[0, 2, 1]]))
    np.testing.assert_array_equal(out, f32([[0.01, 0.025, 0.01, 0.038, -0.044, 0.029]]))


def test_dense_without_flatten_applies_the_same_weights_to_every_vector():
    kernel, bias = np.array([[2.0], [-1.0]], np.float32), np.array([0.5], np.float32)
    ref, model = built([emb(), Layer("dense", {"units": 1})], (3,), [[DOC_MATRIX], [kernel, bias]])
    out = ref.forward(model, np.array([[0, 4, 0]]))
    # row 0: 2*0.01 - 0.025 + 0.5 = 0.495 ; row 4: 2*0.035 - 0.012 + 0.5 = 0.558
    np.testing.assert_allclose(out[0, :, 0], [0.495, 0.558, 0.495], rtol=1e-6)


def _rnn_model(kind, weights, mask_zero=True, return_sequences=True):
    layers = [emb(mask_zero=mask_zero), Layer(kind, {"units": 1, "return_sequences": return_sequences})]
    return built(layers, weights=[[DOC_MATRIX], weights])


def test_masked_simple_rnn_repeats_hidden_states_as_in_the_document():
    w = [np.array([[1.0], [0.5]], np.float32), np.array([[0.5]], np.float32), np.zeros(1, np.float32)]
    ref, model = _rnn_model("simple_rnn", w)
    out = ref.forward(model, np.array([[1, 0, 3, 0, 2, 0, 0]]))[0, :, 0]
    h1 = math.tanh(-0.044 + 0.5 * 0.029)
    h3 = math.tanh(-0.018 + 0.5 * -0.045 + 0.5 * h1)
    h2 = math.tanh(0.01 + 0.5 * 0.038 + 0.5 * h3)
    np.testing.assert_allclose(out, [h1, h1, h3, h3, h2, h2, h2], rtol=1e-6)


def test_masked_steps_before_the_first_input_output_zeros():
    w = [np.array([[1.0], [0.5]], np.float32), np.array([[0.5]], np.float32), np.zeros(1, np.float32)]
    ref, model = _rnn_model("simple_rnn", w)
    out = ref.forward(model, np.array([[0, 0, 1]]))[0, :, 0]
    np.testing.assert_allclose(out, [0.0, 0.0, math.tanh(-0.044 + 0.5 * 0.029)], rtol=1e-6)


def test_each_sample_of_a_batch_is_masked_by_its_own_zeros():
    # SimpleRNN(1): kernel [1, 0.5], recurrent 0.5, bias 0; rows [1, 0, 3] and [0, 2, 0]
    w = [np.array([[1.0], [0.5]], np.float32), np.array([[0.5]], np.float32), np.zeros(1, np.float32)]
    ref, model = _rnn_model("simple_rnn", w)
    out = ref.forward(model, np.array([[1, 0, 3], [0, 2, 0]]))[:, :, 0]
    h1 = math.tanh(-0.044 + 0.5 * 0.029)                    # row 0, step 0: index 1
    h13 = math.tanh(-0.018 + 0.5 * -0.045 + 0.5 * h1)       # row 0, step 2: index 3 after 1
    h2 = math.tanh(0.01 + 0.5 * 0.038)                      # row 1, step 1: index 2 from h = 0
    np.testing.assert_allclose(out, [[h1, h1, h13], [0.0, h2, h2]], rtol=1e-6, atol=1e-7)


def test_the_masked_loss_is_the_mean_over_every_unmasked_step_of_the_batch():
    # E = [0, 1, 2, 3, 4] (D=1), Dense weight 1, bias 0: the prediction is the index itself.
    layers = [Layer("embedding", {"input_dim": 5, "output_dim": 1, "mask_zero": True}),
              Layer("dense", {"units": 1})]
    weights = [[np.arange(5, dtype=np.float32).reshape(5, 1)],
               [np.ones((1, 1), np.float32), np.zeros(1, np.float32)]]
    ref, model = built(layers, None, weights)
    x = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0]])
    y = np.zeros((3, 4, 1))
    total, _ = ref.loss(model, x, y)
    # squared errors at the unmasked steps: 1, 4 (row 0) and 9 (row 1): (1+4+9)/3, not the
    # mean of per-sample means ((1+4)/2 + 9)/2 = 5.75; the zero-only row adds nothing
    assert total == pytest.approx(14 / 3)
    total, _ = ref.loss(model, x[:2], y[:2])
    assert total == pytest.approx(14 / 3)


def sig(z):
    return 1 / (1 + math.exp(-z))


def _lstm_step(x0, x1, h, c, kernel, recurrent, bias):
    z = [kernel[0][g] * x0 + kernel[1][g] * x1 + recurrent[0][g] * h + bias[g] for g in range(4)]
    c = sig(z[1]) * c + sig(z[0]) * math.tanh(z[2])
    return sig(z[3]) * math.tanh(c), c


def test_a_masked_lstm_step_keeps_the_cell_state_as_well_as_the_hidden_state():
    kernel = [[0.1, 0.2, 0.3, 0.4], [-0.5, 0.6, -0.7, 0.8]]
    recurrent = [[0.9, -1.0, 1.1, -1.2]]
    bias = [0.01, 1.0, -0.02, 0.03]
    ref, model = _rnn_model("lstm", [np.array(kernel, np.float32), np.array(recurrent, np.float32),
                                     np.array(bias, np.float32)], return_sequences=False)
    h, c = _lstm_step(0.035, 0.012, 0.0, 0.0, kernel, recurrent, bias)     # index 4
    h, c = _lstm_step(-0.044, 0.029, h, c, kernel, recurrent, bias)        # index 1; the 0 skipped
    out = ref.forward(model, np.array([[4, 0, 1], [4, 1, 0]]))[:, 0]
    np.testing.assert_allclose(out, [h, h], rtol=1e-6)


def test_a_masked_gru_ignores_trailing_padding():
    kernel = [[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]]     # z, r, h
    recurrent = [0.7, -0.8, 0.9]
    bias = [[0.01, 0.02, 0.03], [-0.04, 0.05, -0.06]]  # input, recurrent
    ref, model = _rnn_model("gru", [np.array(kernel, np.float32), np.array([recurrent], np.float32),
                                    np.array(bias, np.float32)], return_sequences=False)
    h = 0.0
    for x0, x1 in ((0.035, 0.012), (-0.044, 0.029)):  # indices 4, 1
        z = sig(0.1 * x0 - 0.4 * x1 + 0.01 + 0.7 * h - 0.04)
        r = sig(0.2 * x0 + 0.5 * x1 + 0.02 - 0.8 * h + 0.05)
        hh = math.tanh(0.3 * x0 - 0.6 * x1 + 0.03 + r * (0.9 * h - 0.06))
        h = z * h + (1 - z) * hh
    out = ref.forward(model, np.array([[4, 1, 0, 0, 0]]))
    np.testing.assert_allclose(out[0, 0], h, rtol=1e-6)


def test_lstm_one_step_by_hand_in_keras_gate_order():
    # units=1: kernel (2,4) columns i, f, c, o
    kernel = np.array([[0.1, 0.2, 0.3, 0.4], [-0.5, 0.6, -0.7, 0.8]], np.float32)
    recurrent = np.array([[0.9, -1.0, 1.1, -1.2]], np.float32)
    bias = np.array([0.01, 1.0, -0.02, 0.03], np.float32)
    ref, model = _rnn_model("lstm", [kernel, recurrent, bias], mask_zero=False, return_sequences=False)
    x0, x1 = 0.035, 0.012  # row 4
    i = sig(0.1 * x0 - 0.5 * x1 + 0.01)
    f = sig(0.2 * x0 + 0.6 * x1 + 1.0)
    c = i * math.tanh(0.3 * x0 - 0.7 * x1 - 0.02)  # f * c0 with c0 = 0
    o = sig(0.4 * x0 + 0.8 * x1 + 0.03)
    assert f > 0  # the forget gate is there, multiplied by the zero initial cell
    np.testing.assert_allclose(ref.forward(model, np.array([[4]]))[0, 0], o * math.tanh(c), rtol=1e-6)


def test_gru_two_steps_by_hand_reset_after():
    kernel = np.array([[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]], np.float32)    # z, r, h
    recurrent = np.array([[0.7, -0.8, 0.9]], np.float32)
    bias = np.array([[0.01, 0.02, 0.03], [-0.04, 0.05, -0.06]], np.float32)  # input, recurrent
    ref, model = _rnn_model("gru", [kernel, recurrent, bias], mask_zero=False)
    h = 0.0
    expected = []
    for x0, x1 in ((0.035, 0.012), (-0.044, 0.029)):  # rows 4, 1
        z = sig(0.1 * x0 - 0.4 * x1 + 0.01 + 0.7 * h - 0.04)
        r = sig(0.2 * x0 + 0.5 * x1 + 0.02 - 0.8 * h + 0.05)
        hh = math.tanh(0.3 * x0 - 0.6 * x1 + 0.03 + r * (0.9 * h - 0.06))
        h = z * h + (1 - z) * hh
        expected.append(h)
    np.testing.assert_allclose(ref.forward(model, np.array([[4, 1]]))[0, :, 0], expected, rtol=1e-6)


def test_l2_term_is_factor_times_sum_of_squares():
    ref, model = built([emb(embeddings_regularizer={"l2": 0.01}), Layer("flatten"),
                        Layer("dense", {"units": 1})], (3,),
                       [[DOC_MATRIX], [], [np.zeros((6, 1), np.float32), np.zeros(1, np.float32)]])
    squares = (0.01**2 + 0.025**2 + 0.044**2 + 0.029**2 + 0.01**2 + 0.038**2 + 0.018**2
               + 0.045**2 + 0.035**2 + 0.012**2)
    total, reg = ref.loss(model, np.array([[0, 1, 2]]), np.array([[0.5]]))
    assert reg == pytest.approx(0.01 * squares, rel=1e-6)
    assert total == pytest.approx(0.25 + 0.01 * squares, rel=1e-6)  # prediction 0, target 0.5


def _tiny(**emb_args):
    """V=3, D=1, 2 inputs: E = [1, 2, 3], K = [1, 1], b = 0."""
    layers = [Layer("embedding", {"input_dim": 3, "output_dim": 1, **emb_args}), Layer("flatten"),
              Layer("dense", {"units": 1})]
    weights = [[np.array([[1.0], [2.0], [3.0]], np.float32)], [],
               [np.ones((2, 1), np.float32), np.zeros(1, np.float32)]]
    return built(layers, (2,), weights)


def test_sgd_step_by_hand():
    ref, model = _tiny()
    loss = ref.train_step(model, np.array([[0, 2]]), np.array([[0.0]]), lr=0.1)
    # pred = 1 + 3 = 4, loss = 16, dL/dpred = 8: dE[0] = dE[2] = 8, dK = [8, 24], db = 8
    assert loss == pytest.approx(16.0)
    E, (K, b) = model.weights[0][0], model.weights[2]
    np.testing.assert_allclose(E[:, 0], [1 - 0.8, 2.0, 3 - 0.8], rtol=1e-6)
    np.testing.assert_allclose(K[:, 0], [1 - 0.8, 1 - 2.4], rtol=1e-6)
    np.testing.assert_allclose(b, [-0.8], rtol=1e-6)


def test_frozen_embedding_keeps_its_matrix_while_dense_trains():
    ref, model = _tiny(trainable=False)
    ref.train_step(model, np.array([[0, 2]]), np.array([[0.0]]), lr=0.1)
    np.testing.assert_array_equal(model.weights[0][0][:, 0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(model.weights[2][0][:, 0], [0.2, -1.4], rtol=1e-6)
    assert [(r.trainable, r.non_trainable) for r in ref.summary(model)] == [(0, 3), (0, 0), (3, 0)]


def test_l2_alone_scales_the_matrix_by_one_minus_2_lr_factor():
    ref, model = _tiny(embeddings_regularizer={"l2": 0.01})
    model.weights[2] = [np.zeros((2, 1), np.float32), np.zeros(1, np.float32)]
    ref.train_step(model, np.array([[0, 2]]), np.array([[0.0]]), lr=0.5)
    np.testing.assert_allclose(model.weights[0][0][:, 0], np.array([1.0, 2.0, 3.0]) * (1 - 0.5 * 2 * 0.01),
                               rtol=1e-6)


def test_unit_norm_constraint_normalises_every_row_after_the_step():
    layers = [Layer("embedding", {"input_dim": 3, "output_dim": 2,
                                  "embeddings_constraint": {"unit_norm": {"axis": 1}}}),
              Layer("flatten"), Layer("dense", {"units": 1})]
    weights = [[np.array([[3.0, 4.0], [0.3, 0.4], [1.0, 0.0]], np.float32)], [],
               [np.ones((2, 1), np.float32), np.zeros(1, np.float32)]]
    ref, model = built(layers, (1,), weights)
    ref.train_step(model, np.array([[2]]), np.array([[1.0]]), lr=0.1)  # zero error: only renorm
    np.testing.assert_allclose(model.weights[0][0], [[0.6, 0.8], [0.6, 0.8], [1.0, 0.0]], rtol=1e-6)


def test_masked_loss_is_the_mean_over_unmasked_steps():
    layers = [Layer("embedding", {"input_dim": 3, "output_dim": 1, "mask_zero": True}),
              Layer("dense", {"units": 1})]
    weights = [[np.array([[0.0], [1.0], [2.0]], np.float32)],
               [np.ones((1, 1), np.float32), np.zeros(1, np.float32)]]
    ref, model = built(layers, None, weights)
    y = np.array([[[0.0], [5.0], [0.0]]])
    total, _ = ref.loss(model, np.array([[1, 0, 2]]), y)   # errors 1, (25 masked), 4
    assert total == pytest.approx(2.5)
    total, _ = ref.loss(model, np.array([[0, 0, 0]]), y)
    assert math.isnan(total)


def test_initializer_range_seed_and_freshness():
    spec = Model((Layer("embedding", {"input_dim": 200, "output_dim": 5}),))
    a = Reference().build(spec).weights[0][0]
    b = Reference().build(spec).weights[0][0]
    assert a.shape == (200, 5) and np.abs(a).max() <= 0.05 and not np.array_equal(a, b)
    np.testing.assert_array_equal(seeded_weights(spec, 3)[0][0], seeded_weights(spec, 3)[0][0])


def test_pretrained_matrix_is_copied_bitwise():
    source = DOC_MATRIX.copy()
    model = Reference().build(Model((emb(),)), pretrained=source)
    source += 1
    np.testing.assert_array_equal(model.weights[0][0], DOC_MATRIX)


def test_document_calls_as_the_document_states_them():
    ref = Reference()
    out = ref.document_call("predict_list", voc_size=5, vec_dim=2, matrix=DOC_MATRIX, data=[[0, 4]])
    np.testing.assert_array_equal(out["output"], f32([[[0.01, 0.025], [0.035, 0.012]]]))
    with pytest.raises(TypeError, match="NumPy"):
        ref.document_call("predict_list", voc_size=5, vec_dim=2, matrix=DOC_MATRIX, data=[[1, 2], [3, 4]])
    frozen = ref.document_call("weights_argument", voc_size=5, vec_dim=2, matrix=DOC_MATRIX)
    assert (frozen["trainable"], frozen["non_trainable"]) == (0, 10)
    summary = ref.document_call("input_length_flatten_dense", voc_size=5, vec_dim=2, inputs=3)
    assert summary == {"output_shapes": [[None, 3, 2], [None, 6], [None, 1]], "params": [10, 0, 7],
                       "trainable": [10, 0, 7], "non_trainable": [0, 0, 0]}
    assert len(ref.document_call("get_weights", voc_size=5, vec_dim=2)["weights"]) == 1
    printed = ref.document_call("get_weights", voc_size=5, vec_dim=2, matrix=DOC_MATRIX)["weights"]
    np.testing.assert_array_equal(printed[0], DOC_MATRIX)


def test_input_length_gives_the_input_shape_without_an_input_declared():
    # the document: Embedding(VOC_SIZE, VEC_DIM, input_length=3) -> (None, 3, 2), 5*2 = 10;
    # + Dense(1) -> (None, 3, 1), 2+1 = 3; + LSTM(1) -> (None, 1), 4*((2+1)+1) = 16
    ref = Reference()
    alone = ref.document_call("input_length_embedding", voc_size=5, vec_dim=2, inputs=3)
    assert alone == {"output_shapes": [[None, 3, 2]], "params": [10], "trainable": [10],
                     "non_trainable": [0]}
    dense = ref.document_call("input_length_dense", voc_size=5, vec_dim=2, inputs=3)
    assert dense["output_shapes"] == [[None, 3, 2], [None, 3, 1]] and dense["params"] == [10, 3]
    lstm = ref.document_call("input_length_lstm", voc_size=5, vec_dim=2, inputs=3)
    assert lstm["output_shapes"] == [[None, 3, 2], [None, 1]] and lstm["params"] == [10, 16]
    ref, model = built([emb(input_length=4)])
    assert ref.summary(model)[0].output_shape == (None, 4, 2)
    ref, model = built([emb()])
    assert ref.summary(model)[0].output_shape == (None, None, 2)


def test_embeddings_initializer_is_honoured_and_the_config_names_the_default():
    ones = Reference(seed=0).build(Model((emb(embeddings_initializer="ones"),))).weights[0][0]
    zeros = Reference(seed=0).build(Model((emb(embeddings_initializer="zeros"),))).weights[0][0]
    np.testing.assert_array_equal(ones, np.ones((5, 2), np.float32))
    np.testing.assert_array_equal(zeros, np.zeros((5, 2), np.float32))
    ref = Reference()
    assert ref.layer_config(ref.construct({"input_dim": 5, "output_dim": 2})) == {
        "embeddings_initializer": {"class_name": "RandomUniform", "minval": -0.05, "maxval": 0.05}}
    layer = ref.construct({"input_dim": 5, "output_dim": 2, "embeddings_initializer": "ones"})
    assert ref.layer_config(layer) == {"embeddings_initializer": {"class_name": "Ones"}}


def test_set_weights_refuses_a_wrong_layout():
    ref, model = _tiny()
    with pytest.raises(ValueError, match="layer 2 .dense.: expected shapes"):
        ref.set_weights(model, [[np.zeros((3, 1))], [], [np.zeros((1, 2)), np.zeros(1)]])
    with pytest.raises(ValueError, match="3 layers"):
        ref.set_weights(model, [[np.zeros((3, 1))]])


def test_constructor_requires_both_sizes():
    with pytest.raises(TypeError, match="input_dim"):
        Reference().construct({"output_dim": 2})
    with pytest.raises(TypeError, match="output_dim"):
        Reference().construct({"input_dim": 5})


def test_l2_and_the_data_gradient_act_together_by_hand():
    # pred = 1 + 3 = 4, dL/dpred = 8: data gradient [8, 0, 8]; l2(0.01): 2*0.01*E = [0.02, 0.04, 0.06]
    ref, model = _tiny(embeddings_regularizer={"l2": 0.01})
    ref.train_step(model, np.array([[0, 2]]), np.array([[0.0]]), lr=0.1)
    np.testing.assert_allclose(model.weights[0][0][:, 0], [1 - 0.802, 2 - 0.004, 3 - 0.806], rtol=1e-6)


def test_without_a_regularizer_the_loss_is_the_plain_mse_and_no_term():
    ref, model = _tiny()
    total, regularization = ref.loss(model, np.array([[0, 2]]), np.array([[0.5]]))
    assert regularization == 0 and total == pytest.approx(3.5 ** 2)  # pred 4, target 0.5


def test_without_a_constraint_long_rows_not_looked_up_stay_exactly():
    ref, model = _tiny()
    model.weights[0][0][1] = [1000.0]
    ref.train_step(model, np.array([[0, 2]]), np.array([[0.0]]), lr=100.5)
    assert model.weights[0][0][1, 0] == 1000.0


def test_the_summary_counts_a_frozen_layer_among_the_parameters():
    ref, model = _tiny(trainable=False)
    assert [r.params for r in ref.summary(model)] == [3, 0, 3]


def test_random_uniform_arguments_are_honoured_and_configured():
    layer = emb(input_dim=1000, output_dim=10,
                embeddings_initializer={"random_uniform": {"minval": -1.0, "maxval": 1.0}})
    matrix = Reference(seed=0).build(Model((layer,))).weights[0][0]
    assert matrix.min() >= -1 and matrix.max() <= 1 and matrix.min() < -0.99 and matrix.max() > 0.99
    ref = Reference()
    assert ref.layer_config(ref.construct(dict(layer.args))) == {
        "embeddings_initializer": {"class_name": "RandomUniform", "minval": -1.0, "maxval": 1.0}}


def test_predict_is_the_forward_path_in_the_reference():
    ref, model = built([emb(mask_zero=True), Layer("simple_rnn", {"units": 1, "return_sequences": True})])
    x = np.array([[1, 0, 3, 0, 2, 0, 0]])
    np.testing.assert_array_equal(ref.predict(model, x), ref.forward(model, x))


# -- the differential weights (seeded_weights): every term of the computation shows ------------------
def _stack(kind, units=5):
    return Model((emb(input_dim=50, output_dim=4), Layer(kind, {"units": units})), (6,))


@pytest.mark.parametrize("kind", ["dense", "simple_rnn", "lstm", "gru"])
def test_seeded_biases_are_non_zero_in_every_gate_and_recurrent_kernels_general(kind):
    from backends.reference import BIAS_MAGNITUDE
    weights = seeded_weights(_stack(kind), seed=2)[1]
    bias = weights[-1]
    assert bias.shape == {"dense": (5,), "simple_rnn": (5,), "lstm": (20,), "gru": (2, 15)}[kind]
    low, high = BIAS_MAGNITUDE
    assert 0 < low <= np.abs(bias).min() and np.abs(bias).max() <= high
    assert (bias > 0).any() and (bias < 0).any()
    if kind != "dense":
        for block in np.split(weights[1], bias.shape[-1] // 5, axis=1):  # each gate's (units, units)
            assert not np.allclose(block @ block.T, np.eye(5), atol=1e-3), "orthogonal"
            assert not np.allclose(block, block.T), "symmetric"


def test_seeded_weights_keep_the_documents_embedding_and_the_reference_keeps_keras_defaults():
    """The embedding (the document's 'uniform') is the one the seed always gave; a model the
    reference builds itself (weights: fresh) keeps Keras' initializers: zero Dense bias, zero LSTM
    bias but the forget gate's ones, orthogonal recurrent kernels."""
    for kind in ("dense", "lstm", "gru"):
        model = _stack(kind)
        own = Reference(seed=2).build(model).weights
        np.testing.assert_array_equal(seeded_weights(model, seed=2)[0][0], own[0][0])
        bias = own[1][-1]
        if kind == "lstm":
            np.testing.assert_array_equal(bias, np.repeat([0.0, 1.0, 0.0, 0.0], 5))
            np.testing.assert_allclose(own[1][1][:, :5] @ own[1][1][:, :5].T, np.eye(5), atol=1e-5)
        else:
            np.testing.assert_array_equal(bias, 0)


def _swap_blocks(bias, a, b, gates):
    blocks = np.split(np.array(bias), gates, axis=-1)
    blocks[a], blocks[b] = blocks[b], blocks[a]
    return np.concatenate(blocks, axis=-1)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_a_bias_dropped_doubled_or_on_another_gate_changes_the_output(kind):
    """What the seeded weights are for: under Keras' zero biases each of these wrong computations
    gives the right output (a zero block moved or doubled is still zero); under the seeded ones
    each moves the output far beyond float32 tolerance."""
    from backends.reference import rnn_forward
    model = _stack(kind)
    kernel, recurrent, bias = seeded_weights(model, seed=1)[1]
    x = np.random.default_rng(0).uniform(-0.05, 0.05, (3, 6, 4))
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
    wrong = {"dropped": np.zeros_like(bias), "doubled": 2 * bias}
    wrong.update({f"gates {a}<->{b}": _swap_blocks(bias, a, b, gates)
                  for a in range(gates) for b in range(a + 1, gates)})
    if kind == "gru":
        wrong["recurrent row dropped"] = np.stack([bias[0], 0 * bias[1]])
        wrong["rows exchanged"] = bias[::-1]
    right = rnn_forward(kind, [kernel, recurrent, bias], x, return_sequences=True)
    for name, other in wrong.items():
        got = rnn_forward(kind, [kernel, recurrent, other], x, return_sequences=True)
        assert np.abs(got - right).max() > 1e-3, name


def test_a_dense_bias_dropped_or_doubled_changes_the_output():
    from backends.reference import dense
    kernel, bias = seeded_weights(_stack("dense", units=3), seed=1)[1]
    x = np.random.default_rng(0).uniform(-0.05, 0.05, (2, 6, 4))
    right = dense(x, kernel, bias)
    for other in (0 * bias, 2 * bias):  # every component of magnitude >= 0.1 moves
        assert np.abs(dense(x, kernel, other) - right).min() > 1e-3


# -- the kept_matrix describer (char.pretrained-float64-matrix, char.pretrained-wrong-shape-matrix)
def test_kept_matrix_names_a_cast_a_kept_dtype_and_a_cut():
    from conformance.judging.describers import kept_matrix
    given = np.arange(12, dtype=np.float64).reshape(6, 2)
    cast = {"weights": given[:6].astype(np.float32), "source": given, "output": np.zeros((1, 2), np.float32)}
    assert kept_matrix(cast, None) == "weights (6, 2) float32 from a given (6, 2) float64, outputs float32"
    kept = {"weights": given, "source": given, "output": np.zeros((1, 2))}
    assert kept_matrix(kept, None) == "weights (6, 2) float64 as given, outputs float64"
    cut = {"weights": given[:5], "source": given}
    assert kept_matrix(cut, None) == "weights (5, 2) float64 from a given (6, 2) float64 (cut to the layer's shape)"
    other = {"weights": given[1:], "source": given}
    assert "cut" not in kept_matrix(other, None)


def test_the_reference_refuses_a_pretrained_matrix_of_another_shape():

    model = Model((Layer("embedding", {"input_dim": 5, "output_dim": 2, "pretrained": True}),))
    with pytest.raises(ValueError, match=r"\(6, 2\)"):
        reference = Reference()
        reference.get_weights(reference.build(model, pretrained=np.zeros((6, 2), np.float32)))


def test_the_reference_freezes_a_built_model_at_once():
    model = Model((Layer("embedding", {"input_dim": 5, "output_dim": 2}), Layer("flatten"),
                   Layer("dense", {"units": 1})), input_shape=(3,))
    reference = Reference()
    built = reference.build(model)
    x, y = np.array([[0, 2, 1]]), np.array([[1.0]])
    reference.train_step(built, x, y, 0.5)
    reference.freeze(built, 0)
    before = reference.get_weights(built)
    reference.train_step(built, x, y, 0.5)
    after = reference.get_weights(built)
    assert np.array_equal(after[0][0], before[0][0])
    assert not np.array_equal(after[2][0], before[2][0])  # the Dense layer still trains
    assert model.layers[0].args.get("trainable", True)  # the spec's model is not changed
