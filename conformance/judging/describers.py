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


def matrix_update(obs, case):
    """Whether the observed training step changed the embedding matrix (rows changed of all)."""
    before, after = (np.asarray(obs[k][0][0]) for k in ("before", "after"))
    if np.isnan(after).any():
        return "the matrix becomes NaN"
    changed = int((before != after).any(axis=1).sum()) if before.shape == after.shape else None
    if changed is None:
        return f"the matrix changes shape, {_shape(before)} to {_shape(after)}"
    return "matrix unchanged" if not changed else f"matrix updated ({changed} of {len(before)} rows)"


def dtypes(obs, case):
    """The dtypes of the embedding matrix and of the output (a weights action with ``x``)."""
    matrix = np.asarray(obs["weights"][0][0])
    return f"matrix {matrix.dtype}, output {np.asarray(obs['output']).dtype}"


def kept_matrix(obs, case):
    """What the layer made of the caller's matrix: its weights' shape and dtype against the given
    one's, and the output's dtype (a float64 matrix kept as float64 gives float64 outputs; a
    matrix of another shape may be refused, kept as given, or cut to the layer's shape)."""
    weights, given = np.asarray(obs["weights"]), np.asarray(obs["source"])
    text = f"weights {_shape(weights)} {weights.dtype}"
    if (weights.shape, weights.dtype) == (given.shape, given.dtype):
        text += " as given"
    else:
        text += f" from a given {_shape(given)} {given.dtype}"
        if weights.shape != given.shape and weights.ndim == given.ndim == 2 and weights.size:
            cut = given[:weights.shape[0], :weights.shape[1]]
            if cut.shape == weights.shape and np.allclose(cut, weights, rtol=1e-6, atol=0):
                text += " (cut to the layer's shape)"
    if "output" in obs:
        text += f", outputs {np.asarray(obs['output']).dtype}"
    return text


def exports(obs, case):
    """Per export (actions.export_defaults): the input the artifact declares (dtype, shape, "?"
    for a dynamic axis), then per input fed (its dtype and shape) whether the lookups equal the
    weights' rows at those indices, or what the run raised. Values that are not the rows are
    said so, never printed: an artifact reading uninitialised memory gives other values each run.
    Exports are separated by " // "."""
    matrix = _matrix(case)
    parts = []
    for export in obs["exports"].values():
        if "raised" in export:
            parts.append(f"{export['call']}: raises {export['raised']}")
            continue
        declared = "(" + ", ".join("?" if d is None else str(d) for d in export["input_shape"]) + ")"
        runs = [f"{np.asarray(x).dtype} {_shape(np.asarray(x))}: {_lookups(x, out, matrix)}"
                for x, out in zip(case.args["inputs"], export["outputs"])]
        parts.append(f"{export['call']}: takes {export['input_dtype']} {declared}; " + ", ".join(runs))
    return " // ".join(parts)  # no "|": the report's matrix is a Markdown table


def _lookups(x, out, matrix) -> str:
    if isinstance(out, dict):
        return f"raises {out['raised']}"
    out, x = np.asarray(out, dtype=np.float64), np.asarray(x)
    indices = x.astype(np.int64)
    if matrix is None or not np.array_equal(indices, x) or indices.min(initial=0) < 0 \
            or indices.max(initial=0) >= len(matrix):
        return f"outputs {_shape(out)}"
    rows = matrix[indices]
    if out.shape != rows.shape:
        return f"outputs {_shape(out)}, not the rows' {_shape(rows)}"
    same = np.allclose(out, rows, rtol=1e-6, atol=0)
    return "lookups equal the weights" if same else "lookups equal the weights: false"


def _shape(array) -> str:
    return "(" + ", ".join(str(n) for n in array.shape) + ")"


DESCRIBERS = {f.__name__: f for f in (lookup, shapes, output_shape, alias, row_norms, regularization, loss_value,
                                       warnings, leading_masked, outcome, row_zero_update, all_masked_sample,
                                       kept_matrix, matrix_update, dtypes, exports)}


def describe(name, obs, case) -> str:
    return _raised(obs) or DESCRIBERS[name](obs, case)
