"""The mapping shared by the Keras 3 adapters (keras3.py) and the legacy Keras 2 one (tf_keras.py).

Both APIs spell the document's code the same way (``Sequential``, ``layers.Embedding``,
``constraints.UnitNorm``, ``regularizers.l2``, ``optimizers.SGD``, ``utils.set_random_seed``), so
one class maps the clauses onto whichever module object :meth:`KerasAdapter.module` returns.
Subclasses supply that module, the tensor <-> NumPy conversions and the snippet preamble; they
import their framework lazily, inside methods.

The reference layout of backends/base.py *is* the Keras layout (``layer.get_weights()``), so
weights cross the boundary unchanged; only their shapes are verified.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from .base import INPUT_LENGTH_MODELS, Backend, FrameworkRaised, LayerSummary, Model

RNN_CLASSES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
EMBEDDING_KEYS = {"input_dim", "output_dim", "input_length", "mask_zero", "trainable",
                  "embeddings_initializer", "embeddings_constraint", "embeddings_regularizer",
                  "pretrained", "dtype"}
UNBUILT_PARAMS = "0 (unbuilt)"  # what model.summary() prints for a layer without weights
UNKNOWN_SHAPE = "?"             # what model.summary() prints for a layer never called


def _count(weights) -> int:
    return int(sum(math.prod(tuple(w.shape)) for w in weights))


class KerasAdapter(Backend):
    """Keras' own built-in features for every method of the adapter contract."""

    framework = "keras"
    snippet_module = "keras"   # what the snippet imports as ``keras``
    forward_call = "model({x}, training=False)"  # the inference call forward() makes, for snippets

    # -- what a subclass provides -----------------------------------------------------------
    def module(self):
        """The Keras module object (``keras`` or ``tf_keras``), imported on first use."""
        raise NotImplementedError

    def to_numpy(self, tensor) -> np.ndarray:
        raise NotImplementedError

    def to_tensor(self, array):
        raise NotImplementedError

    def snippet_preamble(self) -> list[str]:
        """Lines that select the framework before it is imported."""
        return []

    def snippet_numpy(self, expr: str) -> str:
        """Python code turning the tensor ``expr`` into a NumPy array."""
        return f"np.asarray({expr})"

    def snippet_tensor(self, expr: str) -> str:
        """Python code turning the NumPy array ``expr`` into a framework tensor."""
        return expr

    def takes_weights_argument(self) -> bool:
        """Whether this release's Embedding takes the document's ``weights=[matrix]``. Keras 3
        has it as an Embedding.__init__ parameter from 3.3.0 on; 3.0 to 3.2 refuse it ("Unrecognized
        keyword arguments passed to Embedding"). tf-keras takes it in every release (base Layer)."""
        return "weights" in inspect.signature(self.module().layers.Embedding.__init__).parameters

    # -- identity -----------------------------------------------------------------------------
    def seed(self, seed):
        self.module().utils.set_random_seed(seed)

    # -- models -------------------------------------------------------------------------------
    def build(self, model: Model, pretrained=None):
        keras = self.module()
        stack = [self._layer(keras, spec, pretrained) for spec in model.layers]
        if model.input_shape is not None:
            return keras.Sequential([keras.Input(shape=tuple(model.input_shape),
                                                 dtype=model.input_dtype), *stack])
        # No input shape: the document's ``m = Sequential(); m.add(Embedding(VOC_SIZE, VEC_DIM))``
        # with batch size and number of inputs left open. Keras builds such a Sequential on its
        # first call, from that input's shape; only the weights must exist now (they are set
        # right after), so each layer not built yet is built the way the Keras docs pre-build a
        # layer, ``layer.build(input_shape)``, from the document's (batch_size, inputs) with both
        # sizes unknown. Only the last (feature) axis decides a weight's shape. (tf-keras needs
        # none of this: its Embedding defaults to input_shape=(None,), so the Sequential is
        # built as the layers are added.)
        sequential = keras.Sequential(stack)
        shape = (None, None)
        for layer in sequential.layers:
            if not layer.built:
                layer.build(shape)
            shape = tuple(layer.compute_output_shape(shape))
        return sequential

    def _layer(self, keras, spec, pretrained):
        args = dict(spec.args)
        if spec.kind == "embedding":
            return self._embedding(keras, args, pretrained)
        if spec.kind == "flatten":
            return keras.layers.Flatten()
        if spec.kind == "dense":
            return keras.layers.Dense(**args)
        if spec.kind in RNN_CLASSES:
            return getattr(keras.layers, RNN_CLASSES[spec.kind])(**args)
        raise ValueError(f"unknown layer kind {spec.kind!r}")

    def _embedding(self, keras, args, pretrained):
        unknown = set(args) - EMBEDDING_KEYS
        if unknown:
            raise ValueError(f"embedding arguments not mapped to Keras: {sorted(unknown)}")
        args.pop("pretrained", None)
        kwargs = {k: args[k] for k in ("input_dim", "output_dim", "mask_zero", "trainable",
                                       "embeddings_initializer", "dtype") if k in args}
        initializer = kwargs.get("embeddings_initializer")
        if isinstance(initializer, dict):  # {random_uniform: {minval, maxval}}
            kwargs["embeddings_initializer"] = keras.initializers.RandomUniform(
                **initializer["random_uniform"])
        if args.get("input_length") is not None:
            kwargs["input_length"] = args["input_length"]  # as written: Keras decides
        constraint = args.get("embeddings_constraint")
        if constraint:
            kwargs["embeddings_constraint"] = keras.constraints.UnitNorm(
                **constraint["unit_norm"])
        regularizer = args.get("embeddings_regularizer")
        if regularizer:
            kwargs["embeddings_regularizer"] = keras.regularizers.l2(regularizer["l2"])
        if pretrained is not None:
            kwargs.update(self._pretrained_kwargs(keras, pretrained))
        return keras.layers.Embedding(**kwargs)

    def _pretrained_kwargs(self, keras, matrix) -> dict:
        """A pre-trained matrix given at construction, the way this release takes it; the
        observation's ``api`` says which. Only doc.weights-argument-frozen insists on the
        document's spelling (document_call)."""
        if self.takes_weights_argument():
            # The document's own spelling, ``weights=[embedding_matrix]``. Keras >= 3.3
            # (keras/src/layers/core/embedding.py: Embedding.__init__ builds the layer and calls
            # set_weights); tf-keras takes it through base Layer's ``weights`` kwarg and applies
            # it when the layer is built.
            self.note_api("pre-trained matrix via weights=[matrix]")
            return {"weights": [matrix]}
        # Keras 3.0 to 3.2: the way their users give a matrix, as the initializer of the
        # embeddings variable (Constant(value) computes cast(value) * ones(shape): exact).
        self.note_api("pre-trained matrix via embeddings_initializer=Constant(matrix): "
                      f"{self.framework} {self.version()} has no Embedding(weights=)")
        return {"embeddings_initializer": keras.initializers.Constant(matrix)}

    def get_weights(self, built):
        return [[np.asarray(w) for w in layer.get_weights()] for layer in built.layers]

    def freeze(self, built, index):
        built.layers[index].trainable = False  # no compile() after it: what users forget

    def set_weights(self, built, weights):
        layers = built.layers
        if len(weights) != len(layers):
            raise ValueError(f"{len(weights)} weight lists for {len(layers)} layers")
        for layer, given in zip(layers, weights):
            # the shapes of the layer's variables, whose values get_weights() would copy out
            held = [tuple(w.shape) for w in layer.weights]
            wanted = [tuple(np.shape(w)) for w in given]
            if held != wanted:
                raise ValueError(f"layer {layer.name}: reference-layout weights of shapes {wanted} "
                                 f"do not fit the Keras weights of shapes {held}")
            layer.set_weights([np.asarray(w) for w in given])

    def forward(self, built, x):
        return self.to_numpy(built(x, training=False))

    def predict(self, built, x):
        # the document's m.predict(x): Keras' compiled predict function, batch by batch
        return self.to_numpy(built.predict(x, verbose=0))

    def summary(self, built):
        # params: layer.count_params(), the "Param #" column summary() prints (Keras 3's
        # summary_utils and tf-keras' layer_utils both call it); the split into trainable and
        # non-trainable from the layer's own weight lists, which summary() reads too
        return [LayerSummary(tuple(layer.output.shape), _count(layer.trainable_weights),
                             _count(layer.non_trainable_weights), int(layer.count_params()))
                for layer in built.layers]

    def mask(self, built, x):
        mask = built.layers[0].compute_mask(x)
        return None if mask is None else self.to_numpy(mask)

    def loss(self, built, x, y):
        # The loss of a training step, computed as Keras' own train_step does it: a forward
        # call with training=True, then Model.compute_loss(x, y, y_pred), which applies the
        # compiled "mse" with the mask Keras attached to y_pred and adds model.losses (the
        # regularizers). test_on_batch/evaluate would add a metrics tracker around the same
        # call. Where compiled_loss says so, the same train step runs compiled: train_on_batch
        # with plain SGD at a learning rate of 0, a step that leaves every weight as it was.
        if self.compiled_loss(built, x):
            regularization = sum(float(self.to_numpy(term)) for term in built.losses)
            self._compiled(built, 0.0)
            return float(np.asarray(built.train_on_batch(x, y))), regularization
        self._compiled(built, None)
        y_pred = built(x, training=True)
        total = built.compute_loss(x=x, y=self.to_tensor(y), y_pred=y_pred)
        regularization = sum(float(self.to_numpy(term)) for term in built.losses)
        return float(self.to_numpy(total)), regularization

    def compiled_loss(self, built, x) -> bool:
        """Whether loss() reads the loss from the compiled train step (see KerasJax)."""
        return False

    def train_step(self, built, x, y, lr):
        self._compiled(built, lr)
        return float(np.asarray(built.train_on_batch(x, y)))

    def _compiled(self, built, lr):
        """Compile ``built`` with plain SGD on "mse" once; later steps only set the learning rate.

        The same model serves every drawn example of a shape (conformance/running/actions.py): compiling
        again would throw away the compiled train function (a retrace, up to 0.4 s on JAX), while
        SGD without momentum keeps no state between steps, so a step is the same either way."""
        if getattr(built, "_conformance_compiled", False):
            if lr is not None:
                built.optimizer.learning_rate = lr
            return
        keras = self.module()
        optimizer = keras.optimizers.SGD() if lr is None else keras.optimizers.SGD(learning_rate=lr)
        built.compile(optimizer=optimizer, loss="mse")
        built._conformance_compiled = True

    def construct(self, kwargs):
        embedding = self.module().layers.Embedding
        try:
            return embedding(**kwargs)
        except TypeError as exc:
            if exc.__traceback__.tb_next is None:
                # Python rejected the arguments against Embedding's own signature (e.g. a
                # missing required argument): the framework's answer, raised in this frame.
                raise FrameworkRaised(exc) from exc
            raise

    def layer_config(self, layer):
        """``layer.get_config()``'s initializer: its class name and arguments, as Keras gives them."""
        init = layer.get_config()["embeddings_initializer"]
        if isinstance(init, str):  # a bare name, if a Keras ever serialises it so
            return {"embeddings_initializer": {"class_name": init}}
        return {"embeddings_initializer": {"class_name": init.get("class_name"),
                                           **(init.get("config") or {})}}

    # -- the document's own code ----------------------------------------------------------------
    def document_call(self, name, **args):
        keras = self.module()
        if name == "flatten_ones":
            try:
                ones = keras.backend.ones  # the document's keras.backend.ones
            except AttributeError as exc:
                raise FrameworkRaised(exc) from exc
            return {"shape": list(keras.layers.Flatten()(ones(tuple(args["shape"]))).shape)}
        if name == "weights_argument":
            m = keras.Sequential()
            m.add(keras.layers.Embedding(args["voc_size"], args["vec_dim"],
                                         weights=[args["matrix"]], trainable=False))
            layer = m.layers[0]
            held = layer.get_weights()
            return {"weights": held[0] if held else np.asarray(held),
                    "trainable": _count(layer.trainable_weights),
                    "non_trainable": _count(layer.non_trainable_weights)}
        if name in INPUT_LENGTH_MODELS:
            m = keras.Sequential()
            m.add(keras.layers.Embedding(args["voc_size"], args["vec_dim"],
                                         input_length=args["inputs"]))
            for spec in INPUT_LENGTH_MODELS[name]:
                m.add(self._layer(keras, spec, None))
            # what m.summary() shows, before any call
            return {"output_shapes": [_summary_shape(layer) for layer in m.layers],
                    "params": [layer.count_params() if layer.built else UNBUILT_PARAMS
                               for layer in m.layers],
                    "trainable": [_count(layer.trainable_weights) if layer.built else UNBUILT_PARAMS
                                  for layer in m.layers],
                    "non_trainable": [_count(layer.non_trainable_weights) if layer.built
                                      else UNBUILT_PARAMS for layer in m.layers]}
        if name in ("predict_list", "predict_array", "get_weights"):
            m = keras.Sequential()
            m.add(keras.layers.Embedding(args["voc_size"], args["vec_dim"]))
            layer = m.layers[0]
            if not layer.built:
                # Keras 3 builds the layer on the first predict (tf-keras when it is added);
                # the reference matrix is set before that, so build it first (a Keras 3
                # Embedding needs no input shape to build).
                layer.build()
            layer.set_weights([args["matrix"]])
            if name == "get_weights":
                return {"weights": layer.get_weights()}
            data = args["data"] if name == "predict_list" else np.array(args["data"])
            return {"output": np.asarray(m.predict(data))}
        raise ValueError(f"unknown document call {name!r}")

    # -- reporting ----------------------------------------------------------------------------
    def snippet(self, model, action, args):
        alias = "" if self.snippet_module == "keras" else " as keras"
        lines = [*self.snippet_preamble(), "import numpy as np",
                 f"import {self.snippet_module}{alias}", ""]
        if action in ("construct", "document"):
            return "\n".join(lines + _DOCUMENT_SNIPPETS[action](args, self))
        if model is None or action not in _ACTION_SNIPPETS:  # e.g. export_defaults: not this adapter's
            return None
        if action == "pretrained" or any(layer.get("pretrained") for layer in model.layers):
            emb = next(layer for layer in model.layers if layer.kind == "embedding")
            rows, columns = args.get("matrix_shape") or (emb.args["input_dim"], emb.args["output_dim"])
            lines.append(f"matrix = np.random.uniform(-0.05, 0.05, ({rows}, {columns}))"
                         f".astype('{args.get('matrix_dtype', 'float32')}')")
        if action == "fresh_weights":  # the seed comes before the layers are created
            lines.append(f"keras.utils.set_random_seed({args.get('seed', 0)})")
        if action == "forward" and args.get("separately"):  # a fresh model for each input
            for x in args["inputs"]:
                lines += _model_code(model, self) + _forward_snippet({"inputs": [x]}, self)
            return "\n".join(lines)
        lines += _model_code(model, self)
        if model.input_shape is None and action in ("fresh_weights", "weights", "pretrained"):
            lines.append("model.build((None, None))  # no Input: create the weights now")
        lines += _ACTION_SNIPPETS[action](args, self)
        return "\n".join(lines)


def _summary_shape(layer):
    """A layer's output shape as model.summary() prints it: '?' if it was never called."""
    try:
        return list(layer.output.shape)
    except (AttributeError, ValueError, RuntimeError):
        return UNKNOWN_SHAPE


# -- snippets -------------------------------------------------------------------------------------
def _literal(array) -> str:
    array = np.asarray(array)
    dtype = "" if np.issubdtype(array.dtype, np.integer) else f", dtype='{array.dtype}'"
    return f"np.array({array.tolist()!r}{dtype})"


def _layer_code(layer, ad) -> str:
    a = layer.args
    if layer.kind == "embedding":
        parts = [str(a["input_dim"]), str(a["output_dim"])]
        for key in ("input_length", "mask_zero", "trainable", "embeddings_initializer", "dtype"):
            if key in a and isinstance(a[key], dict):  # {random_uniform: {minval, maxval}}
                bounds = ", ".join(f"{k}={v!r}" for k, v in a[key]["random_uniform"].items())
                parts.append(f"{key}=keras.initializers.RandomUniform({bounds})")
            elif key in a:
                parts.append(f"{key}={a[key]!r}")
        if a.get("embeddings_constraint"):
            axis = a["embeddings_constraint"]["unit_norm"].get("axis", 1)
            parts.append(f"embeddings_constraint=keras.constraints.UnitNorm(axis={axis})")
        if a.get("embeddings_regularizer"):
            parts.append(f"embeddings_regularizer=keras.regularizers.l2({a['embeddings_regularizer']['l2']})")
        if a.get("pretrained"):
            parts.append("weights=[matrix]" if ad.takes_weights_argument()
                         else "embeddings_initializer=keras.initializers.Constant(matrix)")
        return f"keras.layers.Embedding({', '.join(parts)})"
    if layer.kind == "flatten":
        return "keras.layers.Flatten()"
    name = "Dense" if layer.kind == "dense" else RNN_CLASSES[layer.kind]
    return f"keras.layers.{name}({', '.join(f'{k}={v!r}' for k, v in a.items())})"


def _model_code(model, ad) -> list[str]:
    lines = ["model = keras.Sequential(["]
    if model.input_shape is not None:
        lines.append(f"    keras.Input(shape={tuple(model.input_shape)!r}, "
                     f"dtype={model.input_dtype!r}),")
    lines += [f"    {_layer_code(layer, ad)}," for layer in model.layers]
    return lines + ["])"]


def _forward_snippet(args, ad):
    lines = []
    for x in args["inputs"]:
        if args.get("predict"):
            lines.append(f"print(model.predict({_literal(x)}, verbose=0))")
        else:
            lines.append(f"print({ad.snippet_numpy(ad.forward_call.format(x=_literal(x)))})")
    return lines


def _training_data(args) -> list[str]:
    return [f"x = {_literal(args['x'])}"]


def _train_snippet(args, ad):
    return _training_data(args) + [
        f"y = {_literal(args['y'])}",
        f"model.compile(optimizer=keras.optimizers.SGD(learning_rate={args['lr']}), loss='mse')",
        *(["model.train_on_batch(x, y)  # a first step (it compiles the train function)",
           "model.layers[0].trainable = False  # and no compile() after it"]
          if args.get("freeze_between_steps") else []),
        "before = [layer.get_weights() for layer in model.layers]",
        "print('loss', model.train_on_batch(x, y))",
        "print('before', before)",
        "print('after', [layer.get_weights() for layer in model.layers])",
    ]


def _loss_snippet(args, ad):
    if ad.forward_call.startswith("model.predict_on_batch"):  # the compiled calls (KerasJax)
        lines = _training_data(args) + [
            "model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss='mse')  # steps change nothing",
            f"print('regularization', [{ad.snippet_numpy('t')} for t in model.losses])"]
        return lines + [f"print('loss', model.train_on_batch(x, {_literal(y)}))" for y in args["targets"]]
    lines = _training_data(args) + ["model.compile(optimizer=keras.optimizers.SGD(), loss='mse')",
                                    "y_pred = model(x, training=True)"]
    for y in args["targets"]:
        target = ad.snippet_tensor(_literal(y))
        lines.append(f"print('loss', {ad.snippet_numpy(f'model.compute_loss(x=x, y={target}, y_pred=y_pred)')})")
    return lines + [f"print('regularization', [{ad.snippet_numpy('t')} for t in model.losses])"]


def _weights_snippet(args, ad):
    call = [f"model({_literal(args['x'])}, training=False)"] if "x" in args else []
    return call + ["print([layer.get_weights() for layer in model.layers])"]


def _fresh_snippet(args, ad):
    return ["print(model.layers[0].get_weights()[0])"]


_ACTION_SNIPPETS = {
    "forward": _forward_snippet,
    "summary": lambda args, ad: ["model.summary()"],
    "weights": _weights_snippet,
    "fresh_weights": _fresh_snippet,
    "train_step": _train_snippet,
    "loss": _loss_snippet,
    "mask": lambda args, ad: [
        "print(" + ad.snippet_numpy(f"model.layers[0].compute_mask({_literal(args['x'])})") + ")"],
    "pretrained": lambda args, ad: [
        "print(np.array_equal(model.layers[0].get_weights()[0], matrix))"],
}


def _short(matrix) -> str:
    """A float32 matrix as a literal that rounds back to the same float32 values."""
    return repr([[float(f"{v:.8g}") for v in row] for row in np.asarray(matrix, np.float32).tolist()])


def _document_snippet(args, ad):
    name = args["name"]
    if name == "flatten_ones":
        return [f"t = keras.backend.ones({tuple(args['shape'])!r})",
                "print(keras.layers.Flatten()(t).shape)"]
    voc, dim = args.get("voc_size"), args.get("vec_dim")
    if name == "weights_argument":
        return [f"embedding_matrix = np.random.uniform(-0.05, 0.05, ({voc}, {dim})).astype('float32')",
                "m = keras.Sequential()",
                f"m.add(keras.layers.Embedding({voc}, {dim}, weights=[embedding_matrix], "
                "trainable=False))",
                "print(m.layers[0].get_weights(), m.layers[0].trainable_weights, "
                "m.layers[0].non_trainable_weights)"]
    if name in INPUT_LENGTH_MODELS:
        return (["m = keras.Sequential()",
                 f"m.add(keras.layers.Embedding({voc}, {dim}, input_length={args['inputs']}))"]
                + [f"m.add({_layer_code(layer, ad)})" for layer in INPUT_LENGTH_MODELS[name]]
                + ["m.summary()"])
    lines = ["m = keras.Sequential()", f"m.add(keras.layers.Embedding({voc}, {dim}))"]
    if "matrix" in args:
        lines += ["if not m.layers[0].built:  # Keras 3 builds it on the first call, tf-keras when added",
                  "    m.layers[0].build()",
                  f"m.layers[0].set_weights([np.array({_short(args['matrix'])}, dtype='float32')])"]
    if name == "get_weights":
        return lines + ["print(m.layers[0].get_weights())"]
    data = repr(args["data"]) if name == "predict_list" else f"np.array({args['data']!r})"
    return lines + [f"print(m.predict({data}))"]


_DOCUMENT_SNIPPETS = {
    "document": _document_snippet,
    "construct": lambda args, ad: [
        f"layer = keras.layers.Embedding(**{args['kwargs']!r})", "print(layer.get_config())"],
}
