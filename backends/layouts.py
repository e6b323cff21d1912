"""Weight layouts: Keras (the suite's reference layout) <-> PyTorch parameters. Pure NumPy.

Use this when porting a model between Keras and PyTorch::

    params = to_torch("lstm", keras_layer.get_weights())          # {name: ndarray}
    torch_module.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})

    weights = from_torch("lstm", {k: v.detach().numpy() for k, v in module.state_dict().items()})
    keras_layer.set_weights(weights)

``kind`` is one of ``embedding``, ``flatten``, ``dense``, ``simple_rnn``, ``lstm``, ``gru``; the
PyTorch modules are ``nn.Embedding``, ``nn.Flatten``, ``nn.Linear``, and single-layer,
unidirectional ``nn.RNN`` (tanh) / ``nn.LSTM`` / ``nn.GRU`` (parameter names with the ``_l0``
suffix). The Keras layout per kind (backends/base.py) and its PyTorch counterpart:

===========  =====================================  ==============================================
kind         Keras (reference)                      PyTorch
===========  =====================================  ==============================================
embedding    matrix (V, D)                          weight (V, D)                (same array)
flatten      (none)                                 (none)
dense        kernel (in, u), bias (u,)              weight (u, in) = kernel.T, bias (u,)
simple_rnn   kernel (in, u), recurrent (u, u),      weight_ih_l0 (u, in) = kernel.T,
             bias (u,)                              weight_hh_l0 (u, u) = recurrent.T,
                                                    bias_ih_l0 (u,), bias_hh_l0 (u,)
lstm         kernel (in, 4u), recurrent (u, 4u),    weight_ih_l0 (4u, in), weight_hh_l0 (4u, u),
             bias (4u,); gates i, f, c, o           bias_ih_l0 (4u,), bias_hh_l0 (4u,);
                                                    gates i, f, g, o (the same order: g is c)
gru          kernel (in, 3u), recurrent (u, 3u),    weight_ih_l0 (3u, in), weight_hh_l0 (3u, u),
             bias (2, 3u) = [input, recurrent];     bias_ih_l0 (3u,), bias_hh_l0 (3u,);
             gates z, r, h; reset_after=True        gates r, z, n
===========  =====================================  ==============================================

Rules that are not a plain transpose:

* **Two bias vectors (simple_rnn, lstm).** PyTorch adds ``b_ih + b_hh``; Keras has one bias.
  To PyTorch the Keras bias goes into ``bias_ih_l0`` and ``bias_hh_l0`` is zero; from PyTorch the
  two are summed. Both directions preserve the function; torch -> Keras -> torch does not
  preserve the split (only the sum), and PyTorch counts ``units`` (or ``4*units``) more
  parameters than Keras for the same function.
* **GRU gate order.** Keras stores blocks z, r, h; PyTorch r, z, n. The blocks are reordered
  (z <-> r swap, h = n stays last) in the kernels and both biases. Keras ``reset_after=True`` is
  exactly PyTorch's GRU: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` with Keras' input
  bias of h as ``b_in`` and its recurrent bias of h as ``b_hn``; ``h' = (1 - z) n + z h`` in
  both. The mapping is exact in both directions (PyTorch's two bias vectors are Keras' two rows).
  Keras GRUs with ``reset_after=False`` (tf.keras 1.x default) have no PyTorch counterpart.
"""
from __future__ import annotations

import numpy as np

KINDS = ("embedding", "flatten", "dense", "simple_rnn", "lstm", "gru")
RNN_KINDS = ("simple_rnn", "lstm", "gru")
RNN_PARAMS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")

# Position of each PyTorch GRU block (r, z, n) in the Keras order (z, r, h).
_GRU_TORCH_FROM_KERAS = (1, 0, 2)
# Position of each Keras block (z, r, h) in PyTorch's order (r, z, n): the same swap.
_GRU_KERAS_FROM_TORCH = (1, 0, 2)


def _arr(a) -> np.ndarray:
    return np.array(a, copy=True)


def _reorder(a: np.ndarray, order, axis: int) -> np.ndarray:
    """Split ``a`` into len(order) equal blocks along ``axis`` and take them in ``order``."""
    blocks = np.split(a, len(order), axis=axis)
    return np.concatenate([blocks[k] for k in order], axis=axis)


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; expected one of {KINDS}")


def to_torch(kind: str, weights) -> dict[str, np.ndarray]:
    """Keras-layout weights of one layer -> ``{parameter name: array}`` in PyTorch's layout.

    ``weights`` is the list ``layer.get_weights()`` returns in Keras (see the module docstring).
    The result can be loaded with ``module.load_state_dict`` (convert with ``torch.from_numpy``).
    Arrays are new (never views of the input) and keep the input's dtype.
    """
    _check(kind)
    weights = [np.asarray(w) for w in weights]
    if kind == "flatten":
        if weights:
            raise ValueError("flatten has no weights")
        return {}
    if kind == "embedding":
        (matrix,) = weights
        return {"weight": _arr(matrix)}
    if kind == "dense":
        kernel, bias = weights
        return {"weight": _arr(kernel.T), "bias": _arr(bias)}
    kernel, recurrent, bias = weights
    if kind == "gru":
        if bias.ndim != 2 or bias.shape[0] != 2:
            raise ValueError("a Keras GRU with reset_after=True has a bias of shape (2, 3*units); "
                             f"got {bias.shape} (reset_after=False has no PyTorch counterpart)")
        order = _GRU_TORCH_FROM_KERAS
        return {
            "weight_ih_l0": _arr(_reorder(kernel, order, axis=1).T),
            "weight_hh_l0": _arr(_reorder(recurrent, order, axis=1).T),
            "bias_ih_l0": _arr(_reorder(bias[0], order, axis=0)),
            "bias_hh_l0": _arr(_reorder(bias[1], order, axis=0)),
        }
    # simple_rnn and lstm: same gate order (LSTM i, f, c|g, o); one bias -> bias_ih, zero bias_hh.
    return {
        "weight_ih_l0": _arr(kernel.T),
        "weight_hh_l0": _arr(recurrent.T),
        "bias_ih_l0": _arr(bias),
        "bias_hh_l0": np.zeros_like(bias),
    }


def from_torch(kind: str, params) -> list[np.ndarray]:
    """PyTorch parameters of one layer (``{name: array}``, e.g. from ``state_dict()`` converted
    with ``.detach().numpy()``) -> the Keras-layout list that ``layer.set_weights`` takes.

    For simple_rnn and lstm the Keras bias is ``bias_ih_l0 + bias_hh_l0`` (the same function;
    the split itself is not representable in Keras). Arrays are new, never views of the input.
    """
    _check(kind)
    params = {k: np.asarray(v) for k, v in dict(params).items()}
    if kind == "flatten":
        return []
    if kind == "embedding":
        return [_arr(params["weight"])]
    if kind == "dense":
        return [_arr(params["weight"].T), _arr(params["bias"])]
    w_ih, w_hh, b_ih, b_hh = (params[name] for name in RNN_PARAMS)
    if kind == "gru":
        order = _GRU_KERAS_FROM_TORCH
        return [
            _arr(_reorder(w_ih, order, axis=0).T),
            _arr(_reorder(w_hh, order, axis=0).T),
            np.stack([_reorder(b_ih, order, axis=0), _reorder(b_hh, order, axis=0)]),
        ]
    return [_arr(w_ih.T), _arr(w_hh.T), (b_ih + b_hh).astype(np.result_type(b_ih, b_hh))]
