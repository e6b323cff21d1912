"""Case resolution: a clause's formulas become numbers and its input generators arrays.

Shared by validation (:mod:`.spec`, :mod:`.drawing`) and by the session that builds each case, so it
imports neither of them.
"""
from __future__ import annotations

import numpy as np

from backends.base import Layer, Model
from conformance.language import formula, vocabulary

NAMES = vocabulary.NAMES  # keys whose string values are names, not formulas
INPUT_GENERATORS = tuple(vocabulary.INPUT_GENERATORS)


# -- resolution: formulas -> numbers, generators -> arrays ---------------------------------------
def resolve_value(value, params):
    """A ``with`` value at ``params``: formulas evaluated, names (NAMES) kept as written."""
    if isinstance(value, list):
        return [resolve_value(v, params) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in NAMES else resolve_value(v, params)) for k, v in value.items()}
    if value is None or isinstance(value, bool):
        return value
    return formula.evaluate(value, params)


def resolve_model(clause, params=None) -> Model:
    """The clause's model with every layer argument resolved at ``params``."""
    params = clause.params if params is None else params
    layers = []
    for layer in clause.model["layers"]:
        (kind, args), = layer.items()
        layers.append(Layer(kind, resolve_value(dict(args), params)))
    shape = clause.model.get("input")
    return Model(tuple(layers), tuple(resolve_value(shape, params)) if shape else None,
                 clause.model.get("input_dtype", "int32"))


def make_input(spec, params, default_dtype="int32") -> np.ndarray:
    """A literal nested list, or a generator: {ints: shape, high, seed}, {ones: shape},
    {uniform: shape, seed}, {values: literal, dtype}; an array (a drawn example's) as it is."""
    if isinstance(spec, np.ndarray):
        return spec
    if isinstance(spec, dict):
        spec = resolve_value(spec, params)
        dtype = spec.get("dtype")
        if "ints" in spec:
            rng = np.random.default_rng(spec.get("seed", 0))
            return rng.integers(spec.get("low", 0), spec["high"], spec["ints"]).astype(dtype or default_dtype)
        if "ones" in spec:
            return np.ones(spec["ones"], dtype or "float32")
        if "uniform" in spec:
            rng = np.random.default_rng(spec.get("seed", 0))
            return rng.uniform(-1, 1, spec["uniform"]).astype(dtype or "float32")
        if "values" in spec:
            return np.asarray(spec["values"], dtype or default_dtype)
        raise ValueError(f"unknown input generator {sorted(spec)}; use one of {sorted(INPUT_GENERATORS)}")
    return np.asarray(resolve_value(spec, params), default_dtype)
