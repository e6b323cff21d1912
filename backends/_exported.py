"""What the exported backends share (torch_onnx.py, keras_onnx.py, keras_litert.py): a (framework,
exporter, runtime) triple, asked whether the exported model still does what the document says.

The model is built, and its seeded weights set, by the framework's own adapter (composition by
subclassing: the same code as the framework's column). Only forward-type calls are answered, and
they are answered by the runtime alone: the built model is exported the way a careful user
writes it (a signature of the index dtype it is fed, batch and length declared dynamic), the artifact is
written to a folder the worker owns, and the runtime loads and runs it. Everything else a clause
may ask (reading weights back, summaries, masks, losses, training, construction, the document's
Keras calls) is the framework's, before export: :class:`Unsupported`, with the reason.

Export cost: a drawn example reuses the built model of its clause (conformance/running/actions.py,
``reuse``) and sets its own weights; the artifact is made once per built model and refreshed for
new weights the cheapest way the exporter offers (ONNXProgram.apply_weights for torch.onnx; a new
conversion, kept per weights, for the converters that fold weights into the graph).

Artifacts kept across runs (``--compile-cache``, the run's compile cache: each exported column
declares one, keyed by the versions of its framework and exporter, as Keras on JAX's is): every
call of an exporter is made through :func:`exported_bytes`, keyed by what decides its result: the
source of this package (every adapter module: how models are built and exported), the clause's
model, the index dtype, the signature, the weights (and, where the artifact is made by writing new
weights into an earlier export, that export's), the layer and variable names the framework gave.
A run that finds the key reads the bytes an identical call made in an earlier run; the runtime
still answers every case. Records are the same with the cache and without (tests/test_export_cache.py).

The artifacts go to a folder in the worker's scratch folder (``CONFORMANCE_SCRATCH``, which its
parent creates and removes once the worker is gone, even killed on a timeout:
conformance/running/worker.py); outside a worker, to a temporary folder removed at exit. ONNX
Runtime logs at the error level only, and the worker's stdout/stderr go to its log file, never to
the channel (conformance/running/worker.py; tests/test_runtime_noise.py).

Drawn examples: the declarations say ``drawn_inputs_only``, so a clause's drawn examples keep one
model (sizes, weights, index dtype) and vary the batch, the length and the indices: one export per
model per clause (docs/DRAWN-EXAMPLES.md, "Drawn against one model").
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from conformance.running import cache_folders

from .base import Unsupported

EXPORTED_ONLY = ("an exported artifact answers inference calls only; {what} is the framework's, "
                 "before export (see the framework's own column)")
ORT_ERRORS_ONLY = 3  # onnxruntime severity: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal

EXPORT_CACHE = "CONFORMANCE_EXPORT_CACHE"  # the run's folder of exported artifacts (compile_cache.py)
SCRATCH = "CONFORMANCE_SCRATCH"  # the worker's scratch folder, its parent's (conformance/running/worker.py)

_FOLDER: list[Path] = []


def artifacts_folder() -> Path:
    """The folder for exported artifacts: in the worker's scratch folder, which the worker's parent
    removes when the worker is gone (a worker killed on a timeout runs no clean-up of its own);
    outside a worker, a temporary folder removed when the process exits."""
    if not _FOLDER:
        scratch = os.environ.get(SCRATCH)
        if scratch and os.path.isdir(scratch):
            folder = Path(tempfile.mkdtemp(prefix="exported-", dir=scratch))
        else:
            folder = Path(tempfile.mkdtemp(prefix="conformance-export-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _FOLDER.append(folder)
    return _FOLDER[0]


def new_artifact(suffix: str) -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix, dir=artifacts_folder())
    os.close(handle)
    return Path(name)


_SOURCE: list[str] = []


def source_digest() -> str:
    """A digest of every module of this package: a change to how any adapter builds, weights or
    exports a model is another key, so no artifact of older code is ever read."""
    if not _SOURCE:
        here = Path(__file__).resolve().parent
        _SOURCE.append(cache_folders.digest_files(sorted(here.glob("*.py")), here))
    return _SOURCE[0]


_CLASSES: dict[type, str] = {}


def class_digest(cls: type) -> str:
    """The adapter class's qualified name and a digest of the module of every class it inherits
    from (an adapter outside this package, a self-test mutant, exports its own way)."""
    if cls not in _CLASSES:
        h = hashlib.sha256()
        for klass in cls.__mro__:
            module = sys.modules.get(klass.__module__)
            h.update(f"{klass.__module__}.{klass.__qualname__}".encode())
            try:
                h.update(Path(module.__file__).read_bytes())
            except (AttributeError, TypeError, OSError):
                pass  # a built-in or a class without a file: its name only
        _CLASSES[cls] = h.hexdigest()
    return _CLASSES[cls]


def exported_bytes(adapter, parts: tuple, make) -> bytes:
    """``make()``, the bytes of one exporter call, unless the run's export cache (``EXPORT_CACHE``,
    set by the run for a worker when its compile cache is on) holds those of a call with the same
    ``parts`` (plain values: what decides the artifact besides the adapter's code) by the same
    adapter class, under the same framework and exporter versions.

    Kept with the bytes: the warnings the exporter gave while it made them, shown again in the
    case's warnings log as they were sorted then (conformance/running/actions.py, WarningLog), so
    a record says what the export said either way. An exporter's refusal (an exception run_case
    records as the framework's answer) is kept the same way, and raised again as FrameworkRaised
    with its type's name and text: the record is the one the refusal made. Anything else raised
    (an adapter error) is never kept."""
    root = os.environ.get(EXPORT_CACHE)
    if not root:
        return make()
    key = hashlib.sha256(repr((class_digest(type(adapter)), parts)).encode()).hexdigest()
    path = _code_folder(Path(root)) / key[:2] / f"{key}.bin"
    said = path.with_suffix(".json")
    lists = _warning_lists()
    try:
        kept = json.loads(said.read_text())
        data = None if kept.get("refused") else path.read_bytes()
    except (OSError, ValueError):
        pass
    else:
        for target, texts in zip(lists or (), (kept["clause"], kept["framework"])):
            target.extend(text for text in texts if text not in target)
        if data is None:
            raise _refusal(kept["refused"])
        return data
    before = [list(target) for target in lists or ()]

    def shown() -> dict:
        new = [[text for text in target if text not in old] for target, old in zip(lists or (), before)]
        return dict(zip(("clause", "framework"), new or ([], [])))

    try:
        data = make()
    except Exception as exc:
        from conformance.running.actions import framework_refusal

        refused = framework_refusal(exc, adapter)
        if refused is not None:
            _write(said, json.dumps({**shown(), "refused": refused}).encode())
        raise
    _write(path, data)
    _write(said, json.dumps(shown()).encode())  # last: an entry is read only once both are whole
    return data


def _refusal(refused: dict) -> Exception:
    """A kept refusal, as run_case records it: FrameworkRaised with the type's name and the text."""
    from .base import FrameworkRaised

    error = FrameworkRaised(Exception(refused["message"]))
    error.type_name = refused["raised"]
    return error


KEPT_CODE_VERSIONS = 3  # the export cache's folders of other adapter code kept (the most recently used)
_USED: dict[Path, Path] = {}


def _code_folder(root: Path) -> Path:
    """The export cache's folder for this package's source (``source_digest``), marked as used now.
    The first time a process uses it, the folders of other source versions beyond the
    ``KEPT_CODE_VERSIONS`` most recently used are removed: an artifact of older adapter code is never
    read again, and a developer editing backends/ would otherwise add a folder per edit."""
    if root not in _USED:
        try:
            _USED[root] = cache_folders.used_folder(root, source_digest()[:16], KEPT_CODE_VERSIONS)
        except OSError:  # a cache that cannot be written costs time, never a result (_write)
            _USED[root] = root / source_digest()[:16]
    return _USED[root]


def _warning_lists():
    """The lists of the case's warnings log (its ``clause`` and ``framework`` lists), when a worker's
    run_case has one in place as ``warnings.showwarning``; None otherwise."""
    log = getattr(warnings.showwarning, "__self__", None)
    lists = (getattr(log, "clause", None), getattr(log, "framework", None))
    return lists if all(isinstance(target, list) for target in lists) else None


def _write(path: Path, data: bytes) -> None:
    """``data`` written whole, then renamed into place: a run beside this one reads all of it or
    nothing. A cache that cannot be written costs time, never a result."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".writing-")
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.replace(temporary, path)
    except OSError:
        pass


def keras_identity(model) -> tuple:
    """What an exported Keras model carries besides its weights' values: its configuration (the
    layers' names, which the artifact's tensors are named after, and the input shape its first call
    built) and its variables' paths."""
    try:
        config = model.to_json()
    except Exception:  # noqa: BLE001 - a model Keras cannot serialise: its repr, and names below
        config = repr(model)
    return config, tuple(getattr(v, "path", getattr(v, "name", "")) for v in model.weights)


def weights_digest(weights) -> str:
    """A key for a set of reference-layout weights (equal weights, equal key)."""
    h = hashlib.sha256()
    for layer in weights:
        for w in layer:
            a = np.ascontiguousarray(w)
            h.update(str((a.dtype.str, a.shape)).encode())
            h.update(a.tobytes())
    return h.hexdigest()


def ort_session(path: Path):
    """An ONNX Runtime session on the artifact, logging errors only."""
    import onnxruntime as ort

    ort.set_default_logger_severity(ORT_ERRORS_ONLY)
    options = ort.SessionOptions()
    options.log_severity_level = ORT_ERRORS_ONLY
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def ort_run(session, x: np.ndarray) -> np.ndarray:
    """Run the artifact's one input on ``x`` as given (no cast: the artifact's signature decides)."""
    (first,) = session.get_inputs()
    return session.run(None, {first.name: x})[0]


def fixed_tail(model) -> bool:
    """Whether the sizes after the batch are part of the model: a Flatten followed by a layer sized
    by its output (a Dense after Flatten takes length x VEC_DIM features). A Flatten last, or no
    Flatten, leaves them dynamic, as the framework's own model does."""
    kinds = [layer.kind for layer in model.layers]
    return any(kind == "flatten" and kinds[n + 1:] for n, kind in enumerate(kinds))


def example_shape(model, x: np.ndarray) -> tuple[int, ...]:
    """The shape of the example input an export traces with: ``x``'s, with every dynamic axis at
    least 2 (an exporter specializes an axis of size 0 or 1 to that size). The axes after the
    batch stay as given when a layer after a Flatten is sized by them (:func:`fixed_tail`)."""
    fixed = fixed_tail(model)
    shape = [max(int(x.shape[0]), 2)] if x.ndim else []
    for size in x.shape[1:]:
        shape.append(int(size) if fixed else max(int(size), 2))
    return tuple(shape)


class ExportedOnly:
    """Every adapter method but build, set_weights and forward: :class:`Unsupported`, with why.
    Listed first among an exported adapter's bases, so it overrides the framework adapter's."""

    def get_weights(self, built):
        raise Unsupported(EXPORTED_ONLY.format(what="reading weights back"))

    def predict(self, built, x):
        # Keras' model.predict batch loop runs the Keras model, not the artifact: answering with it
        # would count the framework's value as the runtime's (the artifact's own run is forward)
        raise Unsupported(EXPORTED_ONLY.format(what="the document's m.predict (Keras' own batch loop)"))

    def summary(self, built):
        raise Unsupported(EXPORTED_ONLY.format(what="the model summary"))

    def mask(self, built, x):
        raise Unsupported(EXPORTED_ONLY.format(what="the embedding's mask (the artifact has no mask output)"))

    def loss(self, built, x, y):
        raise Unsupported(EXPORTED_ONLY.format(what="the training loss"))

    def train_step(self, built, x, y, lr):
        raise Unsupported(EXPORTED_ONLY.format(what="training"))

    def construct(self, kwargs):
        raise Unsupported(EXPORTED_ONLY.format(what="constructing a layer"))

    def layer_config(self, layer):
        raise Unsupported(EXPORTED_ONLY.format(what="a layer's configuration"))

    def document_call(self, name, **args):
        raise Unsupported(EXPORTED_ONLY.format(what=f"the document's Keras call {name!r}"))

    def build(self, model, pretrained=None):
        if pretrained is not None:
            raise Unsupported(EXPORTED_ONLY.format(what="a pre-trained matrix given at construction"))
        built = super().build(model)
        built._conformance_spec = model  # what the export keys and signatures read
        return built

    def release(self):
        return f"{self.name}@{self.version()}"  # version() names the framework and the runtime


# -- the exporters' defaults (Backend.export_defaults, char.exporter-defaults) ----------------------
def each_input(run, inputs) -> list:
    """``run(x)`` on every input as given: the output as nested lists, or what the runtime raised
    (a runtime refusing an input is the answer, e.g. a dtype or a size the artifact froze)."""
    outputs = []
    for x in inputs:
        try:
            outputs.append(np.asarray(run(np.asarray(x))).tolist())
        except Exception as exc:  # noqa: BLE001 - what the runtime raised is the answer
            outputs.append({"raised": type(exc).__name__, "message": " ".join(str(exc).split())[:300]})
    return outputs


def onnx_declared(path: Path) -> tuple[str, list]:
    """The dtype and shape (None where dynamic) an ONNX artifact declares for its one input."""
    import onnx
    from onnx import helper

    (first,) = [i for i in onnx.load(str(path)).graph.input]
    tensor = first.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    return str(np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))), shape


def onnx_defaults(call: str, export) -> dict:
    """One default export to ONNX (``export(path)`` writes it), declared and run in ONNX Runtime."""
    path = new_artifact(".onnx")
    try:
        export(path)
    except Exception as exc:  # noqa: BLE001 - the exporter's refusal is the answer
        return {"call": call, "raised": type(exc).__name__, "message": " ".join(str(exc).split())[:300]}
    dtype, shape = onnx_declared(path)
    session = ort_session(path)
    return {"call": call, "input_dtype": dtype, "input_shape": shape,
            "run": lambda x: ort_run(session, x)}


def answered(export: dict, inputs) -> dict:
    """An export of :func:`onnx_defaults` (or the like) with its runs on ``inputs`` in place of ``run``."""
    run = export.pop("run", None)
    if run is not None:
        export["outputs"] = each_input(run, inputs)
    return export


# -- the adapters' snippets ---------------------------------------------------------------------
def artifacts_of_inputs(inputs, key, separately=False) -> list[tuple[int, bool]]:
    """Which artifact a snippet runs each input on, as the worker does: ``(number, made here)``.
    The worker exports once per ``key(x)`` of one built model (e.g. the index dtype: the first
    input of that key fixes the example and the signature) and runs later inputs of the same key
    on that artifact; with ``separately`` each input has a model, and an export, of its own."""
    made: dict = {}
    plan = []
    for n, x in enumerate(inputs):
        k = n if separately else key(np.asarray(x))
        new = k not in made
        if new:
            made[k] = len(made)
        plan.append((made[k], new))
    return plan
