"""torch -> torch.onnx.export (dynamo) -> ONNX Runtime: the torch adapter's model (backends/pytorch.py,
built and weighted the same way), exported and run in ONNX Runtime alone (backends/_exported.py).

The export a careful user writes: ``torch.onnx.export(model, (x,), dynamo=True,
dynamic_shapes=({0: Dim.AUTO, 1: Dim.AUTO, ...},))`` with indices of the dtype the caller feeds (an
artifact takes one index dtype: one export per dtype fed), every axis declared dynamic and left to
the exporter to keep or specialize (``Dim.AUTO``), traced on an example whose dynamic axes are at
least 2 long (size 0 and 1 are specialized). ``optimize=False``: the exporter's graph without its
optimizer pass, so that the exporter's own ``ONNXProgram.apply_weights(state_dict)`` reaches every
parameter when a drawn example sets new weights (the optimizer folds nn.LSTM's weights into new
constants, which apply_weights then leaves stale in silence); the arithmetic is the same graph.
One export per built model and dtype (the engine's ``reuse``), new weights applied to the exported
program, saved, and loaded by a new ONNX Runtime session.
"""
from __future__ import annotations

import copy
import inspect

import numpy as np

from . import _exported
from .base import CompileCache, Declaration
from .pytorch import Torch, _Snippet

ONNX_PINS = ("onnx==1.23.2", "onnxruntime==1.32.0", "onnxscript==0.7.2", "onnx-ir==1.1.0")


class _Export:
    """One built model's export for one index dtype: the example shape and the weights it is
    exported with, the exported program (made when first needed: None while every artifact asked
    for is found in the export cache), and the ONNX Runtime session on the current artifact."""

    def __init__(self, shape, first, module):
        self.shape, self.first = shape, first  # the first weights' digest: those the program is exported at
        self.first_state = {k: v.clone() for k, v in module.state_dict().items()}
        self.program, self.applied = None, None   # the program, and the digest of the weights it holds
        self.refused = None                       # what the exporter raised, if it refused the model
        self.session, self.digest = None, None    # the session, and the digest of its artifact's weights


class TorchOnnx(_exported.ExportedOnly, Torch):
    declaration = Declaration(
        name="torch-onnx", framework="torch -> ONNX Runtime", display="PyTorch -> torch.onnx (dynamo) -> ONNX Runtime",
        summary="the torch column's model exported with torch.onnx.export (dynamo), answered by ONNX Runtime alone",
        order=55, seconds_per_item=0.5, requires=("torch", "onnxruntime", "onnxscript", "onnx"),
        drawn_inputs_only=True, group="export",
        # the exported artifacts, kept across runs (backends/_exported.py, exported_bytes)
        compile_cache=CompileCache(_exported.EXPORT_CACHE, ("torch", "onnx", "onnxscript", "onnx-ir")),
        pins=("torch==2.13.0", *ONNX_PINS), pinned_release="2.13+ort1.32")

    def version(self):
        import onnxruntime
        import torch

        return f"{torch.__version__}+onnxruntime-{onnxruntime.__version__}"

    def describe(self):
        import onnxruntime
        import torch

        return (f"PyTorch {torch.__version__} -> torch.onnx.export (dynamo) -> ONNX Runtime "
                f"{onnxruntime.__version__}")

    def start(self):
        build_registry_once()  # every export of this worker shares the registry

    def set_weights(self, built, weights):
        super().set_weights(built, weights)
        built.conformance_digest = _exported.weights_digest(weights)

    def dynamic_axes(self, rank, Dim) -> dict:
        """torch.export's dynamic_shapes for the one input: every axis ``Dim.AUTO``."""
        return {axis: Dim.AUTO for axis in range(rank)}

    def forward(self, built, x):
        return _exported.ort_run(self._exported(built, x), x)

    def snippet(self, model, action, args):
        return _snippet(model, args) if action == "forward" and model is not None else None

    def export_defaults(self, built, x, inputs):
        """``torch.onnx.export(model, (x,), dynamo=True)``: the example's dtype and every size of
        it, since no ``dynamic_shapes`` is declared."""
        import torch

        built.stack.eval()
        example = torch.from_numpy(np.ascontiguousarray(x))

        def export(path):
            torch.onnx.export(built.stack, (example,), str(path), dynamo=True, verbose=False)

        call = "torch.onnx.export(model, (x,), path, dynamo=True)"
        return {"torch_onnx_export": _exported.answered(_exported.onnx_defaults(call, export), inputs)}

    def _exported(self, built, x):
        x = np.asarray(x)
        exports = built.__dict__.setdefault("conformance_exports", {})
        held = exports.get(x.dtype.str)
        if isinstance(held, BaseException):
            raise held  # the exporter refused this model: once per model, not once per example
        digest = getattr(built, "conformance_digest", "")
        if held is None:
            built.stack.eval()
            held = exports[x.dtype.str] = _Export(_exported.example_shape(built.spec, x), digest, built.stack)
        if held.session is None or held.digest != digest:
            # the exported program of the first weights, the later ones applied to it (the
            # exporter's own way), saved: or the bytes of the same calls in an earlier run
            parts = ("torch.onnx.export", repr(built.spec), x.dtype.str, held.shape, held.first, digest)
            try:
                data = _exported.exported_bytes(self, parts, lambda: self._saved(built, x, held, digest))
            except Exception:
                if held.refused is not None:
                    exports[x.dtype.str] = held.refused
                raise
            path = _exported.new_artifact(".onnx")
            path.write_bytes(data)
            held.session, held.digest = _exported.ort_session(path), digest
        return held.session

    def _saved(self, built, x, held, digest) -> bytes:
        """Export the model at its first weights (once), apply the current ones, save."""
        import torch

        if held.program is None:
            from torch.export import Dim

            current = {k: v.clone() for k, v in built.stack.state_dict().items()}
            built.stack.load_state_dict(held.first_state)
            # the signature's dtype is the one the caller feeds (an artifact takes one dtype)
            example = torch.full(held.shape, min(1, _vocabulary(built.spec) - 1), dtype=torch.from_numpy(x[:0]).dtype)
            try:
                held.program = torch.onnx.export(built.stack, (example,), dynamo=True, optimize=False, verbose=False,
                                                 dynamic_shapes=(self.dynamic_axes(len(held.shape), Dim),))
            except Exception as exc:
                held.refused = exc
                raise
            finally:
                built.stack.load_state_dict(current)
            held.applied = held.first
        if held.applied != digest:  # new weights: the exporter's own way to apply them
            held.program.apply_weights(built.stack.state_dict())
            held.applied = digest
        path = _exported.new_artifact(".onnx")
        held.program.save(str(path))
        return path.read_bytes()


def build_registry_once() -> bool:
    """Make ``torch.onnx.export`` build its op registry once per opset in this process, not on
    every call; False where this torch has no such registry (an older release: left alone).

    Each dynamo export calls ``ONNXRegistry.from_torchlib()``, which rebuilds the table of ONNX
    functions from onnxscript's torchlib, reading the source of about 500 functions
    (``inspect.getsource``): about 0.3 s of a small model's 0.45 s export, the same table every
    time. The table depends only on the opset and the installed packages, and an export only
    reads it (``register_op`` writes to it for a ``custom_translation_table``, which no export
    here passes; each call still gets its own registry object, its lists copied, so even that
    could not leak into the next). The exporter's own code does the rest; the exported bytes are
    the same (tests/test_export_cache.py)."""
    try:
        from torch.onnx._internal.exporter._registration import ONNXRegistry
    except ImportError:
        return False
    build = getattr(ONNXRegistry, "from_torchlib", None)
    if hasattr(build, "conformance_built"):
        return True
    if build is None or not hasattr(ONNXRegistry(), "functions"):
        return False
    build, built = build.__func__, {}
    signature = inspect.signature(build)

    def from_torchlib(cls, *args, **kwargs):
        call = signature.bind(cls, *args, **kwargs)  # the opset given or not, by name or not: one key
        call.apply_defaults()
        key = (cls, repr(list(call.arguments.values())[1:]))  # the arguments after cls, in order
        if key not in built:
            built[key] = build(cls, *args, **kwargs)
        registry = copy.copy(built[key])
        registry.functions = {target: list(metas) for target, metas in built[key].functions.items()}
        return registry

    from_torchlib.conformance_built = built
    ONNXRegistry.from_torchlib = classmethod(from_torchlib)
    return True


def _snippet(model, args) -> str:
    """The torch column's model code, exported as this adapter does and run in ONNX Runtime alone."""
    build = _Snippet(model, "forward", args)
    lines = ["import numpy as np", "import onnxruntime as ort", "import torch", "from torch import nn",
             "from torch.export import Dim",
             "from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence", "", "torch.manual_seed(0)"]
    lines += build._build(pretrained=False) + build._run()
    lines += ["class Exported(nn.Module):", "    def __init__(self):", "        super().__init__()",
              "        self.layers = layers", "    def forward(self, x):", "        return run(x)", ""]
    inputs = args.get("inputs", [])
    # one export per index dtype of one model, its example the first input of that dtype, as the
    # worker does (TorchOnnx._exported); a model per input when the clause says ``separately``
    plan = _exported.artifacts_of_inputs(inputs, lambda x: x.dtype.str, args.get("separately", False))
    for x, (k, new) in zip(inputs, plan):
        x = np.asarray(x)
        lines.append(f"x = np.array({x.tolist()!r}, dtype={str(x.dtype)!r}).reshape({tuple(x.shape)!r})")
        if new:
            shape = _exported.example_shape(model, x)
            axes = ", ".join(f"{a}: Dim.AUTO" for a in range(len(shape)))
            lines += [f"example = torch.full({shape!r}, {min(1, _vocabulary(model) - 1)}, "
                      f"dtype=torch.{x.dtype if x.dtype.kind in 'iuf' else 'int64'})",
                      f"torch.onnx.export(Exported().eval(), (example,), 'model{k}.onnx', dynamo=True, optimize=False,",
                      f"                  dynamic_shapes=({{{axes}}},))",
                      f"session{k} = ort.InferenceSession('model{k}.onnx')"]
        lines += [f"out = session{k}.run(None, {{session{k}.get_inputs()[0].name: x}})[0]",
                  "print(out.shape, out.dtype)", "print(out)"]
    return "\n".join(lines)


def _vocabulary(model) -> int:
    return int(model.layers[0].args["input_dim"]) if model.layers and model.layers[0].kind == "embedding" else 2
