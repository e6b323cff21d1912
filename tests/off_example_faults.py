"""Planted off-example faults: adapters wrong only away from the document's sizes and values.

Each is the NumPy reference with one bug that never fires at any of the document's examples (so
every clause passes at the document's values) and only shows at other sizes or values: a larger
index, a wider vector, a bigger batch, more units, a longer sequence, another L2 factor or
learning rate, another index dtype, an empty batch. The drawn examples of the ``ci`` profile must
catch every one of them (tests/test_drawn.py runs them; docs/DRAWN-EXAMPLES.md lists them with the score):

    pytest conformance --backend tests.off_example_faults:IndexFiveAndAbove

The document's values they stay clear of: VOC_SIZE 5 (100 for the constraint, 1000 for the
initializer), indices 0-4 in every lookup, VEC_DIM 2 (5 for Flatten of a rank-4 input), at most 3
units, 4 samples and 7 steps in a recurrent or masked batch, l2(0.01), learning rates 0.1 and 0.5,
int32 indices, no empty batch.
"""
import os

import numpy as np

from backends.base import FrameworkRaised
from backends.reference import Reference, l2_term, run_layers


class _Fault(Reference):
    framework = "planted fault"
    requires = ("numpy",)
    catches = ()   # clauses whose drawn examples catch the fault (tests/test_drawn.py)

    def snippet(self, model, action, args):
        """The fault reproduced on the failing example: the adapter's own call, in Python."""
        cls = type(self).__name__
        call = {"forward": "[b.forward(built, x) for x in inputs]", "mask": "b.mask(built, x)",
                "summary": "b.summary(built)", "loss": "[b.loss(built, x, t) for t in targets]",
                "train_step": "b.train_step(built, x, y, lr), built.weights"}.get(action)
        if call is None or model is None:
            return None
        lines = ["import numpy as np", "from numpy import array, float32, int32, int64  # noqa: F401",
                 "from backends.base import Layer, Model",
                 f"from tests.off_example_faults import {cls}", "",
                 f"b = {cls}(seed=0)", f"built = b.build({model!r})"]
        lines += [f"{key} = {_literal(args[key])}" for key in ("inputs", "x", "y", "targets", "lr") if key in args]
        return "\n".join(lines + [f"print({call})"])


def _literal(value):
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype={str(value.dtype)!r})"
    return repr(value)


def _embedding_only(built) -> bool:
    return [layer.kind for layer in built.spec.layers] == ["embedding"]


class IndexFiveAndAbove(_Fault):
    """Looks up row i-1 for every index i >= 5 (the document's indices stop at 4)."""

    catches = ("lookup.rows-are-matrix-rows",)

    def forward(self, built, x):
        x = np.asarray(x)
        return super().forward(built, np.where(x >= 5, x - 1, x))


class LastIndexOffByOne(_Fault):
    """Index VOC_SIZE-1 looks up row VOC_SIZE-2 in vocabularies larger than 5."""

    catches = ("lookup.every-index-in-contract",)

    def forward(self, built, x):
        x = np.asarray(x)
        voc = built.spec.layers[0].args["input_dim"]
        return super().forward(built, np.where((x == voc - 1) & (voc > 5), x - 1, x))


class WideVectorsLoseLastComponent(_Fault):
    """An embedding alone outputs 0 as the last component of vectors wider than 2."""

    catches = ("lookup.rows-are-matrix-rows",)

    def forward(self, built, x):
        out = super().forward(built, x)
        if _embedding_only(built) and out.shape[-1] > 2:
            out = out.copy()
            out[..., -1] = 0.0
        return out


class DenseReadsTwoFeatures(_Fault):
    """Dense reads only the first 2 features of each vector (the document's VEC_DIM): the
    kernel's other rows are ignored."""

    catches = ("dense.contracts-last-axis", "dense.same-weights-for-every-vector")

    def forward(self, built, x):
        saved = list(built.weights)
        for n, layer in enumerate(built.spec.layers):
            if layer.kind == "dense" and built.weights[n][0].shape[0] > 2:
                kernel, bias = built.weights[n]
                kernel = kernel.copy()
                kernel[2:] = 0.0
                built.weights[n] = [kernel, bias]
        try:
            return super().forward(built, x)
        finally:
            built.weights = saved


class EmptyBatchRaises(_Fault):
    """Refuses a batch of zero samples (the document's batches have one or more)."""

    catches = ("lookup.shape-inferred-from-input",)

    def forward(self, built, x):
        x = np.asarray(x)
        if x.ndim > 1 and x.shape[0] == 0:  # the fake framework refusing it, not an adapter bug
            raise FrameworkRaised(ValueError("an empty batch has no samples to look up"))
        return super().forward(built, x)


class RegularizerFixedFactor(_Fault):
    """l2(f) computes with 0.01 whatever f is (0.01 is the document's factor and Keras' default)."""

    catches = ("reg.l2-adds-loss-term",)

    def _fixed(self, built):
        saved = []
        for layer in built.spec.layers:
            reg = layer.args.get("embeddings_regularizer")
            if reg:
                saved.append((reg, reg["l2"]))
                reg["l2"] = 0.01
        return saved

    def loss(self, built, x, y):
        saved = self._fixed(built)
        try:
            return super().loss(built, x, y)
        finally:
            for reg, value in saved:
                reg["l2"] = value

    def train_step(self, built, x, y, lr):
        saved = self._fixed(built)
        try:
            return super().train_step(built, x, y, lr)
        finally:
            for reg, value in saved:
                reg["l2"] = value


class LearningRateCapped(_Fault):
    """An SGD step caps a learning rate in (0.5, 1] at 0.5 (the document's learning rates are 0.1
    and 0.5; constraint.default-none-leaves-long-rows' 100.5, far beyond, is left alone)."""

    catches = ("train.sgd-updates-looked-up-rows-only",)

    def train_step(self, built, x, y, lr):
        return super().train_step(built, x, y, 0.5 if 0.5 < lr <= 1.0 else lr)


class UnitNormOnlyInTwoDimensions(_Fault):
    """UnitNorm(axis=1) is applied only to 2-dimensional vectors (the document's VEC_DIM)."""

    catches = ("constraint.unit-norm-after-step",)

    def train_step(self, built, x, y, lr):
        emb = built.spec.layers[0].args
        constraint = emb.get("embeddings_constraint")
        if constraint is None or emb["output_dim"] == 2:
            return super().train_step(built, x, y, lr)
        emb.pop("embeddings_constraint")
        try:
            return super().train_step(built, x, y, lr)
        finally:
            emb["embeddings_constraint"] = constraint


class MaskFromFirstRowsOnly(_Fault):
    """From the fifth sample of a batch on, each sample gets the first sample's mask (the
    document's masked batches have at most 4 samples)."""

    catches = ("mask.marks-nonzero-indices",)

    def mask(self, built, x):
        mask = super().mask(built, x)
        if mask.shape[0] > 4:
            mask = mask.copy()
            mask[4:] = mask[0]
        return mask


class FlattenReversedAboveThreeInputs(_Fault):
    """Flatten concatenates the vectors in reverse order when there are more than 3 of them."""

    catches = ("flatten.concatenates-in-input-order",)

    def forward(self, built, x):
        x = np.asarray(x)
        kinds = [layer.kind for layer in built.spec.layers]
        if "flatten" in kinds and x.ndim == 2 and x.shape[1] > 3:
            x = x[:, ::-1]
        return super().forward(built, x)


class RecurrentKernelTransposedAboveThreeUnits(_Fault):
    """A SimpleRNN with more than 3 units uses its recurrent kernel transposed (the same matrix
    for the document's 1 unit; the document's recurrent clauses have at most 3)."""

    catches = ("rnn.simple-rnn-matches-reference",)

    def forward(self, built, x):
        saved = list(built.weights)
        for n, layer in enumerate(built.spec.layers):
            if layer.kind == "simple_rnn" and layer.args["units"] > 3:
                kernel, recurrent, bias = built.weights[n]
                built.weights[n] = [kernel, recurrent.T.copy(), bias]
        try:
            return super().forward(built, x)
        finally:
            built.weights = saved


class StateResetAfterSevenSteps(_Fault):
    """A recurrent layer starts again from a zero state after every 7 steps (truncated: the
    document's sequences have at most 7 steps)."""

    catches = ("rnn.lstm-matches-reference",)

    def forward(self, built, x):
        x = np.asarray(x)
        recurrent = any(layer.kind in ("simple_rnn", "lstm", "gru") for layer in built.spec.layers)
        if not recurrent or x.ndim != 2 or x.shape[1] <= 7:
            return super().forward(built, x)
        parts = [super(StateResetAfterSevenSteps, self).forward(built, x[:, i:i + 7])
                 for i in range(0, x.shape[1], 7)]
        return np.concatenate(parts, axis=1) if parts[0].ndim == 3 else parts[-1]


class LossUnmaskedAboveFourSamples(_Fault):
    """The masked loss of a batch of more than 4 samples averages over every step, masked ones
    included (the document's masked batches have at most 4 samples)."""

    catches = ("mask.loss-ignores-masked-targets",)

    def loss(self, built, x, y):
        if np.asarray(x).shape[0] <= 4:
            return super().loss(built, x, y)
        pred = run_layers(built, x)[0]
        reg = l2_term(built)
        return float(np.mean((pred - np.asarray(y, np.float64)) ** 2)) + reg, reg


class LstmCountWrongAboveThreeUnits(_Fault):
    """Reports one parameter less for an LSTM of more than 3 units."""

    catches = ("rnn.lstm-takes-embedding-directly",)

    def summary(self, built):
        rows = super().summary(built)
        for layer, row in zip(built.spec.layers, rows):
            if layer.kind == "lstm" and layer.args["units"] > 3:
                row.trainable -= 1
                if row.params is not None:  # the framework's own count, which the clause reads
                    row.params -= 1
        return rows


FAULTS = [cls for cls in list(globals().values())
          if isinstance(cls, type) and issubclass(cls, _Fault) and cls is not _Fault]


class CrashesOnLargeVocabularies(Reference):
    """Not a fault to catch but a hostile backend: its interpreter dies on a lookup in a vocabulary
    of more than 1000 words (a drawn example's crash is an error pinned to that example)."""

    framework = "hostile"
    requires = ("numpy",)

    def forward(self, built, x):
        if built.spec.layers[0].args["input_dim"] > 1000:
            os._exit(3)
        return super().forward(built, x)
