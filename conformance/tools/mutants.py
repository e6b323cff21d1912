"""Deliberately broken frameworks: the mutation self-test (``python -m conformance selftest``).

Each mutant is one plausible framework bug, run through the public third-party path
(``python -m conformance run --backend conformance.tools.mutants:Name``) in a worker process of its
own, like any framework. Most are the NumPy reference with one bug, either as an override of an adapter method
or as a *framework-level patch*: ``patches`` replaces a function of backends/reference.py (the
"framework" of these adapters) when the mutant is created, which happens only inside its worker,
so the reference that judges every run is never touched. The ``Torch*`` mutants patch one PyTorch
function the same way and keep PyTorch's registered divergences (the self-test registers them for
the mutant's name too, so a patch that changes one shows as "known divergence changed").

``kills`` names the clauses that must catch the mutant; the self-test fails if none of them does,
and if a normative clause catches no mutant at all (unless weak_clauses.yaml, next to this module,
lists it with a reason). A clause of the characterization level catches a mutant by recording a behaviour that
differs from the reference (the document is silent there, so it never fails a run).

Part of the installed package, so that ``python -m conformance selftest`` runs wherever the suite
is installed (the self-test's default ``--module``); it needs the reference adapter, and PyTorch only
for the ``Torch*`` mutants.
"""
import sys
from dataclasses import replace

import numpy as np

from backends import _exported, reference
from backends.base import FrameworkRaised, Layer, Model
from backends.keras_litert import KerasTensorflowLitert
from backends.pytorch import Torch
from backends.reference import Reference
from backends.torch_onnx import TorchOnnx

# the reference's functions as shipped, for the patches that wrap them
_LOOKUP, _FLATTEN, _DENSE, _RNN = reference.lookup, reference.flatten, reference.dense, reference.rnn_forward
_OUTPUT_SHAPE, _PARAM_COUNT, _MSE = reference._output_shape, reference.param_count, reference.mse


def in_worker() -> bool:
    """Whether this process is a backend's worker (python -m conformance.running.worker)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == "conformance.running.worker"


def _patch(owner, patches: dict, who: str) -> None:
    if not in_worker():
        raise RuntimeError(f"{who} patches {getattr(owner, '__name__', owner)} and runs only in a worker "
                           "process (--backend conformance.tools.mutants:...), never in the test process")
    for name, replacement in patches.items():
        setattr(owner, name, replacement)


def _embedding_args(model: Model, change) -> Model:
    """``model`` with ``change(args)`` applied to a copy of every embedding's arguments."""
    layers = tuple(Layer(layer.kind, change(dict(layer.args))) if layer.kind == "embedding" else layer
                   for layer in model.layers)
    return replace(model, layers=layers)


def _without(*keys):
    return lambda args: {k: v for k, v in args.items() if k not in keys}


class _Mutant(Reference):
    framework = "mutant"
    requires = ("numpy",)
    kills: tuple = ()       # the clauses that must catch this bug
    patches: dict = {}      # backends.reference function name -> replacement (worker only)

    def __init__(self, seed=None):
        super().__init__(seed)
        if self.patches:
            _patch(reference, self.patches, type(self).__name__)


# -- lookup -------------------------------------------------------------------------------------
class OffByOneLookup(_Mutant):
    """Looks up row i+1 (wrapping), the classic 1-based vocabulary mistake."""

    kills = ("lookup.rows-are-matrix-rows",)

    def forward(self, built, x):
        return super().forward(built, (np.asarray(x) + 1) % built.spec.layers[0].args["input_dim"])


class LastIndexOffByOne(_Mutant):
    """Never reads the last row: index VOC_SIZE-1 returns row VOC_SIZE-2 (an off-by-one bound)."""

    kills = ("lookup.every-index-in-contract",)
    patches = {"lookup": lambda matrix, idx: _LOOKUP(matrix, np.where(idx == len(matrix) - 1, idx - 1, idx))}


class SqueezesBatchOfOne(_Mutant):
    """Drops the batch axis of a batch of one sample: (1, inputs) gives (inputs, VEC_DIM)."""

    kills = ("lookup.shape-inferred-from-input",)

    def forward(self, built, x):
        out = super().forward(built, x)
        return out[0] if out.ndim > 1 and out.shape[0] == 1 else out


class Float64Output(_Mutant):
    """Returns the vectors in float64, not float32."""

    kills = ("lookup.output-is-float32",)

    def forward(self, built, x):
        return super().forward(built, x).astype(np.float64)


# -- construction -------------------------------------------------------------------------------
class SizesHaveDefaults(_Mutant):
    """Accepts an Embedding without VOC_SIZE or VEC_DIM, defaulting them to 1000 and 32."""

    kills = ("ctor.requires-vocabulary-size", "ctor.requires-vector-dimension")

    def construct(self, kwargs):
        return super().construct({"input_dim": 1000, "output_dim": 32, **kwargs})


class RejectsInputLength(_Mutant):
    """Has dropped the input_length argument: passing it is a TypeError."""

    kills = ("ctor.input-length-accepted",)

    def construct(self, kwargs):
        if "input_length" in kwargs:
            exc = TypeError("Embedding.__init__() got an unexpected keyword argument 'input_length'")
            raise FrameworkRaised(exc) from exc
        return super().construct(kwargs)


class InputLengthIgnored(_Mutant):
    """Accepts input_length but ignores it (as Keras 3 does): no shapes or counts before data."""

    kills = ("ctor.input-length-honoured", "doc.input-length-flatten-dense",
             "doc.input-length-dense-without-flatten", "doc.input-length-lstm")

    def build(self, model, pretrained=None):
        return super().build(_embedding_args(model, _without("input_length")), pretrained)


# -- the document's own calls -------------------------------------------------------------------
class PredictRejectsLists(_Mutant):
    """predict() refuses a plain nested Python list (as Keras 3 does): ValueError."""

    kills = ("doc.predict-nested-list-one-input", "doc.predict-nested-list-two-inputs")

    def document_call(self, name, **args):
        if name == "predict_list":
            exc = ValueError(f"Unrecognized data type: x={args['data']!r} (of type <class 'list'>)")
            raise FrameworkRaised(exc) from exc
        return super().document_call(name, **args)


class PredictReversesBatch(_Mutant):
    """predict() reassembles the batch last sample first."""

    kills = ("doc.predict-numpy-batch-of-two",)

    def document_call(self, name, **args):
        obs = super().document_call(name, **args)
        if name == "predict_array":
            obs["output"] = obs["output"][::-1].copy()
        return obs


# -- the matrix ---------------------------------------------------------------------------------
class StaleGetWeights(_Mutant):
    """get_weights() returns the matrix drawn when the layer was built, not the one it holds."""

    kills = ("weights.one-matrix-no-bias", "doc.get-weights-one-matrix")

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        built.stale = [[w.copy() for w in ws] for ws in built.weights]
        return built

    def get_weights(self, built):
        return [[w.copy() for w in ws] for ws in built.stale]

    def document_call(self, name, **args):
        if name != "get_weights":
            return super().document_call(name, **args)
        built = self.build(Model((Layer("embedding", {"input_dim": args["voc_size"],
                                                      "output_dim": args["vec_dim"]}),)))
        built.weights = [[np.array(args["matrix"], np.float32)]]  # the matrix the document set
        return {"weights": self.get_weights(built)[0]}


class WideInitializer(_Mutant):
    """Initialises from [-0.1, 0.1] instead of [-0.05, 0.05]."""

    kills = ("init.default-uniform-range",)

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        if pretrained is None:
            built.weights[0][0] = built.weights[0][0] * 2
        return built


class NarrowInitializer(_Mutant):
    """Initialises from [-0.0495, 0.0495], 1% narrower than [-0.05, 0.05]."""

    kills = ("init.default-uniform-range",)

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        if pretrained is None:
            built.weights[0][0] = built.weights[0][0] * np.float32(0.99)
        return built


class RowConstantInitializer(_Mutant):
    """Draws one value per row and repeats it across the row's components."""

    kills = ("init.default-uniform-distribution",)

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        if pretrained is None:
            matrix = built.weights[0][0]
            built.weights[0][0] = np.repeat(matrix[:, :1], matrix.shape[1], axis=1)
        return built


class InitializerArgumentIgnored(_Mutant):
    """Ignores embeddings_initializer: always the default uniform draw."""

    kills = ("init.initializer-argument-honoured",)

    def build(self, model, pretrained=None):
        return super().build(_embedding_args(model, _without("embeddings_initializer")), pretrained)


class ConfigSaysGlorot(_Mutant):
    """The layer's config names Dense's default initializer, GlorotUniform, not 'uniform'."""

    kills = ("init.default-initializer-in-config",)

    def layer_config(self, layer):
        return {"embeddings_initializer": {"class_name": "GlorotUniform", "seed": None}}


class SameDrawEveryLayer(_Mutant):
    """Reseeds its generator for every new layer, so all fresh layers hold the same matrix."""

    kills = ("init.fresh-layers-differ",)

    def seed(self, seed):
        self.fixed_seed = seed
        super().seed(seed)

    def build(self, model, pretrained=None):
        self.rng = np.random.default_rng(getattr(self, "fixed_seed", 0))
        return super().build(model, pretrained)


# -- a pre-trained matrix, trainable=False ------------------------------------------------------
class PretrainedRoundedToFloat16(_Mutant):
    """Stores a pre-trained matrix through float16, so it comes back rounded."""

    kills = ("pretrained.returned-exactly", "doc.weights-argument-frozen")

    def build(self, model, pretrained=None):
        if pretrained is not None:
            pretrained = np.asarray(pretrained).astype(np.float16).astype(np.float32)
        return super().build(model, pretrained)


class PretrainedAliased(_Mutant):
    """Keeps the caller's pre-trained array itself as its weights (shared memory, no copy)."""

    kills = ("char.pretrained-copy-or-alias",)

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        if pretrained is not None and np.asarray(pretrained).dtype == np.float32:
            built.weights[0] = [pretrained]
        return built


class TrainableIgnored(_Mutant):
    """Ignores trainable=False: the layer counts as trainable and trains."""

    kills = ("pretrained.frozen-counts-non-trainable", "pretrained.frozen-unchanged-by-training",
             "doc.weights-argument-frozen")

    def build(self, model, pretrained=None):
        return super().build(_embedding_args(model, _without("trainable")), pretrained)


class FrozenStillUpdated(_Mutant):
    """Counts a frozen layer as non-trainable, but its optimizer still updates it."""

    kills = ("pretrained.frozen-unchanged-by-training",)

    def train_step(self, built, x, y, lr):
        emb = built.spec.layers[0].args
        frozen = emb.pop("trainable", None)
        try:
            return super().train_step(built, x, y, lr)
        finally:
            if frozen is not None:
                emb["trainable"] = frozen


class FreezeStopsDownstream(_Mutant):
    """A frozen embedding stops the gradient for the whole model: the Dense after it never trains."""

    kills = ("pretrained.frozen-downstream-still-trains",)

    def train_step(self, built, x, y, lr):
        if built.spec.layers[0].get("trainable", True):
            return super().train_step(built, x, y, lr)
        last = built.spec.layers[-1].args
        was = last.get("trainable", True)
        last["trainable"] = False
        try:
            return super().train_step(built, x, y, lr)
        finally:
            last["trainable"] = was


# -- counting parameters ------------------------------------------------------------------------
class BiasInEmbedding(_Mutant):
    """Reports one more parameter per embedding, as if it had a bias."""

    kills = ("model.flatten-dense-parameters",)

    def summary(self, built):
        rows = super().summary(built)
        for layer, row in zip(built.spec.layers, rows):
            if layer.kind == "embedding":
                row.trainable += 1
        return rows


class EmbeddingCountedNonTrainable(_Mutant):
    """Counts a trainable embedding's matrix as non-trainable (the total stays right)."""

    kills = ("model.flatten-dense-parameters",)

    def summary(self, built):
        rows = super().summary(built)
        for layer, row in zip(built.spec.layers, rows):
            if layer.kind == "embedding":
                row.trainable, row.non_trainable = 0, row.trainable + row.non_trainable
        return rows


class LstmSecondBias(_Mutant):
    """Gives LSTM a second bias vector (4*units more parameters, as PyTorch does)."""

    kills = ("rnn.lstm-takes-embedding-directly", "doc.input-length-lstm")
    patches = {"param_count": lambda layer, weights: _PARAM_COUNT(layer, weights)
               + (int(weights[2].size) if layer.kind == "lstm" else 0)}


# -- training -----------------------------------------------------------------------------------
class SgdDropsRepeatedIndices(_Mutant):
    """Scatters the embedding's gradient with dE[idx] += rows: an index looked up twice gets one
    gradient, not the sum of both."""

    kills = ("train.sgd-updates-looked-up-rows-only",)

    @staticmethod
    def _scatter(target, idx, rows):
        target[idx] += rows
        return target

    patches = {"scatter_add": _scatter}


class ConstraintOnlyOnLookedUpRows(_Mutant):
    """Applies the unit-norm constraint to the rows looked up in the step only."""

    kills = ("constraint.unit-norm-after-step",)

    def train_step(self, built, x, y, lr):
        emb = built.spec.layers[0].args
        constraint = emb.pop("embeddings_constraint", None)
        try:
            loss = super().train_step(built, x, y, lr)
        finally:
            if constraint is not None:
                emb["embeddings_constraint"] = constraint
        if constraint is not None:
            E = built.weights[0][0]
            rows = np.unique(np.asarray(x))
            E[rows] /= np.linalg.norm(E[rows], axis=1, keepdims=True)
        return loss


class ConstraintBeforeUpdate(_Mutant):
    """Applies the unit-norm constraint before the update instead of after it."""

    kills = ("constraint.unit-norm-after-step",)

    def train_step(self, built, x, y, lr):
        emb = built.spec.layers[0].args
        constraint = emb.pop("embeddings_constraint", None)
        if constraint is not None:
            built.weights[0] = [reference.unit_norm(built.weights[0][0], constraint["unit_norm"].get("axis", 1))]
        try:
            return super().train_step(built, x, y, lr)
        finally:
            if constraint is not None:
                emb["embeddings_constraint"] = constraint


class L2Halved(_Mutant):
    """Uses l2(f) as f/2 * sum(w**2) (the 1/2 of some textbooks), in the loss and the update."""

    kills = ("reg.l2-adds-loss-term", "reg.l2-sgd-shrinks-matrix")

    def build(self, model, pretrained=None):
        def halve(args):
            if args.get("embeddings_regularizer"):
                args["embeddings_regularizer"] = {"l2": args["embeddings_regularizer"]["l2"] / 2}
            return args
        return super().build(_embedding_args(model, halve), pretrained)


class L2OnlyOnLookedUpRows(_Mutant):
    """Regularizes only the rows looked up in the batch (a sparse-gradient shortcut), in the
    loss and the update."""

    kills = ("reg.l2-adds-loss-term", "reg.l2-sgd-shrinks-matrix")

    @staticmethod
    def _take(built):
        emb = built.spec.layers[0].args
        return emb, emb.pop("embeddings_regularizer", None)

    def loss(self, built, x, y):
        emb, reg = self._take(built)
        try:
            total, _ = super().loss(built, x, y)
        finally:
            if reg is not None:
                emb["embeddings_regularizer"] = reg
        if reg is None:
            return total, 0.0
        rows = np.unique(np.asarray(x))
        term = reg["l2"] * float(np.sum(np.asarray(built.weights[0][0], np.float64)[rows] ** 2))
        return total + term, term

    def train_step(self, built, x, y, lr):
        emb, reg = self._take(built)
        before = np.asarray(built.weights[0][0], np.float64).copy()
        try:
            loss = super().train_step(built, x, y, lr)
        finally:
            if reg is not None:
                emb["embeddings_regularizer"] = reg
        if reg is not None:
            rows = np.unique(np.asarray(x))
            after = np.asarray(built.weights[0][0], np.float64)
            after[rows] -= lr * 2.0 * reg["l2"] * before[rows]
            built.weights[0] = [after.astype(np.float32)]
            loss += reg["l2"] * float(np.sum(before[rows] ** 2))
        return loss


# -- Flatten and Dense --------------------------------------------------------------------------
class FlattenColumnMajor(_Mutant):
    """Flattens in column-major order: the vectors' first components come first, not vector by vector."""

    kills = ("flatten.concatenates-in-input-order",)
    patches = {"flatten": lambda x: x.reshape(x.shape[0], -1, order="F")}


class FlattenOneLevel(_Mutant):
    """Flattens only the first two axes after the batch: (10, 2, 3, 4, 5) gives (10, 6, 4, 5)."""

    kills = ("flatten.keeps-batch-multiplies-the-rest", "doc.flatten-of-ones")
    patches = {"flatten": lambda x: x.reshape(x.shape[0], x.shape[1] * x.shape[2], *x.shape[3:])
               if x.ndim > 3 else _FLATTEN(x)}


class FlattenShapeFromLastAxis(_Mutant):
    """Reports Flatten's output shape from the last axis only: (None, 3, 2) gives (None, 2)."""

    kills = ("model.flatten-dense-shapes", "doc.input-length-flatten-dense")
    patches = {"_output_shape": lambda layer, shape: (shape[0], shape[-1]) if layer.kind == "flatten"
               else _OUTPUT_SHAPE(layer, shape)}


def _dense_on_first_axis(x, kernel, bias):
    if x.ndim < 3:
        return _DENSE(x, kernel, bias)
    if x.shape[1] != np.shape(kernel)[0]:
        exc = ValueError(f"Dense: input axis 1 has size {x.shape[1]}, the kernel expects {np.shape(kernel)[0]}")
        raise FrameworkRaised(exc) from exc
    return np.tensordot(x, np.asarray(kernel, np.float64), axes=[[1], [0]]) + bias


class DenseOnFirstAxis(_Mutant):
    """Dense contracts the first axis after the batch (the inputs), not the last (VEC_DIM)."""

    kills = ("dense.contracts-last-axis", "dense.same-weights-for-every-vector", "model.dense-without-flatten")
    patches = {"dense": _dense_on_first_axis,
               "_output_shape": lambda layer, shape: (shape[0], *shape[2:], layer.args["units"])
               if layer.kind == "dense" and len(shape) > 2 else _OUTPUT_SHAPE(layer, shape)}


class DenseKernelTransposed(_Mutant):
    """get_weights() gives Dense's kernel as (units, in), PyTorch's layout, not (in, units)."""

    kills = ("dense.weight-shapes-after-flatten",)

    def get_weights(self, built):
        weights = super().get_weights(built)
        for layer, ws in zip(built.spec.layers, weights):
            if layer.kind == "dense":
                ws[0] = ws[0].T.copy()
        return weights


# -- recurrent layers and masking ---------------------------------------------------------------
class ReturnSequencesIgnored(_Mutant):
    """Returns every step even with return_sequences=False."""

    kills = ("rnn.last-step-without-return-sequences",)
    patches = {"rnn_forward": lambda kind, weights, x, mask=None, return_sequences=False:
               _RNN(kind, weights, x, mask, True)}


class MaskedVectorsZeroed(_Mutant):
    """With mask_zero=True the layer outputs zero vectors at index 0 (padding_idx semantics)
    instead of row 0."""

    kills = ("mask.still-outputs-every-vector",)

    def forward(self, built, x):
        out = super().forward(built, x)
        if len(built.spec.layers) == 1 and built.spec.layers[0].get("mask_zero"):
            out = np.where((np.asarray(x) != 0)[..., None], out, 0).astype(np.float32)
        return out


class MaskInverted(_Mutant):
    """Marks the padding as True, the inputs as False (the attention-mask convention)."""

    kills = ("mask.marks-nonzero-indices",)

    def mask(self, built, x):
        return ~super().mask(built, x)


class ZeroAtMaskedSteps(_Mutant):
    """Outputs zeros at masked steps instead of repeating the previous state."""

    kills = ("mask.rnn-repeats-hidden-state", "mask.batch-repeats-hidden-state")

    def forward(self, built, x):
        out = super().forward(built, x)
        if built.spec.layers[0].args.get("mask_zero") and out.ndim == 3 and len(built.spec.layers) > 1:
            out = np.where((np.asarray(x) != 0)[..., None], out, 0.0).astype(np.float32)
        return out


class BatchSharedMask(_Mutant):
    """Applies the first sample's mask to every sample of the batch."""

    kills = ("mask.batch-repeats-hidden-state", "mask.final-state-ignores-masked-steps")
    patches = {"rnn_forward": lambda kind, weights, x, mask=None, return_sequences=False:
               _RNN(kind, weights, x, None if mask is None else np.broadcast_to(mask[:1], mask.shape),
                    return_sequences)}


class LeadingMaskedStepsRun(_Mutant):
    """Skips masked steps only after a sample's first input: leading zeros run as inputs."""

    kills = ("mask.batch-repeats-hidden-state", "mask.final-state-ignores-masked-steps",
             "char.masked-leading-steps")
    patches = {"rnn_forward": lambda kind, weights, x, mask=None, return_sequences=False:
               _RNN(kind, weights, x, None if mask is None else mask | (np.cumsum(mask, axis=1) == 0),
                    return_sequences)}


class MaskIgnoredForFinalState(_Mutant):
    """Uses the mask only for per-step outputs: return_sequences=False runs every step."""

    kills = ("mask.trailing-padding-final-state", "mask.final-state-ignores-masked-steps",
             "mask.final-state-ignores-masked-steps-lstm")
    patches = {"rnn_forward": lambda kind, weights, x, mask=None, return_sequences=False:
               _RNN(kind, weights, x, mask if return_sequences else None, return_sequences)}


def _lstm_mask_on_h_only(kind, weights, x, mask=None, return_sequences=False):
    """reference.rnn_forward, except that a masked LSTM step holds h but updates c."""
    if kind != "lstm" or mask is None:
        return _RNN(kind, weights, x, mask, return_sequences)
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in weights)
    batch, steps, _ = x.shape
    units = recurrent.shape[0]
    h, c, out = np.zeros((batch, units)), np.zeros((batch, units)), np.zeros((batch, units))
    outputs = []
    for t in range(steps):
        i, f, cc, o = np.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=-1)
        c = reference._sigmoid(f) * c + reference._sigmoid(i) * np.tanh(cc)   # never held
        h_new = reference._sigmoid(o) * np.tanh(c)
        m = mask[:, t][:, None]
        h, out = np.where(m, h_new, h), np.where(m, h_new, out)
        outputs.append(out)
    return np.stack(outputs, axis=1) if return_sequences else h


class LstmMaskOnHiddenOnly(_Mutant):
    """At a masked step the LSTM holds its hidden state h but still updates its cell state c."""

    kills = ("mask.final-state-ignores-masked-steps-lstm",)
    patches = {"rnn_forward": _lstm_mask_on_h_only}


class LossOverAllSteps(_Mutant):
    """Ignores the mask in the loss: masked steps' errors count."""

    kills = ("mask.loss-ignores-masked-targets",)
    patches = {"mse": lambda pred, y, mask=None: _MSE(pred, y)}


def _per_sample_mean(pred, y, mask=None):
    if mask is None:
        return _MSE(pred, y)
    per_position = np.mean((pred - np.asarray(y, np.float64)) ** 2, axis=-1)
    m = np.broadcast_to(mask, per_position.shape)
    counts = m.sum(axis=1)
    means = (per_position * m).sum(axis=1)[counts > 0] / counts[counts > 0]
    return float(means.mean()) if means.size else float("nan")


class PerSampleMaskedMean(_Mutant):
    """The masked loss as the mean of per-sample means, not the mean over all unmasked steps."""

    kills = ("mask.loss-is-mean-over-unmasked-steps",)
    patches = {"mse": _per_sample_mean}


# -- framework-level patches of PyTorch ---------------------------------------------------------
class _TorchMutant(Torch):
    """PyTorch with one of its functions replaced, in the mutant's worker only."""

    framework = "mutant of torch"
    base = "torch"    # the self-test registers PyTorch's known divergences for this mutant too
    kills: tuple = ()

    def __init__(self):
        super().__init__()
        self.patch()

    def patch(self):
        raise NotImplementedError


class TorchDenseBiasTwice(_TorchMutant):
    """nn.Linear adds its bias twice (x @ W.T + b + b): invisible at a zero bias, not in training."""

    kills = ("train.sgd-updates-looked-up-rows-only",)

    def patch(self):
        from torch import nn

        linear = nn.Linear.forward
        _patch(nn.Linear, {"forward": lambda module, x: linear(module, x) + module.bias}, type(self).__name__)


class TorchFlattenWrongOrder(_TorchMutant):
    """nn.Flatten flattens the last two axes in the wrong order (components before positions)."""

    kills = ("flatten.concatenates-in-input-order",)

    def patch(self):
        from torch import nn

        flatten = nn.Flatten.forward
        _patch(nn.Flatten, {"forward": lambda module, x: flatten(module, x.transpose(1, 2) if x.dim() == 3 else x)},
               type(self).__name__)


# -- bugs hidden behind a known divergence (keeps: another backend's registered divergences, reproduced) --
def _keras_unit_norm(matrix, axis=1):
    """Keras' UnitNorm: w / (epsilon + ||w||), epsilon 1e-7 (a registered divergence of every Keras)."""
    return matrix / (1e-7 + np.sqrt(np.sum(matrix ** 2, axis=axis, keepdims=True)))


SPARSE_ABOVE = 1000  # rows from which the mutant below takes its "sparse update" path


class UnitNormSkippedOnSparseUpdates(_Mutant):
    """Keras' UnitNorm (its epsilon, registered for Keras, reproduced), but in a vocabulary above 1000
    rows the sparse-update path normalizes only the rows the step looked up: every other row keeps its norm."""

    kills = ("constraint.unit-norm-after-step",)
    keeps = {"keras-tensorflow": ("constraint.unit-norm-after-step", "constraint.unit-norm-short-rows")}
    patches = {"unit_norm": _keras_unit_norm}

    def train_step(self, built, x, y, lr):
        before = np.array(built.weights[0][0])
        loss = super().train_step(built, x, y, lr)
        voc = built.spec.layers[0].args["input_dim"]
        if voc > SPARSE_ABOVE and built.spec.layers[0].args.get("embeddings_constraint"):
            untouched = np.setdiff1d(np.arange(voc), np.asarray(x).ravel())
            matrix = np.array(built.weights[0][0])
            matrix[untouched] = before[untouched]  # their gradient is zero: the sparse path skips them
            built.weights[0] = [matrix]
        return loss


def _dense_wrong_feature(x, kernel, bias):
    """Beyond 8 features, the last one is read from feature 0's place."""
    x = np.asarray(x)
    if x.shape[-1] > 8:
        x = x.copy()
        x[..., -1] = x[..., 0]
    return _DENSE(x, kernel, bias)


class DenseWrongFeatureBehindSqueeze(_Mutant):
    """tf-keras' Sequential squeeze of a trailing index axis of 1 before Embedding + Dense (registered for
    tf-keras, reproduced), and a Dense that, beyond 8 features, reads feature 0 in place of the last."""

    kills = ("dense.contracts-last-axis",)
    keeps = {"tf-keras": ("dense.contracts-last-axis",)}
    patches = {"dense": _dense_wrong_feature}

    def forward(self, built, x):
        x = np.asarray(x)
        kinds = [layer.kind for layer in built.spec.layers]
        if kinds == ["embedding", "dense"] and x.ndim == 3 and x.shape[-1] == 1:
            x = x[..., 0]
        return super().forward(built, x)


class PredictConvertsListOfLists(_Mutant):
    """predict() converts a list of lists itself (as tf-keras does), where the document says the
    conversion to a NumPy array is the caller's."""

    kills = ("doc.predict-list-of-lists-batch-of-two",)

    def document_call(self, name, **args):
        if name == "predict_list":
            return super().document_call("predict_array", **args)
        return super().document_call(name, **args)


# -- issue 16: defaults, L2 with data, the framework's counts, initializer arguments, predict ------
class DefaultTinyL2(_Mutant):
    """Regularizes every embedding by default with l2(1e-9): a term that vanishes in the float32
    rounding of the loss and of every update (the document: embeddings_regularizer default None)."""

    kills = ("reg.default-none-adds-no-loss-term", "constraint.default-none-leaves-long-rows")

    def build(self, model, pretrained=None):
        return super().build(_embedding_args(model, lambda args: {"embeddings_regularizer": {"l2": 1e-9},
                                                                   **args}), pretrained)


class DefaultMaxNorm(_Mutant):
    """Constrains every embedding by default with MaxNorm(1): after a step, rows longer than 1 are
    scaled back to norm 1 (the document: embeddings_constraint default None)."""

    kills = ("constraint.default-none-leaves-long-rows",)

    def train_step(self, built, x, y, lr):
        loss = super().train_step(built, x, y, lr)
        emb = built.spec.layers[0].args
        if not emb.get("embeddings_constraint") and emb.get("trainable", True):
            E = np.asarray(built.weights[0][0], np.float64)
            norms = np.linalg.norm(E, axis=1, keepdims=True)
            built.weights[0] = [np.where(norms > 1, E / np.maximum(norms, 1e-12), E).astype(np.float32)]
        return loss


class WeightDecayDropsDataGradient(_Mutant):
    """Under an L2 regularizer the matrix's update is the weight decay alone, E*(1 - 2*lr*f): the
    data gradient's update is overwritten (the Dense layer still trains)."""

    kills = ("reg.l2-sgd-with-data-gradient",)

    def train_step(self, built, x, y, lr):
        reg = built.spec.layers[0].get("embeddings_regularizer")
        before = np.asarray(built.weights[0][0], np.float64).copy()
        loss = super().train_step(built, x, y, lr)
        if reg and built.spec.layers[0].get("trainable", True):
            built.weights[0] = [(before * (1.0 - 2.0 * lr * reg["l2"])).astype(np.float32)]
        return loss


class FrozenCountedZero(_Mutant):
    """The layer's own parameter count (count_params(), summary()'s "Param #") leaves out
    non-trainable weights: a frozen embedding shows 0 parameters; the trainable/non-trainable
    split is right."""

    kills = ("pretrained.frozen-counted-in-params",)

    def summary(self, built):
        rows = super().summary(built)
        for row in rows:
            row.params = row.trainable
        return rows


class InitializerArgumentsDropped(_Mutant):
    """Keeps the initializer's class but drops its arguments: RandomUniform(-1, 1) draws from
    RandomUniform's defaults, [-0.05, 0.05]."""

    kills = ("init.initializer-arguments-honoured",)

    def build(self, model, pretrained=None):
        def drop(args):
            if isinstance(args.get("embeddings_initializer"), dict):
                args["embeddings_initializer"] = "uniform"
            return args
        return super().build(_embedding_args(model, drop), pretrained)


class PredictLosesMask(_Mutant):
    """The compiled predict path drops the embedding's mask: the RNN runs every step (the model
    call keeps it)."""

    kills = ("mask.predict-repeats-hidden-state",)

    def predict(self, built, x):
        emb = built.spec.layers[0].args
        masked = emb.pop("mask_zero", None)
        try:
            return self.forward(built, x)
        finally:
            if masked is not None:
                emb["mask_zero"] = masked


# -- terms that Keras' default initialization hides (zero biases), and sizes beyond two buckets --
def _dense_bias_dropped_when_wide(x, kernel, bias):
    return _DENSE(x, kernel, bias if np.size(bias) == 1 else np.zeros_like(bias))


class DenseBiasDroppedWhenWide(_Mutant):
    """Dense leaves out its bias for more than one unit (a batched-matmul path without the add):
    invisible under Keras' zero initial bias."""

    kills = ("dense.contracts-last-axis",)
    patches = {"dense": _dense_bias_dropped_when_wide}


def _blocks_swapped(bias, first: int, second: int, gates: int):
    """``bias`` with gate blocks ``first`` and ``second`` exchanged (along its last axis)."""
    blocks = np.split(np.array(bias, np.float64), gates, axis=-1)
    blocks[first], blocks[second] = blocks[second], blocks[first]
    return np.concatenate(blocks, axis=-1)


def _lstm_bias_on_wrong_gate(kind, weights, x, mask=None, return_sequences=False):
    if kind == "lstm":
        kernel, recurrent, bias = weights
        weights = [kernel, recurrent, _blocks_swapped(bias, 2, 3, 4)]
    return _RNN(kind, weights, x, mask, return_sequences)


class LstmBiasOnWrongGate(_Mutant):
    """LSTM adds the cell candidate's bias to the output gate and the output gate's to the cell
    candidate (gate blocks c and o exchanged in the bias only): invisible when both are zero, as
    Keras initializes them."""

    kills = ("rnn.lstm-matches-reference",)
    patches = {"rnn_forward": _lstm_bias_on_wrong_gate}


def _gru_recurrent_bias_dropped(kind, weights, x, mask=None, return_sequences=False):
    if kind == "gru":
        kernel, recurrent, bias = weights
        weights = [kernel, recurrent, np.stack([np.asarray(bias)[0], np.zeros_like(np.asarray(bias)[1])])]
    return _RNN(kind, weights, x, mask, return_sequences)


class GruRecurrentBiasDropped(_Mutant):
    """GRU (reset_after=True) ignores its recurrent bias, the second row of its bias (2, 3*units):
    invisible under Keras' zero initial bias."""

    kills = ("rnn.gru-matches-reference",)
    patches = {"rnn_forward": _gru_recurrent_bias_dropped}


def _recurrent_transposed_from_five_units(kind, weights, x, mask=None, return_sequences=False):
    kernel, recurrent, bias = weights
    units = np.shape(recurrent)[0]
    if units >= 5:
        blocks = np.split(np.asarray(recurrent), np.shape(recurrent)[1] // units, axis=1)
        recurrent = np.concatenate([block.T for block in blocks], axis=1)
    return _RNN(kind, [kernel, recurrent, bias], x, mask, return_sequences)


class RecurrentKernelTransposedFromFiveUnits(_Mutant):
    """A recurrent layer of 5 units or more multiplies the state by each gate's recurrent kernel
    transposed (a wide-layer kernel path with the wrong layout): never at the document's 1 or 3
    units, nor at the 1 and 4 units of a two-bucket ci profile."""

    kills = ("rnn.simple-rnn-matches-reference", "rnn.lstm-matches-reference", "rnn.gru-matches-reference")
    patches = {"rnn_forward": _recurrent_transposed_from_five_units}


# -- issue 16 items 8 and 9: where the document is silent (characterization notices, none catches) --
class PretrainedKeptAsGiven(_Mutant):
    """Keeps a pre-trained matrix exactly as the caller gave it: a float64 matrix stays float64 (and
    so do the outputs), a matrix with a row too many is kept with it (PyTorch's from_pretrained)."""

    kills = ("char.pretrained-float64-matrix", "char.pretrained-wrong-shape-matrix")

    def build(self, model, pretrained=None):
        built = super().build(model)
        if pretrained is not None:
            built.weights = [[np.array(pretrained)]] + [list(ws) for ws in built.weights[1:]]
        return built

    def forward(self, built, x):
        return reference.run_layers(built, x, self.semantics)[0].astype(built.weights[0][0].dtype)


class FreezeAfterCompileIgnored(_Mutant):
    """trainable=False set on a compiled model is ignored until the next compile (the stale train
    function Keras on TensorFlow keeps)."""

    kills = ("char.trainable-set-after-compile",)

    def freeze(self, built, index):
        return None


class MixedPrecisionIgnored(_Mutant):
    """The mixed_float16 policy is ignored: the embedding outputs float32 (as PyTorch's autocast
    leaves nn.Embedding)."""

    kills = ("char.mixed-precision-policy",)

    def forward(self, built, x):
        return reference.run_layers(built, x, self.semantics)[0].astype(np.float32)
# -- a planted fault in an exported artifact ----------------------------------------------------
class TorchOnnxFreezesLength(TorchOnnx):
    """torch -> ONNX Runtime whose export declares the batch dynamic but freezes the length at the
    traced example's (the exporters' default that loses the document's "number of inputs")."""

    framework = "mutant of torch -> ONNX Runtime"
    base = "torch-onnx"   # the self-test registers the exported column's known divergences for it too
    kills = ("lookup.shape-inferred-from-input",)
    only_named = True  # an exported column in full costs minutes: the self-test runs the clauses named

    def dynamic_axes(self, rank, Dim):
        return {0: Dim.AUTO} if rank else {}


class TorchOnnxClampsIndices(TorchOnnx):
    """torch -> ONNX Runtime whose runtime clamps indices instead of looking them up or raising, with
    an off-by-one bound: indices are clipped to [0, VOC_SIZE - 2] before the Gather, so the last
    row is never read (index VOC_SIZE-1 returns row VOC_SIZE-2, out-of-range ones a row)."""

    framework = "mutant of torch -> ONNX Runtime"
    base = "torch-onnx"
    kills = ("lookup.every-index-in-contract",)
    only_named = True  # an exported column in full costs minutes: the self-test runs the clauses named

    def forward(self, built, x):
        session = self._exported(built, x)
        vocabulary = int(built.spec.layers[0].args["input_dim"])
        return _exported.ort_run(session, np.clip(x, 0, max(vocabulary - 2, 0)).astype(np.asarray(x).dtype))


class LitertUninitialisedEmbedding(KerasTensorflowLitert):
    """Keras 3 -> LiteRT converted the other documented way, ``TFLiteConverter.from_concrete_functions``
    with the model as ``trackable_obj``: the embedding becomes a resource variable that nothing
    initialises, and the artifact looks up uninitialised memory (char.exporter-defaults records
    that this is what the converter really does)."""

    framework = "mutant of keras -> LiteRT"
    base = "keras-tensorflow-litert"
    kills = ("lookup.rows-are-matrix-rows",)
    only_named = True  # an exported column in full costs minutes: the self-test runs the clauses named

    def _convert(self, built, x, signature) -> bytes:
        import tensorflow as tf

        self._called(built, x)  # Keras converts a model it has called
        spec = tf.TensorSpec(list(signature), tf.as_dtype(x.dtype))
        concrete = tf.function(lambda t: built(t)).get_concrete_function(spec)
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], trackable_obj=built).convert()
