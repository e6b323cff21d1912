"""PyTorch adapter: each clause mapped the way an experienced PyTorch user writes it with
PyTorch's own built-in modules. Nothing here corrects PyTorch; every difference from the
document is reported (and, once understood, registered in specs/divergences/torch.yaml).

The mapping, layer by layer (see also the comments at each site):

* Embedding -> ``nn.Embedding(input_dim, output_dim)``, default init N(0, 1) (PyTorch's own).
  ``mask_zero=True`` -> ``padding_idx=0`` (the nearest built-in: it only pins row 0's gradient to
  zero; the mask itself is computed by the user as ``x != 0``). ``UnitNorm(axis=1)`` ->
  ``max_norm=1.0`` (renormalises, during forward, only the looked-up rows whose norm exceeds 1).
  Pre-trained -> ``nn.Embedding.from_pretrained(torch.from_numpy(m), freeze=not trainable)``.
  ``trainable=False`` otherwise -> ``weight.requires_grad_(False)``. An explicit
  ``embeddings_initializer`` -> the matching ``nn.init`` function on the weight (``ones_``,
  ``zeros_``, ``uniform_(-0.05, 0.05)``), as a user re-initialises a module. ``l2(f)`` -> SGD
  ``weight_decay=2*f`` on the embedding's parameter group (PyTorch has no loss term).
* Flatten -> ``nn.Flatten()`` (start_dim=1). Dense -> ``nn.Linear(in_features, units)``
  (``nn.LazyLinear`` when the input size is not known).
* SimpleRNN / LSTM / GRU -> ``nn.RNN`` (tanh) / ``nn.LSTM`` / ``nn.GRU`` with
  ``batch_first=True``; return_sequences=False -> ``h_n[-1]``. Behind a ``mask_zero`` embedding:
  ``pack_padded_sequence`` with ``lengths = (x != 0).sum(1)`` and ``pad_packed_sequence``.
* Weights cross the boundary through backends/layouts.py.

Where PyTorch has no built-in and this adapter computes the value a clause tests by hand (the
masked mean loss, the mask as lengths for packing, Keras' l2 as ``weight_decay = 2*l2``, an
``embeddings_initializer`` applied with ``nn.init`` after construction, the Keras weight layout
of ``nn.Linear`` and the RNNs), :meth:`Torch.emulation` says so, and a conforming result is
reported as ``emulated``, not as PyTorch's conformance. Sizes PyTorch requires as arguments
(``in_features``, ``input_size``) are passed as its users write them; parameter counts and output
shapes read from the modules are PyTorch's own (the shapes come from a batch of two through forward
hooks, and the batch axis is reported as None because PyTorch's modules take any batch size).
Converting weights to compare values after a training step is porting, not emulation; only a
clause about the layout itself (the ``weights`` action) is emulated by it.
"""
from __future__ import annotations

import numpy as np

from . import layouts
from .base import (
    RNN_KINDS,
    Backend,
    Declaration,
    FrameworkRaised,
    LayerSummary,
    Model,
    Release,
    Unsupported,
    features_after,
    mask_flow,
)

_NO_MASK = ("nn.Embedding produces no mask; padding_idx only fixes row padding_idx at zero "
            "gradient; users compute x != 0 themselves")
_NO_REG_TERM = ("PyTorch adds no regularization term to the loss; L2 is weight_decay in the "
                "optimizer")
_NO_PREDICT = ("an nn.Module has no predict(): inference is the module call under torch.no_grad(), "
               "which is the forward path the other clauses already judge")
_NO_INPUT_LENGTH = "nn.Embedding has no input_length; sequence length is never declared"
_NO_CONFIG = ("nn.Embedding keeps no initializer setting: reset_parameters always draws N(0, 1) "
              "(init.normal_); there is no config to read")
# embeddings_initializer -> the nn.init call a user writes on the new module's weight
_INIT_CALLS = {"ones": "nn.init.ones_({w})", "zeros": "nn.init.zeros_({w})",
               "uniform": "nn.init.uniform_({w}, -0.05, 0.05)",
               "random_uniform": "nn.init.uniform_({w}, {minval!r}, {maxval!r})"}


def _init_call(initializer, w: str) -> str:
    """The nn.init call for an embeddings_initializer (a name, or {random_uniform: {minval, maxval}})."""
    if isinstance(initializer, dict):
        (name, args), = initializer.items()
        return _INIT_CALLS[name].format(w=w, **args)
    return _INIT_CALLS[initializer].format(w=w)

# What the adapter computes by hand (Torch.emulation): the idiom, as a user writes it.
EMULATIONS = {
    "masked_mean": "the masked mean loss written by hand, m = (x != 0).float(); "
                   "loss = (((pred - y) ** 2).mean(-1) * m).sum() / m.sum() (PyTorch's losses take no mask)",
    "packing": "the mask computed by hand from the indices, lengths = (x != 0).sum(1), then "
               "pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False) and "
               "pad_packed_sequence (PyTorch's RNNs take no mask)",
    "weight_decay": "Keras l2(f) translated by hand into torch.optim.SGD weight_decay=2*f on the "
                    "embedding's parameter group (PyTorch adds no regularization term to the loss)",
    "layout": "converted by hand from PyTorch's layout (backends/layouts.py): nn.Linear's weight (out, in) "
              "transposed to (in, out); RNN weights transposed, gates reordered, bias_ih + bias_hh summed",
    "no_reg_term": "no regularization term: PyTorch's losses have none (L2 is the optimizer's weight_decay), "
                   "so the part of the loss that is regularization is 0 by construction, not read from PyTorch",
    "initializer": "nn.Embedding takes no initializer: the weight re-initialised by hand after construction, "
                   "{call}",
}

_CLASSES: dict = {}


def _classes():
    """The nn.Module classes of the stack, defined on first use (torch is imported lazily)."""
    if _CLASSES:
        return _CLASSES
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class RecurrentLayer(nn.Module):
        """``nn.RNN``/``nn.LSTM``/``nn.GRU`` plus what a PyTorch user writes around it: picking
        the output (whole sequence, or the final hidden state ``h_n[-1]``), and for masked input
        the pack/pad idiom. Packing keeps, per sample, the first ``lengths[b]`` steps: it
        assumes the zeros are padding at the end (it does not skip interior zeros), and
        ``pad_packed_sequence`` fills the steps after the length with zeros."""

        def __init__(self, kind, input_size, units, return_sequences):
            super().__init__()
            cls = {"simple_rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
            kwargs = {"nonlinearity": "tanh"} if kind == "simple_rnn" else {}
            self.kind, self.return_sequences = kind, return_sequences
            self.rnn = cls(input_size, units, batch_first=True, **kwargs)

        def forward(self, seq, lengths=None):
            if lengths is not None:
                packed = pack_padded_sequence(seq, lengths, batch_first=True, enforce_sorted=False)
                out, state = self.rnn(packed)
                if self.return_sequences:
                    out, _ = pad_packed_sequence(out, batch_first=True, total_length=seq.shape[1])
            else:
                out, state = self.rnn(seq)
            if self.return_sequences:
                return out
            h_n = state[0] if self.kind == "lstm" else state  # LSTM returns (h_n, c_n)
            return h_n[-1]

    class Stack(nn.Module):
        """The Sequential stack. A masking embedding makes the user compute ``x != 0``: the
        lengths for packing the recurrent layers that follow (until a Flatten or an RNN that
        returns only its final state ends the sequence)."""

        def __init__(self, spec, layers):
            super().__init__()
            self.spec = spec
            self.layers = nn.ModuleList(layers)

        def forward(self, x):
            h, masked = x, False
            for layer, module in zip(self.spec.layers, self.layers):
                if layer.kind == "embedding":
                    h, masked = module(h), bool(layer.get("mask_zero"))
                elif layer.kind in RNN_KINDS:
                    lengths = (x != 0).sum(1) if masked else None
                    h = module(h, lengths)
                    masked = masked and bool(layer.get("return_sequences"))
                else:
                    h = module(h)
                    masked = masked and layer.kind != "flatten"
            return h

    _CLASSES.update(torch=torch, nn=nn, RecurrentLayer=RecurrentLayer, Stack=Stack)
    return _CLASSES


class Built:
    """A built stack: the nn.Module and, per layer, the module that owns the layer's parameters
    (the RNN itself for recurrent layers), with the L2 factors of the embedding regularizers."""

    def __init__(self, spec: Model, stack, owners, l2):
        self.spec, self.stack, self.owners, self.l2 = spec, stack, owners, l2


def _embedding_kwargs(args: dict) -> dict:
    """Keras embedding options -> nn.Embedding keyword arguments (see the module docstring)."""
    kwargs = {}
    if args.get("mask_zero"):
        # mask_zero=True -> padding_idx=0: PyTorch's only index-0 feature. It fixes row 0's
        # gradient at zero (and zeroes row 0 at init); it produces no mask.
        kwargs["padding_idx"] = 0
    constraint = args.get("embeddings_constraint")
    if constraint:
        unit = constraint.get("unit_norm")
        if unit is None or unit.get("axis", 1) != 1:
            raise Unsupported(f"nn.Embedding has no counterpart for the constraint {constraint}")
        # UnitNorm(axis=1) -> max_norm=1.0, the nearest built-in: renormalises, during forward,
        # the looked-up rows whose norm exceeds 1; rows not looked up or shorter are left alone.
        kwargs["max_norm"] = 1.0
    return kwargs


def _np(t) -> np.ndarray:
    """A NumPy copy of a tensor (never a view: the caller may modify what it gets)."""
    return t.detach().cpu().numpy().copy()


class Torch(Backend):
    declaration = Declaration(
        name="torch", framework="torch", display="PyTorch",
        summary="mapped the way an experienced PyTorch user writes each clause",
        order=50, seconds_per_item=0.071, requires=("torch",),
        pins=("torch==2.13.0",), pinned_release="2.13",
        releases=(Release("2.0", "oldest", ("torch==2.0.1", "numpy<2")),
                  Release("2.4", "middle", ("torch==2.4.1",))))
    # Every torch release on the registry but the pinned one is a CUDA build of several GB.

    def version(self):
        import torch
        return str(torch.__version__)  # a plain str: TorchVersion would import torch where unpickled

    def describe(self):
        import torch
        return f"PyTorch {torch.__version__} (nn.Embedding, nn.Linear, nn.RNN/LSTM/GRU)"

    def seed(self, seed):
        import torch
        torch.manual_seed(seed)  # the global generator nn.Module initializers draw from

    # -- models -------------------------------------------------------------------------------
    def build(self, model: Model, pretrained=None):
        c = _classes()
        torch, nn = c["torch"], c["nn"]
        modules, owners, l2 = [], [], {}
        features = None
        length = model.input_shape[0] if model.input_shape else None
        for i, layer in enumerate(model.layers):
            kind = layer.kind
            if kind == "embedding":
                kwargs = _embedding_kwargs(layer.args)
                trainable = layer.get("trainable", True) is not False
                if pretrained is not None:
                    # The common idiom; from_numpy shares memory with the caller's array and
                    # from_pretrained wraps that tensor in the Parameter without copying.
                    module = nn.Embedding.from_pretrained(
                        torch.from_numpy(pretrained), freeze=not trainable, **kwargs)
                else:
                    # input_length has no counterpart and is not needed: the length comes with
                    # each input (it only helps size a Linear after Flatten, as the user would).
                    module = nn.Embedding(layer.args["input_dim"], layer.args["output_dim"],
                                          **kwargs)
                    initializer = layer.get("embeddings_initializer")
                    if isinstance(initializer, dict):  # {random_uniform: {minval, maxval}}
                        bounds = initializer["random_uniform"]
                        nn.init.uniform_(module.weight, bounds["minval"], bounds["maxval"])
                    elif initializer is not None:
                        # nn.Embedding takes no initializer: users re-initialise the weight
                        getattr(nn.init, {"ones": "ones_", "zeros": "zeros_",
                                          "uniform": "uniform_"}[initializer])(
                            module.weight, *((-0.05, 0.05) if initializer == "uniform" else ()))
                    if not trainable:
                        module.weight.requires_grad_(False)
                reg = layer.get("embeddings_regularizer")
                if reg:
                    # l2(f): PyTorch has no loss term; train_step uses weight_decay = 2*f.
                    l2[i] = float(reg["l2"])
                owner = module
            elif kind == "flatten":
                module = owner = nn.Flatten()  # start_dim=1: the batch axis is kept
            elif kind == "dense":
                units = layer.args["units"]
                # nn.Linear acts on the last axis whatever the rank, like Keras Dense.
                module = owner = (nn.Linear(features, units) if features
                                  else nn.LazyLinear(units))
            elif kind in RNN_KINDS:
                module = c["RecurrentLayer"](kind, features, layer.args["units"],
                                             bool(layer.get("return_sequences")))
                owner = module.rnn
            else:
                raise Unsupported(f"no mapping for layer kind {kind!r}")
            if kind != "embedding" and layer.get("trainable") is False:
                for p in module.parameters():
                    p.requires_grad_(False)
            modules.append(module)
            owners.append(owner)
            features, length = features_after(layer, features, length)
        return Built(model, c["Stack"](model, modules), owners, l2)

    def get_weights(self, built):
        return [layouts.from_torch(layer.kind, {k: _np(v) for k, v in owner.state_dict().items()})
                for layer, owner in zip(built.spec.layers, built.owners)]

    def set_weights(self, built, weights):
        torch = _classes()["torch"]
        for layer, owner, ws in zip(built.spec.layers, built.owners, weights):
            params = layouts.to_torch(layer.kind, ws)
            # load_state_dict copies into the existing parameters (the PyTorch way to port).
            owner.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                                   for k, v in params.items()})

    def forward(self, built, x):
        torch = _classes()["torch"]
        built.stack.eval()
        # A Keras dtype policy mixed_float16 -> torch.autocast(float16), PyTorch's own mixed precision
        mixed = any(layer.get("dtype") == "mixed_float16" for layer in built.spec.layers)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16, enabled=mixed):
            # The input as given: float indices are not cast, nn.Embedding decides.
            out = built.stack(torch.as_tensor(x))
        return out.numpy()

    def summary(self, built):
        torch = _classes()["torch"]
        spec = built.spec
        if not spec.input_shape:
            raise Unsupported("a PyTorch module has no static shapes; output shapes need an "
                              "input size to run a batch through")
        first = spec.layers[0]
        index = min(1, first.args["input_dim"] - 1)  # valid, and not masked if possible
        dummy = torch.full((2,) + tuple(spec.input_shape), index, dtype=torch.long)
        shapes = []
        hooks = [m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
                 for m in built.stack.layers]
        try:
            built.stack.eval()
            with torch.no_grad():
                built.stack(dummy)
        finally:
            for h in hooks:
                h.remove()
        rows = []
        for shape, module in zip(shapes, built.stack.layers):
            params = list(module.parameters())
            trainable = sum(p.numel() for p in params if p.requires_grad)
            frozen = sum(p.numel() for p in params if not p.requires_grad)
            # params: every parameter the module holds, PyTorch's own enumeration (parameters())
            rows.append(LayerSummary((None,) + shape[1:], int(trainable), int(frozen),
                                     int(sum(p.numel() for p in params))))
        return rows

    def mask(self, built, x):
        raise Unsupported(_NO_MASK)

    def predict(self, built, x):
        raise Unsupported(_NO_PREDICT)

    def _loss(self, built, x, y):
        """MSE as a PyTorch user writes it: F.mse_loss; behind a mask_zero embedding, with a
        per-step output, the masked mean of ((pred - y)**2).mean(-1) weighted by x != 0."""
        c = _classes()
        torch, F = c["torch"], c["nn"].functional
        x = torch.as_tensor(x)
        pred = built.stack(x)
        y = torch.as_tensor(y)
        if mask_flow(built.spec)[1] and pred.dim() == 3 and x.dim() == 2 and pred.shape[:2] == x.shape:
            weight = (x != 0).to(pred.dtype)
            per_step = ((pred - y) ** 2).mean(-1)
            return (per_step * weight).sum() / weight.sum()
        return F.mse_loss(pred, y)

    def loss(self, built, x, y):
        if built.l2:
            raise Unsupported(_NO_REG_TERM)
        torch = _classes()["torch"]
        built.stack.train()
        with torch.no_grad():
            total = self._loss(built, x, y)
        return float(total), 0.0

    def freeze(self, built, index):
        for p in built.owners[index].parameters():
            p.requires_grad_(False)

    def train_step(self, built, x, y, lr):
        torch = _classes()["torch"]
        groups = []
        for i, owner in enumerate(built.owners):
            params = [p for p in owner.parameters() if p.requires_grad]
            if not params:
                continue
            # Keras l2(f) adds f*sum(w**2) to the loss: gradient 2*f*w. SGD's weight_decay=wd
            # adds wd*w to the gradient, so wd = 2*f gives the same update. Per parameter group,
            # so only the regularized embedding decays (like embeddings_regularizer).
            groups.append({"params": params, "weight_decay": 2.0 * built.l2[i]} if i in built.l2
                          else {"params": params})
        opt = torch.optim.SGD(groups, lr=lr)
        built.stack.train()
        opt.zero_grad()
        loss = self._loss(built, x, y)  # the data loss only: PyTorch has no regularization term
        loss.backward()
        opt.step()
        return float(loss.detach())

    def construct(self, kwargs):
        nn = _classes()["nn"]
        kwargs = dict(kwargs)
        if "input_length" in kwargs:
            raise Unsupported(_NO_INPUT_LENGTH)
        names = {"input_dim": "num_embeddings", "output_dim": "embedding_dim"}
        if "embeddings_initializer" in kwargs:
            raise Unsupported("nn.Embedding takes no initializer argument (users call nn.init on "
                              "the weight after construction)")
        mapped = {names.get(k, k): v for k, v in kwargs.items()
                  if k not in ("mask_zero", "embeddings_constraint", "trainable")}
        mapped.update(_embedding_kwargs(kwargs))
        try:
            # Missing sizes stay missing: nn.Embedding's own signature rejects the call.
            layer = nn.Embedding(**mapped)
        except TypeError as exc:  # raised at the call site, i.e. in this frame
            raise FrameworkRaised(exc) from exc
        if kwargs.get("trainable") is False:
            layer.weight.requires_grad_(False)
        return layer

    def layer_config(self, layer):
        raise Unsupported(_NO_CONFIG)

    def emulation(self, action, model, args):
        if model is None:
            return {}
        found: dict[str, list[str]] = {}

        def add(fields, idiom):
            for f in fields:
                found.setdefault(f, []).append(idiom)

        packed, masked_output = mask_flow(model)
        trained = {"loss": ("losses",), "train_step": ("loss", "after")}
        if packed and action in ("forward", "loss", "train_step"):
            add(trained.get(action, ("outputs", "sequences")), EMULATIONS["packing"])
        if masked_output and action in trained:
            add(trained[action], EMULATIONS["masked_mean"])
        if action == "loss":
            add(("regularization",), EMULATIONS["no_reg_term"])
        if action == "train_step" and any(layer.get("embeddings_regularizer") for layer in model.layers):
            add(("after",), EMULATIONS["weight_decay"])
        if action == "weights":
            for i, layer in enumerate(model.layers):
                if layer.kind == "dense" or layer.kind in RNN_KINDS:
                    add((f"weights[{i}]", f"shapes[{i}]", f"counts[{i}]"), EMULATIONS["layout"])
        first = model.layers[0]
        if action == "fresh_weights" and first.kind == "embedding" and first.get("embeddings_initializer"):
            call = _init_call(first.get("embeddings_initializer"), "layer.weight")
            add(("matrices",), EMULATIONS["initializer"].format(call=call))
        return {f: " + ".join(idioms) for f, idioms in found.items()}

    # document_call: the base class's Unsupported (the document's Keras calls, m.predict on a
    # Python list, get_weights(), weights=[...], have no PyTorch counterpart).

    # -- reporting ----------------------------------------------------------------------------
    def snippet(self, model, action, args):
        return _Snippet(model, action, args).render()


# -- reproduction snippets (PyTorch and NumPy only) --------------------------------------------
def _literal(a) -> str:
    a = np.asarray(a)
    dtype = {"int32": "torch.int32", "int64": "torch.int64", "float32": "torch.float32",
             "float64": "torch.float64"}.get(str(a.dtype), "None")
    return f"torch.tensor({a.tolist()!r}, dtype={dtype}).reshape({tuple(a.shape)!r})"


class _Snippet:
    def __init__(self, model, action, args):
        self.model, self.action, self.args = model, action, args

    def render(self):
        action = self.action
        if action in ("document", "mask"):
            return None
        if action == "construct":
            return self._construct()
        if action == "fresh_weights":
            return self._fresh()
        if not hasattr(self, "_" + action):  # an action PyTorch has no mapping for: export_defaults
            return None
        lines = ["import numpy as np", "import torch", "from torch import nn",
                 "from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence", "",
                 "torch.manual_seed(0)"]
        pretrained = action == "pretrained" or any(layer.get("pretrained") for layer in self.model.layers)
        if pretrained:
            emb = self.model.layers[0].args
            rows, columns = self.args.get("matrix_shape") or (emb["input_dim"], emb["output_dim"])
            lines.append(f"matrix = np.random.default_rng(0).uniform(-0.05, 0.05, ({rows}, {columns}))"
                         f".astype(np.{self.args.get('matrix_dtype', 'float32')})")
        lines += self._build(pretrained=pretrained)
        lines += self._run()
        lines += getattr(self, "_" + action)()
        return "\n".join(lines)

    # building --------------------------------------------------------------------------------
    def _build(self, pretrained):
        lines, l2 = [], {}
        features = None
        length = self.model.input_shape[0] if self.model.input_shape else None
        for i, layer in enumerate(self.model.layers):
            a, kind = layer.args, layer.kind
            if kind == "embedding":
                extra = "".join(f", {k}={v!r}" for k, v in _embedding_kwargs(a).items())
                frozen = a.get("trainable", True) is False
                if pretrained:
                    lines.append(f"l{i} = nn.Embedding.from_pretrained(torch.from_numpy(matrix), "
                                 f"freeze={frozen}{extra})")
                else:
                    lines.append(f"l{i} = nn.Embedding({a['input_dim']}, {a['output_dim']}{extra})")
                    if a.get("embeddings_initializer"):
                        lines.append(_init_call(a["embeddings_initializer"], f"l{i}.weight"))
                    if frozen:
                        lines.append(f"l{i}.weight.requires_grad_(False)")
                if a.get("embeddings_regularizer"):
                    l2[i] = a["embeddings_regularizer"]["l2"]
            elif kind == "flatten":
                lines.append(f"l{i} = nn.Flatten()")
            elif kind == "dense":
                lines.append(f"l{i} = nn.Linear({features}, {a['units']})" if features
                             else f"l{i} = nn.LazyLinear({a['units']})")
            else:
                cls = {"simple_rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}[kind]
                lines.append(f"l{i} = {cls}({features}, {a['units']}, batch_first=True)")
            features, length = features_after(layer, features, length)
        n = len(self.model.layers)
        lines.append("layers = nn.ModuleList([" + ", ".join(f"l{i}" for i in range(n)) + "])")
        self.l2 = l2
        return lines

    def _run(self):
        lines = ["", "def run(x):", "    h = x"]
        masked = False
        for i, layer in enumerate(self.model.layers):
            kind = layer.kind
            if kind == "embedding":
                lines.append(f"    h = l{i}(h)")
                masked = bool(layer.get("mask_zero"))
            elif kind in RNN_KINDS:
                seq = bool(layer.get("return_sequences"))
                if masked:
                    lines += ["    lengths = (x != 0).sum(1)",
                              "    packed = pack_padded_sequence(h, lengths, batch_first=True, "
                              "enforce_sorted=False)",
                              f"    out, state = l{i}(packed)"]
                    if seq:
                        lines.append("    out, _ = pad_packed_sequence(out, batch_first=True, "
                                     "total_length=x.shape[1])")
                else:
                    lines.append(f"    out, state = l{i}(h)")
                state = "state[0]" if kind == "lstm" else "state"
                lines.append("    h = out" if seq else f"    h = {state}[-1]")
                masked = masked and seq
            else:
                lines.append(f"    h = l{i}(h)")
                masked = masked and kind != "flatten"
        lines += ["    return h", ""]
        if any(layer.get("dtype") == "mixed_float16" for layer in self.model.layers):
            lines += ["plain_run = run", "", "def run(x):  # Keras' mixed_float16 policy -> autocast",
                      "    with torch.autocast('cpu', dtype=torch.float16):",
                      "        return plain_run(x)", ""]
        return lines

    def _loss_lines(self, indent="    "):
        first = self.model.layers[0]
        last = self.model.layers[-1]
        if first.get("mask_zero") and last.kind in RNN_KINDS and last.get("return_sequences"):
            return [f"{indent}m = (x != 0).float()",
                    f"{indent}loss = (((pred - y) ** 2).mean(-1) * m).sum() / m.sum()"]
        return [f"{indent}loss = nn.functional.mse_loss(pred, y)"]

    # actions ---------------------------------------------------------------------------------
    def _forward(self):
        lines = ["layers.eval()"]
        for x in self.args.get("inputs", []):
            lines += ["with torch.no_grad():", f"    out = run({_literal(x)})",
                      "print(out.shape, out.dtype)", "print(out)"]
        return lines

    def _summary(self):
        shape = (2,) + tuple(self.model.input_shape or (3,))
        return [f"x = torch.ones({shape!r}, dtype=torch.long)",
                "for m in layers:",
                "    m.register_forward_hook(lambda m, i, o: print(type(m).__name__, 'output',",
                "        o[0].shape if isinstance(o, tuple) else o.shape))",
                "with torch.no_grad():", "    run(x)",
                "for m in layers:",
                "    print(type(m).__name__,",
                "          'trainable', sum(p.numel() for p in m.parameters() if p.requires_grad),",
                "          'non-trainable', sum(p.numel() for p in m.parameters() if not p.requires_grad))"]

    def _weights(self):
        lines = []
        if "x" in self.args:
            lines += ["with torch.no_grad():", f"    out = run({_literal(self.args['x'])})",
                      "print('output', out.dtype)"]
        lines += ["for m in layers:",
                  "    for name, p in m.named_parameters():",
                  "        print(type(m).__name__, name, tuple(p.shape), p.dtype)",
                  "print('row norms of the embedding:', l0.weight.norm(dim=1))"]
        return lines

    def _train_step(self):
        step = self._one_step()
        if not self.args.get("freeze_between_steps"):
            return step
        # a first step, then the embedding frozen the PyTorch way, then the step observed
        return step[:-4] + ["", "l0.weight.requires_grad_(False)  # trainable=False, after a first step"] + step

    def _one_step(self):
        lines = ["groups = []", "for i, m in enumerate(layers):",
                 "    ps = [p for p in m.parameters() if p.requires_grad]", "    if ps:"]
        if self.l2:
            lines += [f"        wd = {{{', '.join(f'{k}: 2 * {v!r}' for k, v in self.l2.items())}}}"
                      ".get(i, 0.0)  # Keras l2(f) -> weight_decay 2f",
                      "        groups.append({'params': ps, 'weight_decay': wd})"]
        else:
            lines.append("        groups.append({'params': ps})")
        lines += [f"opt = torch.optim.SGD(groups, lr={self.args['lr']!r})",
                  f"x, y = {_literal(self.args['x'])}, {_literal(self.args['y'])}",
                  "before = l0.weight.detach().clone()",
                  "pred = run(x)"] + self._loss_lines("") + [
                  "opt.zero_grad()", "loss.backward()", "opt.step()",
                  "print('loss', loss.item())",
                  "print('embedding before', before)", "print('embedding after', l0.weight)",
                  "print('row norms after', l0.weight.norm(dim=1))"]
        return lines

    def _loss(self):
        lines = [f"x = {_literal(self.args['x'])}"]
        for y in self.args.get("targets", []):
            lines += [f"y = {_literal(y)}", "with torch.no_grad():", "    pred = run(x)"]
            lines += self._loss_lines() + ["    print('loss', loss.item())"]
        if self.l2:
            lines.append("# no regularization term: PyTorch has only weight_decay in the optimizer")
        return lines

    def _pretrained(self):
        lines = ["first = l0.weight.detach().clone()",
                 "print('bit-identical to the matrix:', np.array_equal(first.numpy(), matrix))",
                 "matrix += 1.0  # the caller modifies its array",
                 "print('aliases the caller array:', not torch.equal(l0.weight, first))"]
        if "x" in self.args:
            lines += ["with torch.no_grad():", f"    print(run({_literal(self.args['x'])}))"]
        return lines

    def _construct(self):
        kwargs = dict(self.args["kwargs"])
        names = {"input_dim": "num_embeddings", "output_dim": "embedding_dim"}
        mapped = ", ".join(f"{names.get(k, k)}={v!r}" for k, v in kwargs.items())
        return "\n".join(["from torch import nn", f"layer = nn.Embedding({mapped})", "print(layer)"])

    def _fresh(self):
        emb = self.model.layers[0].args
        init = emb.get("embeddings_initializer")
        make = (["def make():", f"    layer = nn.Embedding({emb['input_dim']}, {emb['output_dim']})",
                 "    " + _init_call(init, "layer.weight"), "    return layer"] if init else
                ["def make():", f"    return nn.Embedding({emb['input_dim']}, {emb['output_dim']})"])
        return "\n".join([
            "import torch", "from torch import nn",
            f"torch.manual_seed({self.args.get('seed', 0)!r})", *make,
            f"w = [make().weight.detach() for _ in range({self.args.get('count', 2)})]",
            "print('min', w[0].min().item(), 'max', w[0].max().item(),",
            "      'mean', w[0].mean().item(), 'var', w[0].var().item())",
        ] + (["print('fresh layers differ:', not torch.equal(w[0], w[1]))"]
             if self.args.get("count", 2) > 1 else []))
