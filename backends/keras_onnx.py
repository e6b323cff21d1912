"""Keras 3 on TensorFlow -> ``model.export(format="onnx")`` (tf2onnx) -> ONNX Runtime: the
keras-tensorflow adapter's model (backends/keras3.py, _keras_common.py), built and weighted the same
way, exported and answered by ONNX Runtime alone (backends/_exported.py).

The export a careful user writes: the model called once (Keras exports a built model only), then
``model.export(path, format="onnx", input_signature=[keras.InputSpec(shape=(None, None),
dtype=<the index dtype fed>)])``: batch and length dynamic (the sizes after the batch as given when
a Flatten follows, whose Dense is sized by them), one export per index dtype fed.

New weights for a drawn example: tf2onnx folds the variables into initializers (one per variable,
its value unchanged, named after its ReadVariableOp). The first time a built model's weights change
it is exported again, and the initializers of the first export that held the old weights bit for
bit are overwritten with the new ones; if the result equals the new export (same graph, same
initializers), later weight changes are written the same way, without exporting; if not, every
weight change exports again. Either way the runtime runs what the exporter made of those weights.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import _exported
from ._keras_common import _model_code
from .base import CompileCache, Declaration
from .keras3 import KERAS, KerasTensorflow
from .torch_onnx import ONNX_PINS

TF2ONNX = "tf2onnx==1.17.0"


class _Export:
    """One export of one built model for one index dtype, and what is known about its weights."""

    def __init__(self, proto, mapping, digest):
        self.proto, self.mapping, self.digest = proto, mapping, digest
        self.swap_verified: bool | None = False  # None: writing weights did not reproduce an export
        self.session = None


def _graph_key(proto):
    """What two exports must share to be the same model: the operators in order and the
    initializers' values (names aside: the converter numbers its constants per run)."""
    ops = tuple(node.op_type for node in proto.graph.node)
    inits = sorted((tuple(i.dims), i.data_type, i.raw_data or i.SerializeToString()) for i in proto.graph.initializer)
    return ops, inits


class KerasTensorflowOnnx(_exported.ExportedOnly, KerasTensorflow):
    declaration = Declaration(
        name="keras-tensorflow-onnx", framework="keras -> ONNX Runtime",
        display="Keras 3 on TensorFlow -> model.export(format=\"onnx\") -> ONNX Runtime",
        summary="the keras-tensorflow column's model exported to ONNX (tf2onnx), answered by ONNX Runtime alone",
        order=12, seconds_per_item=0.5, requires=("keras", "tensorflow", "tf2onnx", "onnxruntime", "onnx"),
        env={"KERAS_BACKEND": "tensorflow"}, drawn_inputs_only=True, group="export",
        # the exported artifacts, kept across runs (backends/_exported.py, exported_bytes)
        compile_cache=CompileCache(_exported.EXPORT_CACHE,
                                   ("keras", "tensorflow", "tensorflow-cpu", "tf2onnx", "onnx")),
        pins=(KERAS, "tensorflow-cpu==2.21.0", *ONNX_PINS[:2], TF2ONNX), pinned_release="3.15+ort1.32")

    def version(self):
        import onnxruntime

        return f"{super().version()}+onnxruntime-{onnxruntime.__version__}"

    def describe(self):
        import onnxruntime
        import tensorflow as tf
        import tf2onnx

        return (f"keras {super().version()} on tensorflow {tf.__version__} -> model.export(format='onnx') "
                f"(tf2onnx {tf2onnx.__version__}) -> ONNX Runtime {onnxruntime.__version__}")

    def start(self):
        # Keras patches tf2onnx once per process, at its first ONNX export, and the patch's
        # hasattr(np, "object") makes NumPy warn (FutureWarning): done here, at the worker's start,
        # so that warning belongs to no case, whichever case exports first (with a warm export
        # cache, the clauses' exports may not run the exporter at all)
        try:
            from keras.src.export.tf2onnx_lib import patch_tf2onnx
        except ImportError:  # a Keras without it
            pass
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                patch_tf2onnx()

    def set_weights(self, built, weights):
        super().set_weights(built, weights)
        built._conformance_digest = _exported.weights_digest(weights)

    def forward(self, built, x):
        return _exported.ort_run(self._exported(built, np.asarray(x)), x)

    def snippet(self, model, action, args):
        """The keras-tensorflow column's model code, exported as this adapter does and run in ONNX
        Runtime alone."""
        if action != "forward" or model is None:
            return None
        lines = [*self.snippet_preamble(), "import numpy as np", "import keras", "import onnxruntime as ort", ""]
        lines += _model_code(model, self)
        fixed_tail = _exported.fixed_tail(model)
        inputs = args.get("inputs", [])
        separately = args.get("separately", False)
        # one export per index dtype of one model, its signature from the first input of that
        # dtype, the model called once before its first export, as the worker does (_exported)
        plan = _exported.artifacts_of_inputs(inputs, lambda x: x.dtype.str, separately)
        for n, (x, (k, new)) in enumerate(zip(inputs, plan)):
            x = np.asarray(x)
            lines.append(f"x = np.array({x.tolist()!r}, dtype={str(x.dtype)!r}).reshape({tuple(x.shape)!r})")
            if separately and n:  # a model of its own for each input
                lines += _model_code(model, self)
            if new:
                shape = _exported.example_shape(model, x)
                axes = (None, *(shape[1:] if fixed_tail else (None,) * (len(shape) - 1)))
                if model.input_shape is None and (n == 0 or separately):
                    lines.append(f"model(np.zeros({shape!r}, {str(x.dtype)!r}))  # Keras exports a model it has called")
                lines += [f"model.export('model{k}.onnx', format='onnx', verbose=False,",
                          f"             input_signature=[keras.InputSpec(shape={axes!r}, dtype={str(x.dtype)!r})])",
                          f"session{k} = ort.InferenceSession('model{k}.onnx')"]
            lines += [f"out = session{k}.run(None, {{session{k}.get_inputs()[0].name: x}})[0]",
                      "print(out.shape, out.dtype)", "print(out)"]
        return "\n".join(lines)

    def export_defaults(self, built, x, inputs):
        """``model.predict(x)``, then ``model.export(path, format="onnx")`` with no signature:
        Keras derives one from the model as its first call built it."""
        built.predict(x, verbose=0)  # Keras exports a model it has called

        def export(path):
            built.export(str(path), format="onnx", verbose=False)

        call = 'model.export(path, format="onnx")'
        return {"keras_export_onnx": _exported.answered(_exported.onnx_defaults(call, export), inputs)}

    # -- exporting ------------------------------------------------------------------------------
    def _export(self, built, x):
        import keras
        import onnx

        shape = _exported.example_shape(built_spec(built), x)
        fixed_tail = _exported.fixed_tail(built_spec(built))
        if not built.built:  # Keras exports a model it has called
            built(np.zeros(shape, x.dtype))
        spec = keras.InputSpec(shape=(None, *(shape[1:] if fixed_tail else (None,) * (len(shape) - 1))),
                               dtype=str(x.dtype))

        def export() -> bytes:
            path = _exported.new_artifact(".onnx")
            built.export(str(path), format="onnx", verbose=False, input_signature=[spec])
            return path.read_bytes()

        parts = ("model.export(format='onnx')", repr(built_spec(built)), _exported.keras_identity(built),
                 str(x.dtype), spec.shape, _exported.weights_digest([built.get_weights()]))
        return onnx.load_from_string(_exported.exported_bytes(self, parts, export))

    def _exported(self, built, x):
        from onnx import numpy_helper

        exports = built.__dict__.setdefault("_conformance_exports", {})
        held = exports.get(x.dtype.str)
        if isinstance(held, BaseException):
            raise held  # the exporter refused this model: once per model, not once per example
        digest = getattr(built, "_conformance_digest", "")
        if held is None:
            try:
                proto = self._export(built, x)
            except Exception as exc:
                exports[x.dtype.str] = exc
                raise
            held = exports[x.dtype.str] = _Export(proto, _weight_initializers(proto, built.get_weights()), digest)
        elif held.digest != digest:
            swapped = None
            if held.mapping is not None and held.swap_verified is not None:
                swapped = _with_weights(held.proto, held.mapping, built.get_weights(), numpy_helper)
            if held.swap_verified is True:
                held.proto = swapped
            else:
                fresh = self._export(built, x)
                if held.swap_verified is False:
                    held.swap_verified = swapped is not None and _graph_key(swapped) == _graph_key(fresh)
                    held.swap_verified = held.swap_verified or None
                held.proto = fresh
                held.mapping = _weight_initializers(fresh, built.get_weights())
            held.digest, held.session = digest, None
        if held.session is None:
            import onnx

            path = _exported.new_artifact(".onnx")
            onnx.save(held.proto, str(path))
            held.session = _exported.ort_session(path)
        return held.session


def built_spec(built):
    """The clause's model a Keras model was built from (Sequential keeps no such thing: the
    adapter's build is wrapped to remember it)."""
    return built._conformance_spec


def _weight_initializers(proto, weights):
    """Initializer name -> index of the Keras weight it holds bit for bit, or None when a weight
    is not held by exactly one initializer (then weights are never written, always exported)."""
    from onnx import numpy_helper

    inits = [(i.name, numpy_helper.to_array(i)) for i in proto.graph.initializer]
    mapping = {}
    for n, w in enumerate(weights):
        w = np.asarray(w)
        same = [name for name, a in inits if a.shape == w.shape and a.dtype == w.dtype and np.array_equal(a, w)]
        if len(same) != 1 or same[0] in mapping:
            return None
        mapping[same[0]] = n
    return mapping


def _with_weights(proto, mapping, weights, numpy_helper):
    import copy

    out = copy.deepcopy(proto)
    for init in out.graph.initializer:
        if init.name in mapping:
            init.CopyFrom(numpy_helper.from_array(np.asarray(weights[mapping[init.name]]), init.name))
    return out
