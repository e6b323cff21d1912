"""Keras 3 on TensorFlow -> ``model.export(format="litert")`` (the TFLite converter) -> the LiteRT
interpreter (``ai-edge-litert``): the keras-tensorflow adapter's model, built and weighted the same
way, converted and answered by the LiteRT interpreter alone (backends/_exported.py).

The export a careful user writes: the model called once, then ``model.export(path,
format="litert", input_signature=[keras.InputSpec(shape=..., dtype=<the index dtype fed>)])``; the
interpreter resizes the input to each call's shape (``resize_tensor_input``, ``allocate_tensors``).
Static shapes where the runtime needs them: a recurrent layer converts to TensorFlow ops the
interpreter does not have (Flex TensorList ops) unless every size is known, so a model with an RNN
is converted once per input shape fed, with that static shape; the others once per index dtype with
batch and length dynamic (the sizes after the batch fixed when a Flatten follows).

New weights for a drawn example: the converter folds the variables into the flatbuffer's buffers,
each holding the variable's bytes unchanged (or transposed). The first time a built model's weights change it is
converted again, and the bytes of the first artifact that held the old weights are overwritten with
the new ones; if the result equals the new conversion byte for byte, later weight changes are
written the same way without converting; if not, every weight change converts again.
"""
from __future__ import annotations

import numpy as np

from . import _exported
from ._keras_common import _model_code
from .base import Declaration
from .keras3 import KERAS, KerasTensorflow

LITERT = "ai-edge-litert==2.3.0"


class _Artifact:
    def __init__(self, data: bytes, digest: str, weights):
        self.data, self.digest, self.weights = data, digest, weights
        self.swap_verified: bool | None = False  # None: writing weights did not reproduce a conversion
        self.interpreter = None


def _swapped(data: bytes, old, new) -> bytes | None:
    """``data`` with each old weight's bytes replaced by the new one's, or None when a weight's
    bytes (as stored, or transposed: TFLite keeps a fully connected kernel as (out, in)) do not
    occur exactly once."""
    out = bytearray(data)
    for before, after in zip(old, new):
        forms = [(np.asarray(before), np.asarray(after))]
        if np.ndim(before) == 2:
            forms.append((np.asarray(before).T, np.asarray(after).T))
        for b, a in forms:
            b, a = np.ascontiguousarray(b).tobytes(), np.ascontiguousarray(a).tobytes()
            if data.count(b) == 1:
                at = data.find(b)
                out[at:at + len(a)] = a
                break
        else:
            return None
    return bytes(out)


class KerasTensorflowLitert(_exported.ExportedOnly, KerasTensorflow):
    declaration = Declaration(
        name="keras-tensorflow-litert", framework="keras -> LiteRT",
        display="Keras 3 on TensorFlow -> model.export(format=\"litert\") -> LiteRT",
        summary="the keras-tensorflow column's model converted with the TFLite converter, answered by "
                "the LiteRT interpreter alone",
        order=14, seconds_per_item=0.5, requires=("keras", "tensorflow", "ai_edge_litert"),
        env={"KERAS_BACKEND": "tensorflow"}, drawn_inputs_only=True, group="export",
        pins=(KERAS, "tensorflow-cpu==2.21.0", LITERT), pinned_release="3.15+litert2.3")

    def version(self):
        from importlib.metadata import version

        return f"{super().version()}+litert-{version('ai-edge-litert')}"

    def describe(self):
        from importlib.metadata import version

        import tensorflow as tf

        return (f"keras {super().version()} on tensorflow {tf.__version__} -> model.export(format='litert') "
                f"-> LiteRT {version('ai-edge-litert')}")

    def release(self):
        return f"{self.name}@{self.version()}"

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        built._conformance_spec = model
        return built

    def set_weights(self, built, weights):
        super().set_weights(built, weights)
        built._conformance_digest = _exported.weights_digest(weights)

    def forward(self, built, x):
        x = np.asarray(x)
        interpreter = self._interpreter(built, x)
        (inp,) = interpreter.get_input_details()
        if tuple(inp["shape"]) != x.shape:
            interpreter.resize_tensor_input(inp["index"], list(x.shape))
            interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))

    def snippet(self, model, action, args):
        """The keras-tensorflow column's model code, converted as this adapter does and run in the
        LiteRT interpreter alone."""
        if action != "forward" or model is None:
            return None
        lines = [*self.snippet_preamble(), "import numpy as np", "import keras",
                 "from ai_edge_litert.interpreter import Interpreter", ""]
        lines += _model_code(model, self)
        recurrent = any(layer.kind in ("simple_rnn", "lstm", "gru") for layer in model.layers)
        fixed_tail = _exported.fixed_tail(model)
        for n, x in enumerate(args.get("inputs", [])):
            x = np.asarray(x)
            shape = _exported.example_shape(model, x)
            signature = (tuple(x.shape) if recurrent else
                         (None, *shape[1:]) if fixed_tail else (None,) * len(shape))
            lines += [f"x = np.array({x.tolist()!r}, dtype={str(x.dtype)!r}).reshape({tuple(x.shape)!r})",
                      f"model(np.zeros({shape!r}, {str(x.dtype)!r}))  # Keras exports a model it has called",
                      f"model.export('model{n}.tflite', format='litert', verbose=False,",
                      f"             input_signature=[keras.InputSpec(shape={signature!r}, dtype={str(x.dtype)!r})])",
                      f"interpreter = Interpreter(model_path='model{n}.tflite')",
                      "(inp,) = interpreter.get_input_details()",
                      "interpreter.resize_tensor_input(inp['index'], list(x.shape))",
                      "interpreter.allocate_tensors()", "interpreter.set_tensor(inp['index'], x)",
                      "interpreter.invoke()",
                      "out = interpreter.get_tensor(interpreter.get_output_details()[0]['index'])",
                      "print(out.shape, out.dtype)", "print(out)"]
        return "\n".join(lines)

    def export_defaults(self, built, x, inputs):
        """``model.predict(x)``, then the converter's three ways a user takes, each with its own
        defaults: ``model.export(path, format="litert")`` and ``TFLiteConverter.from_keras_model``
        (no signature: Keras' or the converter's, from the model as its first call built it), and
        ``TFLiteConverter.from_concrete_functions`` on the model's concrete function for (None,
        None) indices of x's dtype, the model given as ``trackable_obj`` (the converter's own
        argument for the object that holds the function's variables)."""
        import tensorflow as tf

        built.predict(x, verbose=0)  # Keras exports a model it has called

        def export_litert():
            path = _exported.new_artifact(".tflite")
            built.export(str(path), format="litert", verbose=False)
            return path.read_bytes()

        def from_concrete_functions():
            concrete = tf.function(lambda t: built(t)).get_concrete_function(
                tf.TensorSpec([None] * np.ndim(x), tf.as_dtype(np.asarray(x).dtype)))
            return tf.lite.TFLiteConverter.from_concrete_functions([concrete], trackable_obj=built).convert()

        ways = {"keras_export_litert": ('model.export(path, format="litert")', export_litert),
                "from_keras_model": ("tf.lite.TFLiteConverter.from_keras_model(model).convert()",
                                     lambda: tf.lite.TFLiteConverter.from_keras_model(built).convert()),
                "from_concrete_functions": ("tf.lite.TFLiteConverter.from_concrete_functions([tf.function(model)"
                                            ".get_concrete_function(spec)], trackable_obj=model).convert()",
                                            from_concrete_functions)}
        return {name: _exported.answered(_litert_defaults(call, convert), inputs)
                for name, (call, convert) in ways.items()}

    # -- converting -----------------------------------------------------------------------------
    def _static(self, built) -> bool:
        return any(layer.kind in ("simple_rnn", "lstm", "gru") for layer in built._conformance_spec.layers)

    def _convert(self, built, x) -> bytes:
        import keras

        spec_model = built._conformance_spec
        shape = _exported.example_shape(spec_model, x)
        if not built.built:  # Keras exports a model it has called
            built(np.zeros(shape, x.dtype))
        if self._static(built):
            signature = tuple(int(s) for s in x.shape)
        elif _exported.fixed_tail(spec_model):
            signature = (None, *shape[1:])
        else:
            signature = (None,) * len(shape)
        path = _exported.new_artifact(".tflite")
        built.export(str(path), format="litert", verbose=False,
                     input_signature=[keras.InputSpec(shape=signature, dtype=str(x.dtype))])
        return path.read_bytes()

    def _interpreter(self, built, x):
        from ai_edge_litert.interpreter import Interpreter

        artifacts = built.__dict__.setdefault("_conformance_artifacts", {})
        key = (x.dtype.str, x.shape if self._static(built) else x.ndim)
        held = artifacts.get(key)
        if isinstance(held, BaseException):
            raise held  # the converter refused this model: once per model, not once per example
        digest, weights = getattr(built, "_conformance_digest", ""), built.get_weights()
        if held is None:
            try:
                data = self._convert(built, x)
            except Exception as exc:
                artifacts[key] = exc
                raise
            held = artifacts[key] = _Artifact(data, digest, weights)
        elif held.digest != digest:
            swapped = None if held.swap_verified is None else _swapped(held.data, held.weights, weights)
            if held.swap_verified is True and swapped is not None:
                held.data = swapped
            else:
                fresh = self._convert(built, x)
                if held.swap_verified is False:
                    held.swap_verified = (swapped == fresh) or None
                held.data = fresh
            held.digest, held.weights, held.interpreter = digest, weights, None
        if held.interpreter is None:
            path = _exported.new_artifact(".tflite")
            path.write_bytes(held.data)
            held.interpreter = Interpreter(model_path=str(path))
            held.interpreter.allocate_tensors()
        return held.interpreter


def _litert_defaults(call: str, convert) -> dict:
    """One conversion (``convert()`` returns the flatbuffer), declared and run in the LiteRT
    interpreter: resized to each input's shape, as the interpreter allows (not strictly: a size
    the artifact declares may be resized)."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        data = convert()
    except Exception as exc:  # noqa: BLE001 - the converter's refusal is the answer
        return {"call": call, "raised": type(exc).__name__, "message": " ".join(str(exc).split())[:300]}
    path = _exported.new_artifact(".tflite")
    path.write_bytes(data)
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()

    def run(x):
        interpreter.resize_tensor_input(inp["index"], list(x.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))

    return {"call": call, "input_dtype": str(np.dtype(inp["dtype"])),
            "input_shape": [None if int(d) < 0 else int(d) for d in inp["shape_signature"]], "run": run}
