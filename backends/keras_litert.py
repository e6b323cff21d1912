"""Keras 3 on TensorFlow -> ``model.export(format="litert")`` (the TFLite converter) -> the LiteRT
interpreter (``ai-edge-litert``): the keras-tensorflow adapter's model, built and weighted the same
way, converted and answered by the LiteRT interpreter alone (backends/_exported.py).

The export a careful user writes: the model called once, then ``model.export(path,
format="litert", input_signature=[keras.InputSpec(shape=..., dtype=<the index dtype fed>)])``; the
interpreter resizes the input to each call's shape (``resize_tensor_input``, ``allocate_tensors``).
A static batch where the runtime needs it: a recurrent layer's outputs go through a TensorList whose
element shape is (batch, units); with the batch unknown the converter leaves TensorFlow ops the
interpreter does not have (Flex TensorListReserve, TensorListStack), with the batch known it lowers
them, and the length stays dynamic (the interpreter resizes it, masked steps and all). So a model
with an RNN is converted once per batch size fed, ``(batch, None)``; the others once per index dtype
with batch and length dynamic (the sizes after the batch fixed when a Flatten follows).

One conversion per model, weights and signature in the worker: a clause whose model and weights
equal an earlier clause's (the document's examples, which many clauses share) runs the artifact
already converted, kept by the spec model, the shape of the Keras model's first call (which fixes
what it accepts after: char.sequential-input-rank-after-first-call), the weights' bytes, the index
dtype and the signature.

New weights for a drawn example: the converter folds the variables into the flatbuffer's buffers,
each holding the variable's bytes unchanged (or transposed). The first time a built model's weights change it is
converted again, and the bytes of the first artifact that held the old weights are overwritten with
the new ones; if the result equals the new conversion byte for byte, later weight changes are
written the same way without converting; if not, every weight change converts again. (Not across
built models: the flatbuffer names each tensor after its Keras layer, so two models of one spec
never convert to the same bytes.)

Measured (2 cores, load 6 to 9): a recurrent conversion costs 1.1 to 1.9 s CPU, the others 0.5
to 0.9 s (``CONFORMANCE_TIMINGS``); before the two reuses above the column converted 97 times.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _exported
from ._keras_common import _model_code
from .base import CompileCache, Declaration
from .keras3 import KERAS, KerasTensorflow

LITERT = "ai-edge-litert==2.3.0"


class _Shared(NamedTuple):
    """A conversion any built model of the same spec, weights and signature may run."""
    data: bytes
    interpreter: object


class _Artifact:
    """One built model's conversion for one signature, and how its weights may be rewritten."""

    def __init__(self, data: bytes, digest: str, weights):
        self.data, self.digest, self.weights = data, digest, weights
        self.swap_verified: bool | None = False  # None: writing weights did not reproduce a conversion
        self.own = True  # False: another built model's conversion (its layer names), not to verify against
        self.interpreter = None

    def shared(self) -> _Shared:
        return _Shared(self.data, self.interpreter)


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
        # the converted artifacts, kept across runs (backends/_exported.py, exported_bytes)
        compile_cache=CompileCache(_exported.EXPORT_CACHE, ("keras", "tensorflow", "tensorflow-cpu", "ai-edge-litert")),
        pins=(KERAS, "tensorflow-cpu==2.21.0", LITERT), pinned_release="3.15+litert2.3")

    def version(self):
        from importlib.metadata import version

        return f"{super().version()}+litert-{version('ai-edge-litert')}"

    def describe(self):
        from importlib.metadata import version

        import tensorflow as tf

        return (f"keras {super().version()} on tensorflow {tf.__version__} -> model.export(format='litert') "
                f"-> LiteRT {version('ai-edge-litert')}")

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
        inputs = args.get("inputs", [])
        separately = args.get("separately", False)

        def signature(x):
            shape = _exported.example_shape(model, x)
            return ((x.shape[0], *(None,) * (x.ndim - 1)) if recurrent else
                    (None, *shape[1:]) if fixed_tail else (None,) * len(shape))

        # one conversion per index dtype and rank (per batch size for a recurrent model) of one
        # model, its signature from the first input of that kind, the model called once on the
        # first input, as the worker does (_interpreter, _signature, _called)
        plan = _exported.artifacts_of_inputs(
            inputs, lambda x: (x.dtype.str, signature(x) if recurrent else x.ndim), separately)
        for n, (x, (k, new)) in enumerate(zip(inputs, plan)):
            x = np.asarray(x)
            lines.append(f"x = np.array({x.tolist()!r}, dtype={str(x.dtype)!r}).reshape({tuple(x.shape)!r})")
            if separately and n:  # a model of its own for each input
                lines += _model_code(model, self)
            if model.input_shape is None and (n == 0 or separately):
                shape = _exported.example_shape(model, x)
                lines.append(f"model(np.zeros({shape!r}, {str(x.dtype)!r}))  # Keras exports a model it has called")
            if new:
                lines += [f"model.export('model{k}.tflite', format='litert', verbose=False,",
                          f"             input_signature=[keras.InputSpec(shape={signature(x)!r}, "
                          f"dtype={str(x.dtype)!r})])",
                          f"interpreter{k} = Interpreter(model_path='model{k}.tflite')"]
            lines += [f"(inp,) = interpreter{k}.get_input_details()",
                      f"interpreter{k}.resize_tensor_input(inp['index'], list(x.shape))",
                      f"interpreter{k}.allocate_tensors()", f"interpreter{k}.set_tensor(inp['index'], x)",
                      f"interpreter{k}.invoke()",
                      f"out = interpreter{k}.get_tensor(interpreter{k}.get_output_details()[0]['index'])",
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
    def _recurrent(self, built) -> bool:
        return any(layer.kind in ("simple_rnn", "lstm", "gru") for layer in built._conformance_spec.layers)

    def _signature(self, built, x) -> tuple:
        """The input signature converted for ``x``: the batch static for a recurrent model (the
        length dynamic), every axis dynamic otherwise, but for the sizes a layer after a Flatten
        is sized by."""
        spec_model = built._conformance_spec
        if self._recurrent(built):
            return (int(x.shape[0]), *(None,) * (x.ndim - 1))
        if _exported.fixed_tail(spec_model):
            return (None, *_exported.example_shape(spec_model, x)[1:])
        return (None,) * x.ndim

    def _called(self, built, x) -> tuple:
        """The shape the Keras model was first called with (calling it now if it was not): Keras
        exports a model it has called, and the first call fixes what it accepts afterwards."""
        if "_conformance_first_call" not in built.__dict__:
            first = None  # built by its Input (the spec's input_shape)
            if not built.built:
                first = (_exported.example_shape(built._conformance_spec, x), x.dtype.str)
                built(np.zeros(*first))
            built._conformance_first_call = first
        return built._conformance_first_call

    def _convert(self, built, x, signature) -> bytes:
        import keras

        self._called(built, x)

        def convert() -> bytes:
            path = _exported.new_artifact(".tflite")
            built.export(str(path), format="litert", verbose=False,
                         input_signature=[keras.InputSpec(shape=signature, dtype=str(x.dtype))])
            return path.read_bytes()

        parts = ("model.export(format='litert')", repr(built._conformance_spec), _exported.keras_identity(built),
                 str(x.dtype), tuple(signature), _exported.weights_digest([built.get_weights()]))
        return _exported.exported_bytes(self, parts, convert)

    def _interpreter(self, built, x):
        artifacts = built.__dict__.setdefault("_conformance_artifacts", {})
        signature = self._signature(built, x)
        key = (x.dtype.str, signature if self._recurrent(built) else x.ndim)  # one model, one tail
        held = artifacts.get(key)
        if isinstance(held, BaseException):
            raise held  # the converter refused this model: once per model, not once per example
        weights = built.get_weights()
        digest = _exported.weights_digest([weights])
        shared_key = (repr(built._conformance_spec), self._called(built, x), x.dtype.str, signature, digest)
        shared = _converted.get(shared_key)
        if held is not None and held.digest == digest:
            pass
        elif shared is not None:
            # the same model, weights and signature, converted for an earlier clause
            if held is None:
                held = artifacts[key] = _Artifact(shared.data, digest, weights)
            held.data, held.digest, held.weights, held.interpreter = shared.data, digest, weights, shared.interpreter
            held.own = False
        elif held is None:
            try:
                data = self._convert(built, x, signature)
            except Exception as exc:
                artifacts[key] = exc
                raise
            held = artifacts[key] = _Artifact(data, digest, weights)
        else:
            swapped = None if held.swap_verified is None else _swapped(held.data, held.weights, weights)
            if held.swap_verified is True and swapped is not None:
                held.data = swapped
            else:
                fresh = self._convert(built, x, signature)
                if held.swap_verified is False and held.own:
                    held.swap_verified = (swapped == fresh) or None
                held.data, held.own = fresh, True
            held.digest, held.weights, held.interpreter = digest, weights, None
        if held.interpreter is None:
            held.interpreter = _interpreter_of(held.data)
            _converted[shared_key] = held.shared()
        return held.interpreter


# (repr of the spec model, its first call, index dtype, signature, weights digest) -> a conversion
_converted: dict[tuple, _Shared] = {}


def _interpreter_of(data: bytes):
    from ai_edge_litert.interpreter import Interpreter

    path = _exported.new_artifact(".tflite")
    path.write_bytes(data)
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    return interpreter


def _litert_defaults(call: str, convert) -> dict:
    """One conversion (``convert()`` returns the flatbuffer), declared and run in the LiteRT
    interpreter: resized to each input's shape, as the interpreter allows (not strictly: a size
    the artifact declares may be resized)."""
    try:
        data = convert()
    except Exception as exc:  # noqa: BLE001 - the converter's refusal is the answer
        return {"call": call, "raised": type(exc).__name__, "message": " ".join(str(exc).split())[:300]}
    interpreter = _interpreter_of(data)
    (inp,) = interpreter.get_input_details()

    def run(x):
        interpreter.resize_tensor_input(inp["index"], list(x.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))

    return {"call": call, "input_dtype": str(np.dtype(inp["dtype"])),
            "input_shape": [None if int(d) < 0 else int(d) for d in inp["shape_signature"]], "run": run}
