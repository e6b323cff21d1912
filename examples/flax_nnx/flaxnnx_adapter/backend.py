"""Flax NNX adapter: each clause mapped the way a Flax NNX user writes it with Flax's own modules
and optax. Written against the suite's public contract only (``backends.base``); nothing here
corrects Flax, and every difference from the document is registered in ``divergences.yaml``
beside this module.

The mapping, layer by layer:

* Embedding -> ``nnx.Embed(input_dim, output_dim, rngs=rngs)``, Flax's default initializer
  (``variance_scaling(1.0, 'fan_in', 'normal', out_axis=0)``). ``embeddings_initializer`` ->
  ``embedding_init=`` (``nnx.initializers.ones`` / ``zeros``; Keras' symmetric ``'uniform'`` has
  no Flax counterpart: ``nnx.initializers.uniform(s)`` draws from [0, s)). Pre-trained ->
  ``embedding_init=nnx.initializers.constant(matrix)``. ``mask_zero`` has no counterpart
  (``nnx.Embed`` makes no mask); ``input_length`` neither. A ``UnitNorm`` constraint: Flax has
  no constraints (unsupported).
* ``trainable=False`` -> the optimizer's ``wrt`` filter leaves the layer out
  (``nnx.All(nnx.Param, nnx.Not(nnx.PathContains('l0')))``): in NNX "trainable" is a filter
  over the state, not a flag per variable.
* Flatten: NNX has no Flatten module; the user writes ``x.reshape(x.shape[0], -1)``.
* Dense -> ``nnx.Linear(in_features, units)`` (its kernel is already Keras' (in, units)).
* SimpleRNN / LSTM / GRU -> ``nnx.RNN(nnx.SimpleCell | nnx.LSTMCell | nnx.GRUCell)``;
  ``return_sequences=False`` -> the final carry (``return_carry=True``; the LSTM carry is
  ``(c, h)``). Behind a ``mask_zero`` embedding the user computes ``seq_lengths = (x != 0).sum(1)``
  and passes it to ``nnx.RNN``.
* Loss: ``optax.squared_error(pred, y).mean()`` (not ``optax.l2_loss``, which halves it); behind a
  mask, the masked mean written by hand. Training: ``nnx.Optimizer(model, optax.sgd(lr),
  wrt=...)`` and ``nnx.value_and_grad``, the optimizer made once per model and learning rate;
  ``l2(f)`` -> ``optax.add_decayed_weights(2*f)`` masked to the embedding (optax adds no loss term).

Randomness: ``seed(s)`` makes ``nnx.Rngs(s)``, and every build draws from that stream, so fresh
models differ and a run is reproducible; no global generator is involved. State: NNX modules are
mutable, so ``set_weights`` and ``train_step`` update the built model in place. Compiled calls:
``reuse(built)`` switches a model to ``nnx.jit`` (an eager ``nnx.RNN`` retraces its scan on
every call, 0.4 to 0.7 s; compiled, a few ms).
"""
from __future__ import annotations

import numpy as np

from backends.base import (
    RNN_KINDS,
    Backend,
    Declaration,
    FrameworkRaised,
    LayerSummary,
    Model,
    Unsupported,
    features_after,
    mask_flow,
)

from . import layouts

_CELLS = {"simple_rnn": "SimpleCell", "lstm": "LSTMCell", "gru": "GRUCell"}
_INITIALIZERS = {"ones": "ones", "zeros": "zeros"}

_NO_MASK = "nnx.Embed produces no mask (Flax has no masks: users compute x != 0 themselves)"
_NO_REG_TERM = ("Flax adds no regularization term to the loss: L2 is optax.add_decayed_weights in the "
                "optimizer")
_NO_INPUT_LENGTH = "nnx.Embed has no input_length: the sequence length comes with each input"
_NO_CONSTRAINT = "Flax has no weight constraints (nothing like Keras' UnitNorm)"
_NO_CONFIG = "nnx.Embed keeps no initializer setting (embedding_init is used once, at construction)"
_NO_UNIFORM = ("Keras' 'uniform' (U[-0.05, 0.05]) has no Flax initializer: nnx.initializers.uniform(s) "
               "draws from [0, s)")



def _no_initializer(init) -> str:
    if isinstance(init, dict):  # {random_uniform: {minval, maxval}}: Keras' RandomUniform
        return ("Keras' RandomUniform(minval, maxval) has no Flax initializer: nnx.initializers.uniform(s) "
                "draws from [0, s)")
    return _NO_UNIFORM if init == "uniform" else f"no initializer {init!r}"


# What the adapter computes by hand (FlaxNNX.emulation): the idiom, as a user writes it.
EMULATIONS = {
    "flatten": "NNX has no Flatten: the reshape written by hand, x.reshape(x.shape[0], -1)",
    "lengths": "the mask computed by hand from the indices, seq_lengths = (x != 0).sum(1), passed to "
               "nnx.RNN (Flax has no masks)",
    "masked_mean": "the masked mean loss written by hand, m = x != 0; "
                   "jnp.mean(optax.squared_error(pred, y).mean(-1), where=m) (optax's losses take no mask)",
    "weight_decay": "Keras l2(f) translated by hand into optax.add_decayed_weights(2*f), masked to the "
                    "embedding (Flax adds no regularization term to the loss)",
    "layout": "converted by hand from the cells' Linears (flaxnnx_adapter/layouts.py): per-gate kernels "
              "concatenated, GRU gates reordered r, z, n -> z, r, h",
    "trainable": "NNX has no trainable flag: the counts split by the optimizer's wrt filter that leaves "
                 "the frozen layers out (nnx.Param alone is every parameter)",
}


def _nnx():
    from flax import nnx
    return nnx


def _flatten(h):
    # the idiom, x.reshape(x.shape[0], -1), written so that it also holds for an empty batch
    return h.reshape(h.shape[0], int(np.prod(h.shape[1:])))


_STACK = []


def _stack_class():
    """The nnx.Module of a Sequential stack, defined on first use (flax is imported lazily)."""
    if _STACK:
        return _STACK[0]
    nnx = _nnx()

    class Stack(nnx.Module):
        """Layer i with parameters is attribute ``l{i}``; a Flatten is a reshape."""

        def __init__(self, spec: Model, modules: dict):
            # per layer (kind, mask_zero, return_sequences): hashable, as NNX's static attributes must be
            self.plan = tuple((layer.kind, bool(layer.get("mask_zero")), bool(layer.get("return_sequences")))
                              for layer in spec.layers)
            for i, module in modules.items():
                setattr(self, f"l{i}", module)

        def __call__(self, x):
            h, lengths = x, None
            for i, (kind, mask_zero, sequences) in enumerate(self.plan):
                if kind == "flatten":
                    h, lengths = _flatten(h), None
                    continue
                module = getattr(self, f"l{i}")
                if kind == "embedding":
                    h = module(h)
                    lengths = (x != 0).sum(-1) if mask_zero else None
                elif kind == "dense":
                    h = module(h)
                elif sequences:
                    h = module(h, seq_lengths=lengths)
                else:
                    carry, _ = module(h, seq_lengths=lengths, return_carry=True)
                    h = carry[1] if kind == "lstm" else carry  # LSTMCell's carry is (c, h)
                    lengths = None
            return h

    _STACK.append(Stack)
    return Stack


class Built:
    """A built stack: the module, the optimizer's ``wrt`` filter, L2 factors by layer, the
    optimizers made so far (by learning rate) and, once reused, the compiled calls."""

    def __init__(self, spec, stack, wrt, l2):
        self.spec, self.stack, self.wrt, self.l2 = spec, stack, wrt, l2
        self.optimizers: dict = {}
        self.compiled = False
        self.calls: dict = {}


class FlaxNNX(Backend):
    declaration = Declaration(
        name="flax-nnx", framework="flax", display="Flax NNX", requires=("flax", "jax"),
        summary="a third-party adapter from examples/flax_nnx (nnx.Embed, nnx.Linear, nnx.RNN, optax)",
        divergences="divergences.yaml", order=1000, seconds_per_item=0.05)

    def __init__(self):
        self._rngs = None

    # -- identity -----------------------------------------------------------------------------
    def version(self):
        import flax
        return str(flax.__version__)

    def describe(self):
        import flax
        import jax
        import optax
        return f"Flax NNX {flax.__version__} (jax {jax.__version__}, optax {optax.__version__})"

    def release(self):
        import jax
        return f"{self.name}@{self.version()}+jax-{jax.__version__}"

    def seed(self, seed):
        # the key stream every later build draws from (nnx.Rngs splits it per initializer call)
        self._rngs = _nnx().Rngs(seed)

    def _stream(self):
        if self._rngs is None:
            self.seed(0)
        return self._rngs

    # -- models -------------------------------------------------------------------------------
    def build(self, model: Model, pretrained=None):
        nnx = _nnx()
        rngs = self._stream()
        modules, frozen, l2 = {}, [], {}
        features = None
        length = model.input_shape[0] if model.input_shape else None
        for i, layer in enumerate(model.layers):
            kind = layer.kind
            if kind == "embedding":
                if layer.get("embeddings_constraint"):
                    raise Unsupported(_NO_CONSTRAINT)
                kwargs = {}
                if pretrained is not None:
                    kwargs["embedding_init"] = nnx.initializers.constant(pretrained)
                    size = np.shape(pretrained)
                else:
                    size = (layer.args["input_dim"], layer.args["output_dim"])
                    init = layer.get("embeddings_initializer")
                    if init is not None:
                        if not isinstance(init, str) or init not in _INITIALIZERS:
                            raise Unsupported(_no_initializer(init))
                        kwargs["embedding_init"] = getattr(nnx.initializers, _INITIALIZERS[init])
                modules[i] = nnx.Embed(*size, rngs=rngs, **kwargs)
                if layer.get("embeddings_regularizer"):
                    l2[i] = float(layer.args["embeddings_regularizer"]["l2"])
            elif kind == "dense":
                if not features:
                    raise Unsupported("nnx.Linear needs in_features, and the input size is not known here "
                                      "(NNX has no lazy Linear)")
                modules[i] = nnx.Linear(features, layer.args["units"], rngs=rngs)
            elif kind in RNN_KINDS:
                cell = getattr(nnx, _CELLS[kind])(features, layer.args["units"], rngs=rngs)
                modules[i] = nnx.RNN(cell)
            elif kind != "flatten":
                raise Unsupported(f"no mapping for layer kind {kind!r}")
            if layer.get("trainable") is False and i in modules:
                frozen.append(i)
            features, length = features_after(layer, features, length)
        wrt = nnx.Param
        if frozen:
            wrt = nnx.All(nnx.Param, *(nnx.Not(nnx.PathContains(f"l{i}")) for i in frozen))
        return Built(model, _stack_class()(model, modules), wrt, l2)

    def reuse(self, built):
        # An eager nnx.RNN retraces its scan at every call (0.4 to 0.7 s): compiled once per input
        # shape with nnx.jit, it is faster from the first call. Other models stay eager: drawn
        # examples vary their sizes, and a compilation per shape costs more than eager JAX ops.
        built.compiled = any(layer.kind in RNN_KINDS for layer in built.spec.layers)

    def _call(self, built, name, fn):
        """``fn`` as it runs on ``built``: eager, or compiled with nnx.jit once the model is reused."""
        if not built.compiled:
            return fn
        if name not in built.calls:
            built.calls[name] = _nnx().jit(fn)
        return built.calls[name]

    def _params(self, built, i) -> dict:
        """Layer ``i``'s parameters, path (``dense_i.kernel``) -> array."""
        nnx = _nnx()
        state = nnx.state(getattr(built.stack, f"l{i}"), nnx.Param)
        out = {}
        for path, value in nnx.to_flat_state(state):
            keys = [str(k) for k in path if str(k) != "cell"]
            out[".".join(keys)] = np.array(value.get_value() if hasattr(value, "get_value") else value.value)
        return out

    def get_weights(self, built):
        return [layouts.from_flax(layer.kind, self._params(built, i) if layer.kind != "flatten" else {})
                for i, layer in enumerate(built.spec.layers)]

    def set_weights(self, built, weights):
        import jax.numpy as jnp
        if len(weights) != len(built.spec.layers):
            raise ValueError(f"got weights for {len(weights)} layers, the model has {len(built.spec.layers)}")
        for i, (layer, ws) in enumerate(zip(built.spec.layers, weights)):
            if layer.kind == "flatten":
                continue
            try:
                params = layouts.to_flax(layer.kind, ws)
            except layouts.NoCounterpart as exc:
                raise Unsupported(str(exc)) from None
            module = getattr(built.stack, f"l{i}")
            if layer.kind in RNN_KINDS:
                module = module.cell
            held = self._params(built, i)
            for path, value in params.items():
                if held[path].shape != np.shape(value):
                    raise ValueError(f"layer {i} ({layer.kind}) {path}: expected shape {held[path].shape}, "
                                     f"got {np.shape(value)}")
                target = module
                for key in path.split("."):
                    target = getattr(target, key)
                target.value = jnp.asarray(np.array(value, np.float32))

    def forward(self, built, x):
        call = self._call(built, "forward", lambda stack, x: stack(x))
        return np.asarray(call(built.stack, np.asarray(x)))

    def summary(self, built):
        import jax
        nnx = _nnx()
        spec = built.spec
        length = (spec.input_shape[0] if spec.input_shape
                  else spec.layers[0].get("input_length") if spec.layers else None)
        if length is None:
            raise Unsupported("Flax modules have no output shapes before data: the input length is not known")
        h = jax.ShapeDtypeStruct((2, length), np.int32)

        def run(stack, x):
            outs, h = [], x
            for i, layer in enumerate(spec.layers):
                if layer.kind == "flatten":
                    h = _flatten(h)
                elif layer.kind in RNN_KINDS and not layer.get("return_sequences"):
                    h = getattr(stack, f"l{i}")(h, return_carry=True)[0]
                    h = h[1] if layer.kind == "lstm" else h
                else:
                    h = getattr(stack, f"l{i}")(h)
                outs.append(h)
            return outs

        outs = nnx.eval_shape(run, built.stack, h)
        shapes = [(None,) + tuple(o.shape[1:]) for o in outs]
        trainable = nnx.state(built.stack, built.wrt)
        counts = {}
        for path, value in nnx.to_flat_state(trainable):
            counts[str(path[0])] = counts.get(str(path[0]), 0) + int(np.size(value.get_value()))
        rows = []
        for i, (layer, shape) in enumerate(zip(spec.layers, shapes)):
            total = sum(int(a.size) for a in self._params(built, i).values()) if layer.kind != "flatten" else 0
            train = counts.get(f"l{i}", 0)
            rows.append(LayerSummary(shape, train, total - train))
        return rows

    def mask(self, built, x):
        raise Unsupported(_NO_MASK)

    def _loss_fn(self, built):
        import jax.numpy as jnp
        import optax
        masked = mask_flow(built.spec)[1]

        def loss_fn(stack, x, y):
            pred = stack(x)
            per = optax.squared_error(pred, y)
            if masked and pred.ndim == 3 and x.ndim == 2:
                return jnp.mean(per.mean(-1), where=x != 0)
            return per.mean()
        return loss_fn

    def loss(self, built, x, y):
        if built.l2:
            raise Unsupported(_NO_REG_TERM)
        call = self._call(built, "loss", self._loss_fn(built))
        return float(call(built.stack, np.asarray(x), np.asarray(y, np.float32))), 0.0

    def _optimizer(self, built, lr):
        """One nnx.Optimizer per model and learning rate, made once (optax.sgd keeps no state)."""
        if lr not in built.optimizers:
            import jax
            import optax
            nnx = _nnx()
            tx = optax.sgd(lr)
            if built.l2:
                (i, factor), = built.l2.items()

                def only_embedding(params):
                    return jax.tree_util.tree_map_with_path(
                        lambda path, _: getattr(path[0], "key", None) == f"l{i}", params)
                tx = optax.chain(optax.add_decayed_weights(2.0 * factor, mask=only_embedding), tx)
            built.optimizers[lr] = nnx.Optimizer(built.stack, tx, wrt=built.wrt)
        return built.optimizers[lr]

    def train_step(self, built, x, y, lr):
        nnx = _nnx()
        optimizer = self._optimizer(built, lr)
        loss_fn = self._loss_fn(built)
        wrt = built.wrt

        def step(stack, optimizer, x, y):
            loss, grads = nnx.value_and_grad(loss_fn, argnums=nnx.DiffState(0, wrt))(stack, x, y)
            optimizer.update(stack, grads)
            return loss

        call = self._call(built, f"train_step@{lr}", step)
        return float(call(built.stack, optimizer, np.asarray(x), np.asarray(y, np.float32)))

    def construct(self, kwargs):
        nnx = _nnx()
        kwargs = dict(kwargs)
        if "input_length" in kwargs:
            raise Unsupported(_NO_INPUT_LENGTH)
        if kwargs.get("mask_zero"):
            raise Unsupported(_NO_MASK)
        if kwargs.get("embeddings_constraint"):
            raise Unsupported(_NO_CONSTRAINT)
        names = {"input_dim": "num_embeddings", "output_dim": "features"}
        mapped = {names.get(k, k): v for k, v in kwargs.items() if k not in ("mask_zero", "trainable")}
        init = mapped.pop("embeddings_initializer", None)
        if init is not None:
            if not isinstance(init, str) or init not in _INITIALIZERS:
                raise Unsupported(_no_initializer(init))
            mapped["embedding_init"] = getattr(nnx.initializers, _INITIALIZERS[init])
        try:
            # missing sizes stay missing: nnx.Embed's own signature rejects the call
            return nnx.Embed(rngs=self._stream(), **mapped)
        except TypeError as exc:  # raised at the call site, i.e. in this frame
            raise FrameworkRaised(exc) from exc

    def layer_config(self, layer):
        raise Unsupported(_NO_CONFIG)

    # document_call: the base class's Unsupported (the document's Keras calls have no Flax counterpart).

    # -- honesty ------------------------------------------------------------------------------
    def emulation(self, action, model, args, clause=None):
        if model is None:
            return {}
        found: dict[str, list[str]] = {}

        def add(fields, idiom):
            for f in fields:
                found.setdefault(f, []).append(idiom)

        lengths, masked_output = mask_flow(model)
        trained = {"loss": ("losses",), "train_step": ("loss", "after")}
        flatten = any(layer.kind == "flatten" for layer in model.layers)
        if flatten:
            add({"forward": ("outputs", "sequences"), "summary": ("output_shapes",),
                 "weights": ("output",), "pretrained": ("output",)}.get(action, trained.get(action, ())),
                EMULATIONS["flatten"])
        if lengths and action in ("forward", "loss", "train_step"):
            add(trained.get(action, ("outputs", "sequences")), EMULATIONS["lengths"])
        if masked_output and action in trained:
            add(trained[action], EMULATIONS["masked_mean"])
        if action == "train_step" and any(layer.get("embeddings_regularizer") for layer in model.layers):
            add(("after",), EMULATIONS["weight_decay"])
        if action == "weights":
            for i, layer in enumerate(model.layers):
                if layer.kind in RNN_KINDS:
                    add((f"weights[{i}]", f"shapes[{i}]", f"counts[{i}]"), EMULATIONS["layout"])
        if action == "summary" and any(layer.get("trainable") is False for layer in model.layers):
            add(("trainable", "non_trainable"), EMULATIONS["trainable"])
        return {f: " + ".join(idioms) for f, idioms in found.items()}
