"""NumPy reference: the document made executable, and the oracle for every other backend.

It implements exactly what "Embedding Layer in Keras" states, in Keras' conventions (weight
layout in backends/base.py). Where the document is silent the reference takes the strict
reading: input outside the layer's contract (indices outside [0, VOC_SIZE-1], non-integer
indices) raises a clear error instead of producing a value. Its own tests (tests/) compare it
with hand-computed numbers, never with itself.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .base import INPUT_LENGTH_MODELS, Backend, Declaration, Layer, LayerSummary, Model, Unsupported

RNN_KINDS = ("simple_rnn", "lstm", "gru")
UNIFORM_LIMIT = 0.05  # document: default initializer 'uniform' draws from [-0.05, 0.05]
# embeddings_initializer names (Keras' string aliases) -> the class Keras' config reports;
# ``{"random_uniform": {"minval": a, "maxval": b}}`` is keras.initializers.RandomUniform(a, b)
INITIALIZERS = {"uniform": "RandomUniform", "zeros": "Zeros", "ones": "Ones", "random_uniform": "RandomUniform"}
# Alternative semantics the reference also computes, besides the document's, where they change what
# it observes (conformance/language/vocabulary/checks.py declares each, in words). A registered
# divergence names one (``to: {reference: NAME}``) to pin the mechanism a framework follows instead of
# the document, computed at every drawn size, not values at the positions of one example.
PREFIX = "prefix_of_nonzero_count"   # PyTorch's pack_padded_sequence(lengths=(x != 0).sum(1)) idiom
MAX_NORM = "max_norm_before_step"    # PyTorch's nn.Embedding(max_norm=1.0) for UnitNorm(axis=1)
UNMASKED = "mask_ignored"            # Flax's nnx.RNN per-step outputs: every step an input, whatever seq_lengths
SEMANTICS = (PREFIX, MAX_NORM, UNMASKED)
MAX_NORM_EPSILON = 1e-7  # torch.embedding_renorm_: scale = max_norm / (norm + 1e-7)


def initializer_name(initializer) -> str:
    """An embeddings_initializer's name: the string itself, or the one key of its mapping."""
    if isinstance(initializer, dict):
        if len(initializer) != 1:
            raise ValueError(f"an initializer mapping has one key, its name: {initializer!r}")
        return next(iter(initializer))
    return initializer


def uniform_bounds(initializer) -> tuple[float, float]:
    """[minval, maxval] of a uniform initializer: 'uniform' is the document's [-0.05, 0.05]."""
    if isinstance(initializer, dict):
        args = initializer["random_uniform"]
        return float(args["minval"]), float(args["maxval"])
    return -UNIFORM_LIMIT, UNIFORM_LIMIT


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _glorot(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out))


def _orthogonal(rng, rows, cols):
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return q if rows >= cols else q.T


def check_indices(x, input_dim: int) -> np.ndarray:
    """The layer's contract: integer indices in [0, input_dim - 1]."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"embedding indices must be integers, got dtype {x.dtype}")
    if x.size and (x.min() < 0 or x.max() >= input_dim):
        raise IndexError(
            f"embedding index out of range: indices must lie in [0, {input_dim - 1}], "
            f"got min {x.min()} and max {x.max()}"
        )
    return x


def unit_norm(matrix: np.ndarray, axis: int = 1) -> np.ndarray:
    return matrix / np.sqrt(np.sum(matrix ** 2, axis=axis, keepdims=True))


# Differential weights (seeded_weights) give every bias component a magnitude in this range and a
# random sign: large enough that a dropped, doubled or misplaced bias moves the output far beyond
# float32 tolerances, of the order of the other terms so that the gates stay away from saturation.
BIAS_MAGNITUDE = (0.1, 0.5)


def renorm_looked_up(matrix: np.ndarray, idx, max_norm: float = 1.0) -> np.ndarray:
    """Under :data:`MAX_NORM`: a copy of ``matrix`` whose looked-up rows of norm above ``max_norm``
    are scaled by max_norm / (norm + 1e-7) (torch.embedding_renorm_); every other row as it was."""
    out = np.array(matrix, np.float64)
    rows = np.unique(np.asarray(idx))
    norms = np.linalg.norm(out[rows], axis=1)
    long = norms > max_norm
    out[rows[long]] *= (max_norm / (norms[long] + MAX_NORM_EPSILON))[:, None]
    return out


def seeded_weights(model: Model, seed: int = 0) -> list[list[np.ndarray]]:
    """The weights every backend gets for a differential check, from a seed.

    Not Keras' initialization (zero Dense and RNN biases, the LSTM's forget-gate ones, orthogonal
    recurrent kernels): under it a framework that drops a bias, adds it twice or applies it to
    the wrong gate computes the same outputs. Here every term shows: the embedding keeps the
    document's default ('uniform'), Dense and every RNN gate get a random non-zero bias (the
    GRU's recurrent bias too), and kernels and recurrent kernels are dense random matrices
    (Glorot-uniform, per gate block for the recurrent ones), not orthogonal ones. A model's own fresh weights
    (``weights: fresh``, ``fresh_weights``) are never these: they come from each framework's own
    initializers, and the reference's from :meth:`RefModel._init` (Keras' defaults).
    """
    return RefModel(model, rng=np.random.default_rng(seed), differential=True).weights


def _bias(rng, shape) -> np.ndarray:
    """Components of magnitude in BIAS_MAGNITUDE with random signs: none near zero."""
    return rng.uniform(*BIAS_MAGNITUDE, shape) * rng.choice((-1.0, 1.0), shape)


def gate_count(kind: str) -> int:
    return {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]


class RefModel:
    """A built Sequential stack: layer specs plus float32 weights in the reference layout."""

    def __init__(self, spec: Model, rng=None, pretrained=None, differential: bool = False):
        self.spec = spec
        self._differential = differential  # seeded_weights' draw, not Keras' defaults
        self._rng = rng if rng is not None else np.random.default_rng()
        # a copy now, never an alias: the caller may change its matrix before the weights are read
        self._pretrained = None if pretrained is None else np.array(pretrained, dtype=np.float32)
        self._weights: list[list[np.ndarray]] | None = None
        self._plan = []  # per layer: (layer, size of the last axis flowing in, sequence length)
        features = None
        length = spec.input_shape[0] if spec.input_shape else None
        for layer in spec.layers:
            if layer.kind in ("dense", *RNN_KINDS) and features is None:
                raise ValueError(f"{layer.kind} needs a known input size; give the model an input shape")
            initializer = layer.args.get("embeddings_initializer", "uniform")
            if layer.kind == "embedding" and initializer_name(initializer) not in INITIALIZERS:
                raise Unsupported(f"the reference has no initializer {initializer!r}")
            self._plan.append((layer, features, length))
            features, length = _out_features(layer, features, length)

    @property
    def weights(self) -> list[list[np.ndarray]]:
        """Drawn from the generator when first read: weights that are set right after the model
        is built (every differential check) are never drawn."""
        if self._weights is None:
            self._weights = [self._init(layer, self._rng, features, length, self._pretrained,
                                        self._differential)
                             for layer, features, length in self._plan]
        return self._weights

    @weights.setter
    def weights(self, value) -> None:
        self._weights = value

    def shapes(self) -> list[list[tuple]]:
        """The shape of every weight, per layer, without drawing them."""
        if self._weights is not None:
            return [[w.shape for w in ws] for ws in self._weights]
        out = []
        for layer, features, _ in self._plan:
            if layer.kind == "embedding":
                out.append([np.shape(self._pretrained) if self._pretrained is not None
                            else (layer.args["input_dim"], layer.args["output_dim"])])
            elif layer.kind == "flatten":
                out.append([])
            elif layer.kind == "dense":
                out.append([(features, layer.args["units"]), (layer.args["units"],)])
            else:
                units, g = layer.args["units"], gate_count(layer.kind)
                out.append([(features, g * units), (units, g * units),
                            (2, g * units) if layer.kind == "gru" else (g * units,)])
        return out

    @staticmethod
    def _init(layer: Layer, rng, features, length, pretrained, differential=False):
        """Keras' default initializers; ``differential``: seeded_weights' draw (every term shows)."""
        kind = layer.kind
        if kind == "embedding":
            shape = (layer.args["input_dim"], layer.args["output_dim"])
            if pretrained is not None:
                if np.shape(pretrained) != shape:  # as Keras' weights=[matrix] refuses it
                    raise ValueError(f"the pre-trained matrix has shape {np.shape(pretrained)}, the "
                                     f"layer's weights {shape}")
                return [np.array(pretrained, dtype=np.float32)]  # a copy, never an alias; float32
            initializer = layer.args.get("embeddings_initializer", "uniform")
            if initializer == "zeros":
                return [np.zeros(shape, np.float32)]
            if initializer == "ones":
                return [np.ones(shape, np.float32)]
            if initializer_name(initializer) not in ("uniform", "random_uniform"):
                raise Unsupported(f"the reference has no initializer {initializer!r}")
            return [rng.uniform(*uniform_bounds(initializer), shape).astype(np.float32)]
        if kind == "flatten":
            return []
        if features is None:
            raise ValueError(f"{kind} needs a known input size; give the model an input shape")
        units = layer.args["units"]
        if kind == "dense":
            kernel = _glorot(rng, features, units)
            bias = _bias(rng, units) if differential else np.zeros(units)
            return [kernel.astype(np.float32), bias.astype(np.float32)]
        g = gate_count(kind)
        kernel = _glorot(rng, features, g * units)
        bias_shape = (2, g * units) if kind == "gru" else (g * units,)  # GRU: input and recurrent rows
        if differential:
            recurrent = np.concatenate([_glorot(rng, units, units) for _ in range(g)], axis=1)
            bias = _bias(rng, bias_shape)
        else:
            recurrent = np.concatenate([_orthogonal(rng, units, units) for _ in range(g)], axis=1)
            bias = np.zeros(bias_shape)
            if kind == "lstm":
                bias[units:2 * units] = 1.0  # unit_forget_bias
        return [w.astype(np.float32) for w in (kernel, recurrent, bias)]


def _out_features(layer: Layer, features, length):
    """(last-axis size, sequence length) after ``layer``."""
    if layer.kind == "embedding":
        return layer.args["output_dim"], layer.args.get("input_length") or length
    if layer.kind == "flatten":
        return (features * length if features and length else None), None
    return layer.args["units"], length


def _output_shape(layer: Layer, shape: tuple) -> tuple:
    kind = layer.kind
    if kind == "embedding":
        return shape + (layer.args["output_dim"],)
    if kind == "flatten":
        rest = shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest))
        return (shape[0], size)
    if kind == "dense":
        return shape[:-1] + (layer.args["units"],)
    if layer.args.get("return_sequences"):
        return shape[:2] + (layer.args["units"],)
    return (shape[0], layer.args["units"])


def semantics_for(action: str, model: Model | None) -> tuple[str, ...]:
    """The alternative semantics (:data:`SEMANTICS`) that change what the reference observes for
    ``action`` on ``model``: the prefix semantics for a forward through a masking embedding and a
    recurrent layer (and the one that ignores the mask), the max-norm one for a training step of a
    constrained embedding."""
    if model is None or not model.layers or model.layers[0].kind != "embedding":
        return ()
    first = model.layers[0]
    if action == "forward" and first.args.get("mask_zero") and any(layer.kind in RNN_KINDS for layer in model.layers):
        return (PREFIX, UNMASKED)
    if action == "train_step" and first.args.get("embeddings_constraint"):
        return (MAX_NORM,)
    return ()


def param_count(layer: Layer, weights) -> int:
    return int(sum(w.size for w in weights))


def rnn_forward(kind, weights, x, mask=None, return_sequences=False):
    """Keras recurrence. A masked step keeps the previous state and repeats the previous output
    (zeros before the first unmasked step)."""
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in weights)
    batch, steps, _ = x.shape
    units = recurrent.shape[0]
    h = np.zeros((batch, units))
    c = np.zeros((batch, units))
    out = np.zeros((batch, units))
    outputs = []
    for t in range(steps):
        xt = x[:, t]
        if kind == "simple_rnn":
            h_new, c_new = np.tanh(xt @ kernel + h @ recurrent + bias), c
        elif kind == "lstm":
            z = xt @ kernel + h @ recurrent + bias
            i, f, cc, o = np.split(z, 4, axis=-1)
            c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(cc)
            h_new = _sigmoid(o) * np.tanh(c_new)
        else:  # gru, reset_after=True
            xz = np.split(xt @ kernel + bias[0], 3, axis=-1)
            hz = np.split(h @ recurrent + bias[1], 3, axis=-1)
            zg = _sigmoid(xz[0] + hz[0])
            r = _sigmoid(xz[1] + hz[1])
            hh = np.tanh(xz[2] + r * hz[2])
            h_new, c_new = zg * h + (1 - zg) * hh, c
        if mask is not None:
            m = mask[:, t][:, None]
            h_new, c_new, out = np.where(m, h_new, h), np.where(m, c_new, c), np.where(m, h_new, out)
        else:
            out = h_new
        h, c = h_new, c_new
        outputs.append(out)
    return np.stack(outputs, axis=1) if return_sequences else h


# The document's three array operations, one function each: run_layers and the document's own
# calls go through them (conformance/tools/mutants.py replaces them, inside a mutant's worker only,
# to model a framework bug in one place).
def lookup(matrix, idx) -> np.ndarray:
    """Row i of the matrix for each index i."""
    return np.asarray(matrix, np.float64)[idx]


def flatten(x) -> np.ndarray:
    """(batch_size, size1, ..., sizeN) -> (batch_size, size1*...*sizeN), in row-major order."""
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))  # also for 0 samples


def dense(x, kernel, bias) -> np.ndarray:
    """sum_alpha X[i...j alpha] W[alpha k] + b[k]: the last axis against the kernel's rows."""
    return np.tensordot(x, np.asarray(kernel, np.float64), axes=[[-1], [0]]) + bias


def scatter_add(target, idx, rows) -> np.ndarray:
    """The embedding's gradient: each looked-up row's gradient added to its row of ``target``; an
    index that occurs twice gets the sum of both."""
    np.add.at(target, idx, rows)
    return target


def prefix_mask(idx) -> np.ndarray:
    """Under :data:`PREFIX`: True at each row's first ``(idx != 0).sum()`` steps, zeros among them
    included (what pack_padded_sequence keeps with those lengths), False after them."""
    lengths = (idx != 0).sum(axis=1)
    return np.arange(idx.shape[1])[None, :] < lengths[:, None]


def run_layers(model: RefModel, x, semantics: str | None = None):
    """Forward pass in float64; returns (output, mask of the output, per-layer activations).

    Under :data:`PREFIX` a masking embedding's mask is :func:`prefix_mask` (no step skipped before
    the length, the state after it kept), and a recurrent layer's per-step outputs are 0 after the
    length (pad_packed_sequence's fill) instead of repeating the last one."""
    mask = None
    acts = []
    for layer, weights in zip(model.spec.layers, model.weights):
        kind = layer.kind
        if kind == "embedding":
            idx = check_indices(x, layer.args["input_dim"])
            x = lookup(weights[0], idx)
            mask = (idx != 0) if layer.args.get("mask_zero") else None
            if mask is not None and semantics == PREFIX and idx.ndim == 2:
                mask = prefix_mask(idx)
            if semantics == UNMASKED:
                mask = None  # every step an ordinary input
        elif kind == "flatten":
            x, mask = flatten(x), None
        elif kind == "dense":
            x = dense(x, weights[0], weights[1])
        else:
            seq = layer.args.get("return_sequences", False)
            x = rnn_forward(kind, weights, x, mask, seq)
            if seq and mask is not None and semantics == PREFIX:
                x = np.where(mask[..., None], x, 0.0)
            mask = mask if seq else None
        acts.append(x)
    return x, mask, acts


def mse(pred, y, mask=None) -> float:
    """Mean squared error over the last axis, then the mean over the unmasked positions.
    An all-masked batch has no positions: its mean is NaN (the document is silent)."""
    per_position = np.mean((pred - np.asarray(y, np.float64)) ** 2, axis=-1)
    if mask is None:
        return float(per_position.mean())
    m = np.broadcast_to(mask, per_position.shape)
    count = m.sum()
    return float((per_position * m).sum() / count) if count else float("nan")


def l2_term(model: RefModel) -> float:
    total = 0.0
    for layer, weights in zip(model.spec.layers, model.weights):
        reg = layer.args.get("embeddings_regularizer")
        if layer.kind == "embedding" and reg:
            total += reg["l2"] * float(np.sum(np.asarray(weights[0], np.float64) ** 2))
    return total


class Reference(Backend):
    declaration = Declaration(
        name="reference", framework="numpy", display="the NumPy reference",
        summary="the document made executable, the oracle for the others",
        order=0, seconds_per_item=0.034)  # no framework: it runs in the test process

    def __init__(self, seed=None, semantics: str | None = None):
        """``semantics``: one of :data:`SEMANTICS` in place of the document's (None: the document's)."""
        if semantics is not None and semantics not in SEMANTICS:
            raise ValueError(f"the reference has no semantics {semantics!r} (it has {', '.join(SEMANTICS)})")
        self.rng = np.random.default_rng(seed)
        self.semantics = semantics

    def seed(self, seed):
        self.rng = np.random.default_rng(seed)

    def version(self):
        return np.__version__

    def describe(self):
        return f"NumPy reference (numpy {np.__version__})"

    def build(self, model: Model, pretrained=None):
        for layer in model.layers:
            if layer.kind == "embedding":
                self._check_args(layer.args)
        return RefModel(model, rng=self.rng, pretrained=pretrained)

    @staticmethod
    def _check_args(args):
        missing = [k for k in ("input_dim", "output_dim") if args.get(k) is None]
        if missing:
            raise TypeError(f"Embedding requires {' and '.join(missing)} (VOC_SIZE and VEC_DIM)")

    def get_weights(self, built):
        return [[w.copy() for w in ws] for ws in built.weights]

    def set_weights(self, built, weights):
        held = built.shapes()
        if len(weights) != len(held):
            raise ValueError(f"got weights for {len(weights)} layers, the model has "
                             f"{len(held)} layers")
        for n, (layer, new, want) in enumerate(zip(built.spec.layers, weights, held)):
            got = [np.shape(w) for w in new]
            if want != got:
                raise ValueError(f"layer {n} ({layer.kind}): expected shapes {want}, got {got}")
        built.weights = [[np.array(w, np.float32) for w in ws] for ws in weights]

    def forward(self, built, x):
        """Computed in float32; a last layer with Keras' dtype policy mixed_float16 outputs its
        compute dtype, float16 (its weights stay float32)."""
        last = built.spec.layers[-1] if built.spec.layers else None
        mixed = last is not None and last.args.get("dtype") == "mixed_float16"
        return run_layers(built, x, self.semantics)[0].astype(np.float16 if mixed else np.float32)

    def summary(self, built):
        # the input shape: declared, else the first embedding's input_length (the document: the
        # number of inputs may be given at construction), else unknown
        declared = built.spec.input_shape
        length = built.spec.layers[0].args.get("input_length") if built.spec.layers else None
        shape = (None,) + (tuple(declared) if declared else (length,))
        rows = []
        for layer, weights in zip(built.spec.layers, built.weights):
            shape = _output_shape(layer, shape)
            count = param_count(layer, weights)
            frozen = layer.args.get("trainable") is False
            rows.append(LayerSummary(shape, 0 if frozen else count, count if frozen else 0, count))
        return rows

    def predict(self, built, x):
        return self.forward(built, x)  # the reference has one path

    def export_defaults(self, built, x, inputs):
        """No exporter: what the document implies of a model it deploys, integer indices of either
        dtype (its layer's contract) and "variable batch size and number of inputs", so every
        input runs through the reference itself."""
        self.forward(built, x)
        outputs = []
        for given in inputs:
            try:
                outputs.append(self.forward(built, given).tolist())
            except (TypeError, IndexError) as exc:  # the layer's contract (check_indices)
                outputs.append({"raised": type(exc).__name__, "message": str(exc)})
        return {"document": {"call": "the document's model itself (no export)", "input_dtype": "int32 or int64",
                             "input_shape": [None] * np.ndim(x), "outputs": outputs}}

    def mask(self, built, x):
        first = built.spec.layers[0]
        idx = check_indices(x, first.args["input_dim"])
        if not first.args.get("mask_zero"):
            raise ValueError("mask_zero is False: the layer produces no mask")
        return idx != 0

    def loss(self, built, x, y):
        pred, mask, _ = run_layers(built, x, self.semantics)
        reg = l2_term(built)
        return mse(pred, y, mask) + reg, reg

    def freeze(self, built, index):
        """trainable=False takes effect at once (the document: "set trainable=False")."""
        layers = list(built.spec.layers)
        layers[index] = Layer(layers[index].kind, {**layers[index].args, "trainable": False})
        built.spec = dataclasses.replace(built.spec, layers=tuple(layers))

    def train_step(self, built, x, y, lr):
        """One SGD step with analytic gradients on Embedding -> [Flatten] -> Dense."""
        kinds = [layer.kind for layer in built.spec.layers]
        if kinds not in (["embedding", "flatten", "dense"], ["embedding", "dense"]):
            raise Unsupported("the reference trains only Embedding -> [Flatten] -> Dense")
        emb, dense = built.spec.layers[0], built.spec.layers[-1]
        E = np.asarray(built.weights[0][0], np.float64)
        K, b = (np.asarray(w, np.float64) for w in built.weights[-1])
        idx = check_indices(x, emb.args["input_dim"])
        constraint = emb.args.get("embeddings_constraint")
        if constraint and self.semantics == MAX_NORM:
            E = renorm_looked_up(E, idx)
            constraint = None  # max_norm renormalises during the forward only
        vectors = E[idx]                                      # (B, n, D)
        flat = vectors.reshape(len(idx), -1) if "flatten" in kinds else vectors
        pred = np.tensordot(flat, K, axes=[[-1], [0]]) + b
        loss = mse(pred, y) + l2_term(built)
        g = 2.0 * (pred - np.asarray(y, np.float64)) / pred.size
        dK = np.tensordot(flat, g, axes=[list(range(flat.ndim - 1))] * 2)
        db = g.reshape(-1, g.shape[-1]).sum(axis=0)
        dvec = np.tensordot(g, K, axes=[[-1], [1]]).reshape(vectors.shape)
        dE = scatter_add(np.zeros_like(E), idx, dvec)
        reg = emb.args.get("embeddings_regularizer")
        if reg:
            dE += 2.0 * reg["l2"] * E
        if emb.args.get("trainable", True):
            E = E - lr * dE
            if constraint:
                built.unconstrained = E  # what the constraint was given: the unit_norm_epsilon check reads it
                E = unit_norm(E, constraint["unit_norm"].get("axis", 1))
            built.weights[0] = [E.astype(np.float32)]
        if dense.args.get("trainable", True):
            built.weights[-1] = [(K - lr * dK).astype(np.float32), (b - lr * db).astype(np.float32)]
        return loss

    def construct(self, kwargs):
        self._check_args(kwargs)
        return Layer("embedding", dict(kwargs))

    def layer_config(self, layer):
        """Keras' config names: 'uniform' is RandomUniform(minval=-0.05, maxval=0.05)."""
        initializer = layer.args.get("embeddings_initializer", "uniform")
        config = {"class_name": INITIALIZERS[initializer_name(initializer)]}
        if config["class_name"] == "RandomUniform":
            config.update(zip(("minval", "maxval"), uniform_bounds(initializer)))
        return {"embeddings_initializer": config}

    # -- the document's own Keras calls, as the document states their results ---------------
    def document_call(self, name, **args):
        if name == "flatten_ones":
            return {"shape": list(flatten(np.ones(args["shape"])).shape)}
        model = Model((Layer("embedding", {"input_dim": args["voc_size"],
                                           "output_dim": args["vec_dim"]}),))
        built = self.build(model)
        if "matrix" in args:
            built.weights = [[np.array(args["matrix"], np.float32)]]
        if name == "predict_list":
            data = args["data"]
            if len(data) > 1:
                raise TypeError("a list of lists must be converted to a NumPy array first")
            return {"output": self.forward(built, np.asarray(data))}
        if name == "predict_array":
            return {"output": self.forward(built, np.asarray(args["data"]))}
        if name == "get_weights":
            return {"weights": [w.copy() for w in built.weights[0]]}
        if name == "weights_argument":
            frozen = self.build(Model((Layer("embedding", {
                "input_dim": args["voc_size"], "output_dim": args["vec_dim"],
                "trainable": False}),)), pretrained=args["matrix"])
            row = self.summary(frozen)[0]
            return {"weights": frozen.weights[0][0], "trainable": row.trainable,
                    "non_trainable": row.non_trainable}
        if name in INPUT_LENGTH_MODELS:
            # no input shape is declared: the embedding's input_length gives it
            stack = self.build(Model((
                Layer("embedding", {"input_dim": args["voc_size"], "output_dim": args["vec_dim"],
                                    "input_length": args["inputs"]}),
                *INPUT_LENGTH_MODELS[name])))
            rows = self.summary(stack)
            return {"output_shapes": [list(r.output_shape) for r in rows],
                    "params": [r.trainable + r.non_trainable for r in rows],
                    "trainable": [r.trainable for r in rows],
                    "non_trainable": [r.non_trainable for r in rows]}
        raise Unsupported(f"unknown document call {name!r}")
