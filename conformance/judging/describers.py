"""Describers for characterization clauses: what a backend did, in a few words.

The document is silent on these behaviours, so nothing is right or wrong; the report shows each
backend's description side by side and flags where backends disagree.

Where the framework raised, the observation holds only ``raised`` and ``message``: :func:`describe`
answers "raises <type>" for every describer, so none of them reads a field that is not there.

Each describer is declared in conformance/language/vocabulary/clauses.py (tests/test_vocabulary.py).
"""
from __future__ import annotations

import numpy as np


def _raised(obs):
    if "raised" in obs:
        return f"raises {obs['raised']}"
    return None


def _matrix(case):
    if case.weights:
        return np.asarray(case.weights[0][0])
    return np.asarray(case.pretrained) if case.pretrained is not None else None


def lookup(obs, case):
    """Per distinct input value: which row came out (or NaN, zeros, an error)."""
    if _raised(obs):
        return _raised(obs)
    x = np.asarray(case.args["inputs"][0])
    out = np.asarray(obs["outputs"][0])
    matrix = _matrix(case)
    parts = []
    flat_x, flat_out = x.reshape(-1), out.reshape(-1, out.shape[-1])
    for value in dict.fromkeys(flat_x.tolist()):
        row = flat_out[flat_x.tolist().index(value)]
        parts.append(f"{value:g} -> {_which_row(row, matrix)}")
    return "; ".join(parts)


def _which_row(row, matrix):
    if np.isnan(row).any():
        return "NaN"
    hits = [i for i in range(len(matrix)) if np.allclose(row, matrix[i], rtol=1e-5, atol=1e-7)]
    if hits:
        return f"row {hits[0]}"
    if not row.any():
        return "zeros"
    return "a vector that is no row"


def shapes(obs, case):
    return _raised(obs) or ", ".join(str(tuple(s)) for s in obs["shapes"])


def output_shape(obs, case):
    return _raised(obs) or f"returns shape {tuple(np.shape(obs['output']))}"


def alias(obs, case):
    """Whether the layer shares the caller's matrix, for a 64-byte aligned and an unaligned
    buffer (actions.pretrained)."""
    aliased = obs["aliased"]
    if not (isinstance(aliased, dict) and aliased
            and all(isinstance(v, (bool, np.bool_)) for v in aliased.values())):
        return f"answers {type(aliased).__name__} to 'aliased'"
    if len(set(aliased.values())) == 1:
        return "aliases the caller's matrix" if next(iter(aliased.values())) else "copies the matrix"
    return "; ".join(f"{'aliases' if shared else 'copies'} a{'n' if where[0] in 'aeiou' else ''} {where} matrix"
                     for where, shared in aliased.items())


def row_norms(obs, case):
    """Norms of the rows of the weights observed (after a forward, before any training)."""
    if _raised(obs):
        return _raised(obs)
    matrix = np.asarray(obs["weights"][0][0], dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1)
    if np.isnan(norms).any():
        return "NaN in the matrix"
    if np.allclose(norms, 1.0, rtol=1e-4, atol=1e-5):
        return "every row has unit norm"
    unit = int(np.isclose(norms, 1.0, rtol=1e-4, atol=1e-5).sum())
    return f"{unit} of {len(norms)} rows have unit norm"


def regularization(obs, case):
    if _raised(obs):
        return _raised(obs)
    reg = obs["regularization"]
    return "adds no loss term" if reg == 0 else f"adds {reg:.4g} to the loss"


def loss_value(obs, case):
    if _raised(obs):
        return _raised(obs)
    value = obs["losses"][0]
    return "NaN" if np.isnan(value) else f"{value:.4g}"


def warnings(obs, case):
    if _raised(obs):
        return _raised(obs)
    found = sorted({w.split(":", 1)[0] for w in obs.get("warnings", []) if "input_length" in w})
    return f"warns ({', '.join(found)})" if found else "accepted silently"


def leading_masked(obs, case):
    """What the steps before the first unmasked one output."""
    if _raised(obs):
        return _raised(obs)
    x = np.asarray(case.args["inputs"][0])[0]
    seq = np.asarray(obs["outputs"][0])[0]
    lead = int(np.argmax(x != 0))
    values = seq[:lead]
    if not values.size:
        return "no leading masked step"
    if not values.any():
        return "zeros"
    return "values " + ", ".join(f"{v:.3g}" for v in values.ravel())


def outcome(obs, case):
    return _raised(obs) or "accepted"


def row_zero_update(obs, case):
    """Whether a training step changed row 0 of the embedding (index 0 was looked up)."""
    before, after = (np.asarray(obs[k][0][0]) for k in ("before", "after"))
    if np.isnan(after[0]).any():
        return "row 0 becomes NaN"
    return "row 0 unchanged" if np.array_equal(before[0], after[0]) else "row 0 updated"


def all_masked_sample(obs, case):
    """What the model outputs for the first sample of the first input, whose indices are all 0."""
    out = np.asarray(obs["outputs"][0])[0]
    if np.isnan(out).any():
        return "NaN"
    if not out.any():
        return f"zeros, shape {tuple(out.shape)}"
    return f"non-zero values, shape {tuple(out.shape)}"


DESCRIBERS = {f.__name__: f for f in (lookup, shapes, output_shape, alias, row_norms, regularization, loss_value,
                                       warnings, leading_masked, outcome, row_zero_update, all_masked_sample)}


def describe(name, obs, case) -> str:
    return _raised(obs) or DESCRIBERS[name](obs, case)
