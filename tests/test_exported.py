"""The exported columns' own machinery (backends/_exported.py, keras_litert.py), without a framework:
what they refuse, the example shape an export traces with, and the weight writing into an artifact
that is only trusted once it reproduced a conversion."""
import numpy as np
import pytest

from backends import _exported, keras_litert
from backends.base import Layer, Model, Unsupported
from backends.keras_litert import KerasTensorflowLitert
from backends.keras_onnx import KerasTensorflowOnnx
from backends.torch_onnx import TorchOnnx

EMBEDDING = Layer("embedding", {"input_dim": 5, "output_dim": 2})


@pytest.mark.parametrize("call", [lambda b: b.get_weights(None), lambda b: b.summary(None),
                                  lambda b: b.mask(None, None), lambda b: b.loss(None, None, None),
                                  lambda b: b.train_step(None, None, None, 0.1), lambda b: b.construct({}),
                                  lambda b: b.document_call("predict_list"), lambda b: b.predict(None, None),
                                  lambda b: b.build(Model((EMBEDDING,)), pretrained=np.zeros((5, 2)))])
@pytest.mark.parametrize("cls", [TorchOnnx, KerasTensorflowLitert, KerasTensorflowOnnx])
def test_an_exported_column_answers_inference_only_and_says_why(cls, call):
    with pytest.raises(Unsupported, match="exported artifact answers inference calls only"):
        call(cls())


def test_the_traced_example_keeps_dynamic_axes_off_the_sizes_exporters_specialize():
    plain = Model((EMBEDDING,))
    assert _exported.example_shape(plain, np.zeros((1, 1))) == (2, 2)
    assert _exported.example_shape(plain, np.zeros((5, 7, 3))) == (5, 7, 3)
    dense = Model((EMBEDDING, Layer("flatten"), Layer("dense", {"units": 1})))  # the Dense is sized by the length
    assert _exported.example_shape(dense, np.zeros((1, 1))) == (2, 1)
    assert _exported.fixed_tail(dense)
    flatten = Model((EMBEDDING, Layer("flatten")))  # nothing after the Flatten: the length stays dynamic
    assert _exported.example_shape(flatten, np.zeros((1, 1, 1))) == (2, 2, 2)
    assert not _exported.fixed_tail(flatten) and not _exported.fixed_tail(plain)


def test_weights_are_written_where_their_bytes_are_or_not_at_all():
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    # an artifact holding the bias as is and the kernel transposed, between other bytes
    data = b"head" + bias.tobytes() + b"mid" + np.ascontiguousarray(kernel.T).tobytes() + b"tail"
    new_kernel, new_bias = kernel + 1, bias + 1
    written = keras_litert._swapped(data, [kernel, bias], [new_kernel, new_bias])
    assert written == b"head" + new_bias.tobytes() + b"mid" + np.ascontiguousarray(new_kernel.T).tobytes() + b"tail"
    twice = data + bias.tobytes()  # a weight whose bytes occur twice cannot be placed
    assert keras_litert._swapped(twice, [kernel, bias], [new_kernel, new_bias]) is None
    assert keras_litert._swapped(data, [kernel + 2], [new_kernel]) is None  # not in the artifact


def test_equal_weights_have_one_digest_and_different_ones_another():
    a = [[np.arange(6, dtype=np.float32).reshape(2, 3)]]
    assert _exported.weights_digest(a) == _exported.weights_digest([[a[0][0].copy()]])
    assert _exported.weights_digest(a) != _exported.weights_digest([[a[0][0] + 1]])
    assert _exported.weights_digest(a) != _exported.weights_digest([[a[0][0].reshape(3, 2)]])


def test_each_exported_column_sits_beside_its_framework_and_names_its_runtime():
    """The report's columns follow the default order: an exported column comes right after its
    framework's (or after another export of it), and its version names the runtime."""
    import inspect

    import backends

    order = list(backends.DEFAULT_ORDER)
    exported = [cls for cls in backends.builtin().values() if cls.declaration.group == "export"]
    assert len(exported) == 3
    for cls in exported:
        framework = next(base for base in inspect.getmro(cls)[1:] if base.__dict__.get("declaration"))
        between = order[order.index(framework.name) + 1:order.index(cls.name)]
        assert all(backends.builtin()[name].declaration.group == "export" for name in between), (cls.name, between)
        assert "->" in cls.declaration.framework and "->" in cls.declaration.display


def test_litert_converts_a_recurrent_model_per_batch_size_and_the_others_once():
    """LiteRT runs a recurrent model only with its batch static (the converter lowers the RNN's
    TensorList ops only then), but its length may stay dynamic: one conversion per batch size fed,
    not per (batch, length); a model without an RNN keeps every axis dynamic."""
    class Built:
        def __init__(self, model):
            self._conformance_spec = model

    litert = KerasTensorflowLitert()
    lstm = Built(Model((EMBEDDING, Layer("lstm", {"units": 3}))))
    assert litert._signature(lstm, np.zeros((5, 8), np.int32)) == (5, None)
    assert litert._signature(lstm, np.zeros((5, 16), np.int32)) == (5, None)
    assert litert._signature(lstm, np.zeros((6, 8), np.int32)) == (6, None)
    assert litert._signature(Built(Model((EMBEDDING,))), np.zeros((5, 8), np.int32)) == (None, None)
    dense = Built(Model((EMBEDDING, Layer("flatten"), Layer("dense", {"units": 1}))))
    assert litert._signature(dense, np.zeros((5, 8), np.int32)) == (None, 8)
