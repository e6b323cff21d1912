"""Weight layouts: Keras (the suite's reference layout, backends/base.py) <-> Flax NNX parameters.
Pure NumPy: ``{parameter path: array}`` on the Flax side, the Keras list on the other.

===========  =====================================  ==============================================
kind         Keras (reference)                      Flax NNX
===========  =====================================  ==============================================
embedding    matrix (V, D)                          ``embedding`` (V, D)             (same array)
dense        kernel (in, u), bias (u,)              ``kernel`` (in, u), ``bias`` (u,) (same arrays)
simple_rnn   kernel (in, u), recurrent (u, u),      ``dense_i.kernel`` (in, u), ``dense_i.bias``,
             bias (u,)                              ``dense_h.kernel`` (u, u) (no bias)
lstm         kernel (in, 4u), recurrent (u, 4u),    four input Linears without bias ``ii``, ``if_``,
             bias (4u,); gates i, f, c, o           ``ig``, ``io`` (in, u) and four hidden Linears
                                                    with bias ``hi``, ``hf``, ``hg``, ``ho`` (u, u)
gru          kernel (in, 3u), recurrent (u, 3u),    ``dense_i`` (in, 3u) with bias, ``dense_h``
             bias (2, 3u) = [input, recurrent];     (u, 3u) *without* bias; gates r, z, n
             gates z, r, h; reset_after=True
===========  =====================================  ==============================================

The GRU is the one that loses information: Flax computes ``n = tanh(W_in x + b_in + r * (W_hn h))``
with no recurrent bias ``b_hn`` (its docstring shows one). The recurrent biases of the r and z
gates add to the input ones (the same function); a non-zero ``b_hn`` has no Flax counterpart, and
:func:`to_flax` refuses it (``NoCounterpart``). Read back, the recurrent row is zeros for r and z
(folded into the input row) and for h.
"""
from __future__ import annotations

import numpy as np

LSTM_INPUT = ("ii", "if_", "ig", "io")    # gates i, f, c (Flax g), o: Keras' order
LSTM_HIDDEN = ("hi", "hf", "hg", "ho")
# Keras GRU blocks z, r, h <-> Flax r, z, n: the same swap both ways
_GRU_SWAP = (1, 0, 2)


class NoCounterpart(ValueError):
    """Keras weights that the Flax layer cannot hold (a GRU's recurrent bias of the h gate)."""


def _blocks(a: np.ndarray, order, axis: int) -> np.ndarray:
    parts = np.split(np.asarray(a), len(order), axis=axis)
    return np.concatenate([parts[k] for k in order], axis=axis)


def from_flax(kind: str, params: dict) -> list[np.ndarray]:
    """Flax parameters of one layer (path -> array) -> the Keras list. New arrays, never views."""
    p = {k: np.array(v, copy=True) for k, v in params.items()}
    if kind == "flatten":
        return []
    if kind == "embedding":
        return [p["embedding"]]
    if kind == "dense":
        return [p["kernel"], p["bias"]]
    if kind == "simple_rnn":
        return [p["dense_i.kernel"], p["dense_h.kernel"], p["dense_i.bias"]]
    if kind == "lstm":
        return [np.concatenate([p[f"{g}.kernel"] for g in LSTM_INPUT], axis=1),
                np.concatenate([p[f"{g}.kernel"] for g in LSTM_HIDDEN], axis=1),
                np.concatenate([p[f"{g}.bias"] for g in LSTM_HIDDEN])]
    if kind == "gru":
        bias = _blocks(p["dense_i.bias"], _GRU_SWAP, 0)
        return [_blocks(p["dense_i.kernel"], _GRU_SWAP, 1), _blocks(p["dense_h.kernel"], _GRU_SWAP, 1),
                np.stack([bias, np.zeros_like(bias)])]
    raise ValueError(f"unknown layer kind {kind!r}")


def to_flax(kind: str, weights) -> dict[str, np.ndarray]:
    """The Keras list of one layer -> Flax parameters (path -> array)."""
    w = [np.asarray(a) for a in weights]
    if kind == "flatten":
        return {}
    if kind == "embedding":
        return {"embedding": w[0]}
    if kind == "dense":
        return {"kernel": w[0], "bias": w[1]}
    kernel, recurrent, bias = w
    if kind == "simple_rnn":
        return {"dense_i.kernel": kernel, "dense_h.kernel": recurrent, "dense_i.bias": bias}
    if kind == "lstm":
        out = {}
        for n, (gi, gh) in enumerate(zip(LSTM_INPUT, LSTM_HIDDEN)):
            cols = slice(n * recurrent.shape[0], (n + 1) * recurrent.shape[0])
            out[f"{gi}.kernel"], out[f"{gh}.kernel"], out[f"{gh}.bias"] = (
                kernel[:, cols], recurrent[:, cols], bias[cols])
        return out
    if kind == "gru":
        units = recurrent.shape[0]
        if np.any(bias[1][2 * units:]):
            raise NoCounterpart("nnx.GRUCell's hidden-side Linear (dense_h) has no bias: a non-zero "
                                "recurrent bias of the h gate (Keras reset_after=True's b_hn) cannot be set")
        folded = bias[0] + np.concatenate([bias[1][:2 * units], np.zeros(units, bias.dtype)])
        return {"dense_i.kernel": _blocks(kernel, _GRU_SWAP, 1),
                "dense_h.kernel": _blocks(recurrent, _GRU_SWAP, 1),
                "dense_i.bias": _blocks(folded, _GRU_SWAP, 0)}
    raise ValueError(f"unknown layer kind {kind!r}")
