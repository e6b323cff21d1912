"""Actions: what a clause does to a backend, composed from the small adapter contract.

A :class:`Case` is a fully resolved clause (numbers instead of formulas, arrays instead of
generators, the reference's seeded weights). It is plain data, so it can be sent to the
backend's worker process, where :func:`run_case` turns it into an *observation*: a dict of
plain values and NumPy arrays that the checks read by field path.

Each action is declared, with its ``with`` keys and the fields it produces, in
conformance/language/vocabulary/actions.py (tests/test_vocabulary.py holds the two together).
"""
from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
import traceback
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from backends.base import FrameworkRaised, Layer, Model, Unsupported

_ENGINE = Path(__file__).resolve().parent.parent  # the conformance package
_ADAPTERS = _ENGINE.parent / "backends"
# The reference *is* the system under test when it runs: its deliberate errors (an index out of
# the layer's contract) are its behaviour, like a framework's. Its bugs are caught by tests/.
_BEHAVES = (_ADAPTERS / "reference.py",)
_OWN_CODE = (_ENGINE, _ADAPTERS)
# NumPy is every adapter's common currency, never the framework under test (a mutant of the
# reference may list it in ``requires``): an exception raised in it by the adapter is the adapter's.
_NEVER_UNDER_TEST = ("numpy",)


# Warnings that say nothing about the behaviour under test and would drown the ones that do
# (Keras' get_weights on NumPy 2 warns about the __array__ copy keyword on every call).
WARNING_NOISE = ("__array__ implementation doesn't accept a copy keyword",)


@dataclass
class Case:
    clause: str
    action: str
    model: Model | None
    args: dict = field(default_factory=dict)
    weights: list | None = None      # reference layout, set after building
    pretrained: np.ndarray | None = None
    example: str | None = None       # a drawn example's key (properties.py); None: the document's


class AdapterError(RuntimeError):
    """An exception raised by the adapter's own code, not by the framework: an adapter bug."""


def _adapter_files(backend) -> tuple[Path, ...]:
    """Source files of the adapter's classes (a third-party adapter's module included)."""
    return _class_files(type(backend))


@functools.lru_cache(maxsize=64)
def _class_files(backend_class) -> tuple[Path, ...]:
    """_adapter_files, once per adapter class: a worker asks for every case (resolving paths
    on disk each time cost a worker about a second per 1000 cases)."""
    files = []
    for cls in backend_class.__mro__:
        path = getattr(sys.modules.get(cls.__module__), "__file__", None)
        if path:
            files.append(Path(path).resolve())
    return tuple(files)


def _framework_paths(backend) -> tuple[Path, ...]:
    """Where the framework under test lives: the packages (or modules) of its ``requires``."""
    return _required_paths(tuple(getattr(backend, "requires", ())))


@functools.lru_cache(maxsize=64)
def _required_paths(requires: tuple) -> tuple[Path, ...]:
    """_framework_paths, once per ``requires`` (the modules' places do not change within a
    process: every case's warnings log asked again, with a find_spec and a resolve each)."""
    paths = list(_BEHAVES)
    for name in requires:
        if name.split(".")[0] in _NEVER_UNDER_TEST:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if spec.submodule_search_locations:
            paths += [Path(p).resolve() for p in spec.submodule_search_locations]
        elif spec.origin:
            paths.append(Path(spec.origin).resolve())
    return tuple(paths)


@functools.lru_cache(maxsize=4096)
def _resolved(filename: str) -> Path:
    return Path(filename).resolve()


def _within(path: Path, roots) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _raised_by_framework(exc: BaseException, backend) -> bool:
    """Whose behaviour an exception is, decided by the adapter frame that made the call.

    The innermost frame of the adapter's own code (the engine, the backends package, the
    adapter's class files) is the call the adapter made last. If framework code under test (its
    ``requires`` packages; for the reference, reference.py) ran between that call and the raise,
    the exception is the framework's behaviour, even when the framework raised it through
    NumPy, the standard library or its own dependencies. If not (the adapter raised, or NumPy or
    another library it called directly did, say a MemoryError or a bad reshape), it is an
    adapter error. ``FrameworkRaised`` marks the remaining case explicitly: the framework
    answering in the adapter's own frame (a TypeError from a call's signature). The adapter's
    modules (its classes' files) are its own code even when they lie inside the framework's
    package; a framework that defines its adapter in the very file of its own code is not told
    apart (docs/RELIABILITY.md).
    """
    files = [_resolved(f.filename) for f in traceback.extract_tb(exc.__traceback__)]
    framework = _framework_paths(backend)
    # The adapter's own modules are its own even inside its framework's package (a framework may
    # ship its adapter): a frame there is never the framework's. reference.py is the reference's
    # behaviour, also to an adapter derived from it.
    modules = {path for path in _adapter_files(backend) if path not in _BEHAVES}
    mine = lambda path: path in modules or (_within(path, _OWN_CODE) and not _within(path, framework))  # noqa: E731
    innermost = max((n for n, path in enumerate(files) if mine(path)), default=-1)
    return any(_within(path, framework) and path not in modules for path in files[innermost + 1:])


def framework_refusal(exc: BaseException, backend) -> dict | None:
    """What run_case records of ``exc`` as the framework's answer (``raised``: its type's name,
    ``message``: its text), or None when it is an adapter error. run_case decides with it, and so
    does backends/_exported.py, which keeps an exporter's refusal and raises it again later as
    ``FrameworkRaised``."""
    if isinstance(exc, FrameworkRaised):
        return {"raised": exc.type_name, "message": str(exc)}
    if isinstance(exc, Exception) and not isinstance(exc, Unsupported) and _raised_by_framework(exc, backend):
        return {"raised": type(exc).__name__, "message": str(exc)}
    return None


_WARNINGS_MODULES = ("warnings", "_py_warnings")  # the machinery between warn() and showwarning


class WarningLog:
    """The warnings of one case, sorted by who issued them (a ``warnings.showwarning``).

    * ``warnings``: issued by the framework under test itself (its ``requires`` packages; the
      reference for the reference), or by anyone about the adapter's or engine's call: about
      the call the clause makes, so ``warns``/``no_warning`` checks and errata read them.
    * ``framework``: issued by the standard library, NumPy or another library about the
      framework's *own* code (the nearest caller outside that library is inside the
      framework), e.g. tf-keras 2.16's seed helper calling ``random.randint(1, 1e9)``, which
      makes ``random`` warn about non-integer arguments on every layer it builds. Nothing the
      clause (the document's code) does causes them; they are shown, never judged.

    The issuer is the frame that called ``warnings.warn``, found on the stack when the warning
    is shown (``stacklevel`` moves only the location a warning names, not the issuer).
    """

    def __init__(self, backend):
        self.framework_paths = _framework_paths(backend)
        self.own_paths = _OWN_CODE + _adapter_files(backend)
        self.clause, self.framework = [], []

    def showwarning(self, message, category, filename, lineno, file=None, line=None):
        if any(noise in str(message) for noise in WARNING_NOISE):
            return
        text = f"{category.__name__}: {' '.join(str(message).split())[:300]}"
        target = self.framework if self.framework_internal(sys._getframe(1)) else self.clause
        if text not in target:
            target.append(text)

    def framework_internal(self, frame) -> bool:
        """Whether the warning shown from ``frame`` was issued by another library about the
        framework's code (see the class docstring)."""
        while frame is not None and frame.f_globals.get("__name__") in _WARNINGS_MODULES:
            frame = frame.f_back  # warnings.py's own frames (_showwarnmsg, warn_explicit)
        if frame is None or self._framework(frame) or self._own(frame):
            return False  # issued by the framework, or by the adapter/engine themselves
        frame = frame.f_back
        while frame is not None:
            if self._framework(frame):
                return True
            if self._own(frame):
                return False
            frame = frame.f_back
        return False

    def _framework(self, frame) -> bool:
        return _within(_resolved(frame.f_code.co_filename), self.framework_paths)

    def _own(self, frame) -> bool:
        path = _resolved(frame.f_code.co_filename)
        return _within(path, self.own_paths) and not _within(path, self.framework_paths)


@functools.cache
def _takes_clause(cls) -> bool:
    """Whether ``cls.emulation`` takes the clause id (``clause=``, Backend's signature since it was
    added); an adapter written against the older three-argument signature is called without it."""
    params = inspect.signature(cls.emulation).parameters.values()
    return any(p.name == "clause" or p.kind is p.VAR_KEYWORD for p in params)


def run_case(backend, case: Case) -> dict:
    """Run one case; framework exceptions become ``{"raised": type, "message": text}``.

    The observation's ``warnings`` are those about the clause's call, ``framework_warnings``
    those a framework's own code caused (:class:`WarningLog`)."""
    log = WarningLog(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = log.showwarning  # restored by catch_warnings
        try:
            obs = ACTIONS[case.action](backend, case)
            emulated = backend.emulation(case.action, case.model, case.args,
                                         **({"clause": case.clause} if _takes_clause(type(backend)) else {}))
            if emulated:  # what the adapter computed by hand (Backend.emulation)
                obs["emulated"] = {str(k): str(v) for k, v in emulated.items()}
        except Unsupported:
            raise
        except Exception as exc:  # noqa: BLE001 - we classify, then re-raise or record
            answer = framework_refusal(exc, backend)
            if answer is None:
                raise AdapterError("".join(traceback.format_exception(exc))) from exc
            obs = {"raised": answer["raised"], "message": " ".join(answer["message"].split())[:400]}
    obs["warnings"], obs["framework_warnings"] = log.clause, log.framework
    return obs


# Models built for drawn examples, reused by every later example that needs the same one, in this
# clause and the next. A framework compiles per model and input shape (Keras on JAX: 0.2 to 1.5 s
# for each new one, traced once per model object), so a worker keeps what it built for a drawn
# example, keyed by everything that decides the model: the adapter, the action, the model, and the
# rank of each input (a Sequential without an Input fixes its rank at its first call; sizes along
# an axis may vary). Each example sets its own weights before it runs. The document's own examples
# always build afresh, as do the actions about construction itself (a pre-trained matrix given at
# construction, fresh initializers).
_BUILT: OrderedDict = OrderedDict()
MAX_BUILT = 64
_NOT_REUSED = ("pretrained", "fresh_weights")


def _signature(args: dict) -> tuple:
    out = []
    for key in sorted(args):
        value = args[key]
        if isinstance(value, np.ndarray):
            out.append((key, value.ndim))
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            out.append((key, tuple(v.ndim for v in value)))
        elif isinstance(value, (bool, str)) or value is None:
            out.append((key, value))
    return tuple(out)


def _build(backend, case: Case, pretrained=None, slot=None):
    """Build the case's model and set its weights; a drawn example reuses a model built before.
    ``slot`` n: the model of ``forward``'s n-th input alone (``separately``)."""
    reuse = case.example is not None and pretrained is None and case.action not in _NOT_REUSED
    args = case.args if slot is None else {"inputs": [case.args["inputs"][slot]]}
    key = (type(backend), case.action, repr(case.model), _signature(args), slot) if reuse else None
    built = _BUILT.get(key) if reuse else None
    if built is None:
        built = backend.build(case.model, pretrained=case.pretrained if pretrained is None else pretrained)
        if reuse:
            backend.reuse(built)  # a hint: this model will run again (Keras on JAX then compiles it)
            _BUILT[key] = built
            while len(_BUILT) > MAX_BUILT:
                _BUILT.popitem(last=False)
    else:
        _BUILT.move_to_end(key)
    if case.weights is not None:
        # an adapter mutates the model in place (None) or returns its new state (a functional framework)
        updated = backend.set_weights(built, case.weights)
        if updated is not None:
            built = updated
            if reuse:
                _BUILT[key] = built
    return built


def forward(backend, case):
    if case.args.get("separately"):  # one freshly built model (same weights) per input
        outputs = [np.asarray(backend.forward(_build(backend, case, slot=n), x))
                   for n, x in enumerate(case.args["inputs"])]
    else:
        built = _build(backend, case)
        predict = case.args.get("predict")  # the framework's batch path (Keras model.predict)
        outputs = [np.asarray(backend.predict(built, x) if predict else backend.forward(built, x))
                   for x in case.args["inputs"]]
    obs = {"outputs": outputs, "dtypes": [str(o.dtype) for o in outputs],
           "shapes": [list(o.shape) for o in outputs]}
    if case.args.get("sequences"):
        # the same stack and weights, with the last recurrent layer returning every step
        last = case.model.layers[-1]
        layers = case.model.layers[:-1] + (Layer(last.kind, {**last.args, "return_sequences": True}),)
        seq_case = Case(case.clause, case.action, replace(case.model, layers=layers), case.args,
                        case.weights, case.pretrained, case.example)
        seq_built = _build(backend, seq_case, slot=None)
        obs["sequences"] = [np.asarray(backend.forward(seq_built, x)) for x in case.args["inputs"]]
    return obs


class WrongKind(AdapterError):
    """The adapter answered a field with a value of the wrong kind (a count that is not an integer,
    a loss that is not a real number): the cell is an error naming the field and the value, never
    a value converted until it matches."""


def _shown(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


def count(value, what: str) -> int:
    """``value`` as an int if it is an integer (a Python or NumPy integer, or an integral float such
    as 10.0); a bool, 10.9, NaN, a string or anything else raises :class:`WrongKind`."""
    if isinstance(value, (bool, np.bool_)):
        raise WrongKind(f"{what} must be an integer count, got {_shown(value)}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    raise WrongKind(f"{what} must be an integer count, got {_shown(value)}")


def real(value, what: str) -> float:
    """``value`` as a float if it is a real number (a Python or NumPy integer or float, or a
    0-d/one-element array of one); a bool, a complex number, a string or anything else raises
    :class:`WrongKind`. NaN and infinities are real numbers here: the checks judge them."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise WrongKind(f"{what} must be a real number, got {_shown(value)}")
    return float(value)


def summary(backend, case):
    rows = backend.summary(_build(backend, case))
    trainable = [count(r.trainable, f"layer {n}'s trainable") for n, r in enumerate(rows)]
    non_trainable = [count(r.non_trainable, f"layer {n}'s non_trainable") for n, r in enumerate(rows)]
    return {
        "output_shapes": [[None if d is None else count(d, f"layer {n}'s output_shape") for d in r.output_shape]
                          for n, r in enumerate(rows)],
        # the framework's own count where the adapter reads one (LayerSummary.params)
        "params": [t + f if r.params is None else count(r.params, f"layer {n}'s params")
                   for n, (r, t, f) in enumerate(zip(rows, trainable, non_trainable))],
        "trainable": trainable,
        "non_trainable": non_trainable,
    }


def weights(backend, case):
    """The weights read back after setting them; with ``x``, also the output for ``x`` (a
    forward call first, for weights a framework creates lazily)."""
    built = _build(backend, case)
    output = np.asarray(backend.forward(built, case.args["x"])) if "x" in case.args else None
    ws = backend.get_weights(built)
    obs = {"weights": ws, "counts": [len(w) for w in ws],
           "shapes": [[list(a.shape) for a in w] for w in ws]}
    if output is not None:
        obs["output"] = output
    return obs


def fresh_weights(backend, case):
    count = case.args.get("count", 2)
    backend.seed(case.args.get("seed", 0))
    matrices = [backend.get_weights(backend.build(case.model))[0][0] for _ in range(count)]
    return {"matrices": matrices}


def train_step(backend, case):
    """One step; with ``freeze_between_steps``, a first step (which compiles), then the embedding
    set to trainable=False on the built model, then the step observed."""
    built = _build(backend, case)
    x, y, lr = case.args["x"], case.args["y"], case.args["lr"]
    if case.args.get("freeze_between_steps"):
        _, built = _step(backend, built, x, y, lr)
        built = backend.freeze(built, 0) or built
    before = backend.get_weights(built)
    loss, built = _step(backend, built, x, y, lr)
    obs = {"loss": real(loss, "train_step's loss"), "before": before, "after": backend.get_weights(built)}
    unconstrained = getattr(built, "unconstrained", None)
    if unconstrained is not None:  # the reference's embedding matrix before its constraint, in float64
        obs["unconstrained"] = np.asarray(unconstrained)
    return obs


def _step(backend, built, x, y, lr):
    """(loss, the model after the step): the loss when the adapter updates the model in place, or
    (loss, the new state) from a functional framework."""
    result = backend.train_step(built, x, y, lr)
    return result if isinstance(result, tuple) else (result, built)


def loss(backend, case):
    built = _build(backend, case)
    results = [backend.loss(built, case.args["x"], y) for y in case.args["targets"]]
    return {"losses": [real(total, f"loss {n}") for n, (total, _) in enumerate(results)],
            "regularization": real(results[0][1], "the regularization term")}


def mask(backend, case):
    return {"mask": np.asarray(backend.mask(_build(backend, case), case.args["x"]))}


def construct(backend, case):
    layer = backend.construct(dict(case.args["kwargs"]))
    obs = {"accepted": True}
    if case.args.get("config"):
        obs["config"] = backend.layer_config(layer)
    return obs


def pretrained(backend, case):
    """Build from a pre-trained matrix, then modify the caller's matrix in place: a layer that
    aliases it sees the change.

    Done twice, from a matrix whose buffer starts on a 64-byte boundary and from one that starts
    4 bytes past it: Keras on JAX hands an aligned NumPy buffer to the device without a copy
    (zero-copy ``device_put`` on the CPU) and copies an unaligned one, so whether the layer
    shares the caller's memory depends on where NumPy happened to allocate it. The weights,
    summary and output come from the aligned build. ``matrix_dtype`` and ``matrix_shape`` give the
    caller's matrix another dtype or shape than the layer's (characterization)."""
    obs = {"aliased": {}}
    for placement, offset in (("aligned", 0), ("unaligned", 4)):
        given = np.asarray(case.pretrained, dtype=case.args.get("matrix_dtype", "float32"))
        if "matrix_shape" in case.args:  # the seeded values, repeated or cut to that shape
            given = np.resize(given, tuple(case.args["matrix_shape"]))
        source = placed(given, offset)
        original = source.copy()
        built = _build(backend, case, pretrained=source)
        first = backend.get_weights(built)[0][0]
        source += 1.0
        obs["aliased"][placement] = bool(not np.array_equal(backend.get_weights(built)[0][0], first))
        if placement == "aligned":
            obs.update(weights=first, source=original, summary=None)
            if "x" in case.args:
                obs["output"] = np.asarray(backend.forward(built, case.args["x"]))
    return obs


def placed(matrix: np.ndarray, offset: int) -> np.ndarray:
    """A copy of ``matrix`` whose buffer starts ``offset`` bytes past a 64-byte boundary."""
    raw = np.zeros(matrix.nbytes + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    out = raw[start:start + matrix.nbytes].view(matrix.dtype).reshape(matrix.shape)
    out[...] = matrix
    return out


def document(backend, case):
    return backend.document_call(case.args["name"], **{k: v for k, v in case.args.items() if k != "name"})


def export_defaults(backend, case):
    """What each of the exporter's default calls makes of the model (``Backend.export_defaults``),
    checked to be plain values of the documented shape, so a describer reads nothing else."""
    built = _build(backend, case)
    inputs = case.args["inputs"]
    answer = backend.export_defaults(built, case.args["x"], inputs)
    return {"exports": exports_answer(answer, len(inputs))}


def exports_answer(answer, runs: int) -> dict:
    """``answer`` if it is what :meth:`backends.base.Backend.export_defaults` documents, else
    :class:`WrongKind` naming the export and the field: {name: {"call": str, and either "raised"
    and "message" (the export itself failed) or "input_dtype": str, "input_shape": [int or None],
    "outputs": one per input, a nested list of numbers or {"raised": str, "message": str}}}."""
    if not isinstance(answer, dict) or not answer:
        raise WrongKind(f"export_defaults must answer a non-empty dict of exports, got {_shown(answer)}")
    for name, export in answer.items():
        where = f"export_defaults' export {name!r}"
        if not isinstance(name, str) or not isinstance(export, dict) or not isinstance(export.get("call"), str):
            raise WrongKind(f"{where} must be a dict with a 'call' (str), got {_shown(export)}")
        if "raised" in export:
            _raised_entry(export, where)
            continue
        if not isinstance(export.get("input_dtype"), str):
            raise WrongKind(f"{where}: 'input_dtype' must be a str, got {_shown(export.get('input_dtype'))}")
        shape = export.get("input_shape")
        if not isinstance(shape, list) or not all(d is None or (isinstance(d, int) and not isinstance(d, bool))
                                                  for d in shape):
            raise WrongKind(f"{where}: 'input_shape' must be a list of ints and None, got {_shown(shape)}")
        outputs = export.get("outputs")
        if not isinstance(outputs, list) or len(outputs) != runs:
            raise WrongKind(f"{where}: 'outputs' must be a list of {runs} results, one per input, "
                            f"got {_shown(outputs)}")
        for n, out in enumerate(outputs):
            if isinstance(out, dict):
                _raised_entry(out, f"{where}, output {n}")
            elif not isinstance(out, list):
                raise WrongKind(f"{where}, output {n} must be a nested list of numbers or a dict "
                                f"{{'raised', 'message'}}, got {_shown(out)}")
    return answer


def _raised_entry(entry: dict, where: str) -> None:
    if not isinstance(entry.get("raised"), str) or not isinstance(entry.get("message"), str):
        raise WrongKind(f"{where} must name what was raised: {{'raised': str, 'message': str}}, got {_shown(entry)}")


ACTIONS = {f.__name__: f for f in (forward, summary, weights, fresh_weights, train_step, loss, mask,
                                    construct, pretrained, document, export_defaults)}
