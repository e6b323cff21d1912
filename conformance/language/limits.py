"""Resource limits for a clause, checked when its spec file is loaded.

A spec is evaluated in the pytest process (the reference runs there too), outside
``--case-timeout``, and every backend's worker then builds what it asks for. So a clause may ask for
at most :data:`MAX_ELEMENTS` array elements in all: its layers' weights, its input arrays and the
outputs its layers produce from them (the reference computes in float64, so the budget is 80 MB per
copy). Frameworks need a few copies of that (gradients, optimizer state, the pickled copy sent to the
worker), and under ``-n 2`` two clauses run at once: the budget is sized so that this stays far
inside a 2-core, 24 GiB machine, while the largest clause shipped today needs about 10,000.

A recurrent layer runs at most :data:`MAX_STEPS` time steps (the reference loops over them in
Python), and ``fresh_weights`` builds at most :data:`MAX_COUNT` models. A YAML file holds at most
:data:`MAX_NODES` values once its aliases are expanded (a "billion laughs" file is a few lines of
nested aliases, and a recursive alias never ends), since loading walks every value.
"""
from __future__ import annotations

import math

import numpy as np

from conformance.language import vocabulary

MAX_ELEMENTS = 10_000_000
MAX_STEPS = 10_000
MAX_COUNT = 100
MAX_NODES = 100_000
GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
# input generators whose own key is the array's shape ({ints: [2, 3]}); ``values`` holds the array
_SHAPED_GENERATORS = tuple(name for name, word in vocabulary.INPUT_GENERATORS.items()
                           if word.arg(name).kind == "shape")


class LimitError(ValueError):
    """A clause asks for more than the limits allow."""


def check_nodes(data) -> None:
    """Raise LimitError when a loaded YAML document has more than MAX_NODES values, counting each
    use of an alias (the walk stops at the limit, so a recursive alias ends too)."""
    stack, seen = [data], 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise LimitError(f"more than {MAX_NODES:,} values once its aliases are expanded")
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def dim(value) -> int:
    """A size as the budget counts it: a number by its magnitude (a framework may cast a float to
    int), anything else (None, a string the framework is meant to reject) as 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    return abs(int(value))


def shape_of(spec) -> tuple[int, ...]:
    """The shape of an input array, from a resolved generator or a literal nested list."""
    if isinstance(spec, dict):
        for key in _SHAPED_GENERATORS:
            if key in spec:
                size = spec[key]
                return tuple(dim(d) for d in (size if isinstance(size, (list, tuple)) else [size]))
        spec = spec.get("values")
    try:
        return np.shape(spec)
    except ValueError:  # ragged: the framework is meant to reject it; count its leaves
        return (_leaves(spec),)


def _leaves(value) -> int:
    if isinstance(value, (list, tuple)):
        return sum(_leaves(v) for v in value)
    return 1


def weights(model) -> list[tuple[str, int]]:
    """(what, elements) of each weight array the model's layers hold."""
    items = []
    shape = model.input_shape or ()
    features, length = None, (dim(shape[0]) if shape else None) or None
    for n, layer in enumerate(model.layers, 1):
        kind, args = layer.kind, layer.args
        if kind == "embedding":
            rows, cols = dim(args.get("input_dim")), dim(args.get("output_dim"))
            items.append((f"layer {n} embedding matrix {rows} x {cols}", rows * cols))
            features, length = cols, dim(args.get("input_length")) or length
        elif kind == "flatten":
            features, length = (features * length if features and length else None), None
        elif kind in ("dense", *GATES):
            units, gates = dim(args.get("units")), GATES.get(kind, 1)
            if features:
                size = gates * (features * units + units * units + 2 * units) if kind in GATES \
                    else features * units + units
                items.append((f"layer {n} {kind} weights ({features} inputs, {units} units)", size))
            features = units
    return items


def activations(model, shape: tuple[int, ...]) -> int:
    """Elements of every layer's output (and a recurrent layer's gates) for one input array."""
    total, shape = 0, tuple(shape)
    for layer in model.layers:
        kind, args = layer.kind, layer.args
        if not shape:
            break
        if kind == "embedding":
            shape = shape + (dim(args.get("output_dim")),)
        elif kind == "flatten":
            shape = (shape[0], math.prod(shape[1:]))
        elif kind == "dense":
            shape = shape[:-1] + (dim(args.get("units")),)
        elif kind in GATES:
            units = dim(args.get("units"))
            if len(shape) > 2 and shape[1] > MAX_STEPS:
                raise LimitError(f"a {kind} layer would run {shape[1]:,} time steps (limit {MAX_STEPS:,})")
            total += math.prod(shape[:2]) * GATES[kind] * units
            shape = shape[:2] + (units,) if args.get("return_sequences") and len(shape) > 2 else (shape[0], units)
        total += math.prod(shape)
    return total


def check(action: str, model, args: dict, params: dict) -> None:
    """Raise LimitError when the resolved clause (model, ``with`` block, params) asks too much."""
    items = needs(action, model, args, params)
    total = sum(size for _, size in items)
    if total > MAX_ELEMENTS:
        what, size = max(items, key=lambda item: item[1])
        raise LimitError(f"needs about {total:,} array elements, over the limit of {MAX_ELEMENTS:,} per clause "
                         f"(largest: {what}, {size:,} elements; see docs/RELIABILITY.md, 'Resource limits')")


def needs(action: str, model, args: dict, params: dict) -> list[tuple[str, int]]:
    """(what, elements) of every array the clause asks for (its weights, inputs and layer outputs);
    a resolved case's arrays count by their shapes too. Raises LimitError only for the step and
    model counts; the element total is check()'s business."""
    items: list[tuple[str, int]] = []
    count = dim(args.get("count", 1)) if action == "fresh_weights" else 1
    if count > MAX_COUNT:
        raise LimitError(f"fresh_weights builds {count:,} models (limit {MAX_COUNT})")
    inputs = [(arg.key, spec) for arg in vocabulary.ACTIONS[action].args if arg.key in args
              for spec in (args[arg.key] if arg.kind == "arrays" else [args[arg.key]] if arg.kind == "array" else [])]
    if model is not None:
        copies = count * (len(args.get("inputs", [])) if args.get("separately") else 1) or 1
        items += [(what, size * copies) for what, size in weights(model)]
    for key, spec in inputs:
        shape = shape_of(spec)
        items.append((f"{key} array of shape {list(shape)}", math.prod(shape)))
        if model is not None and key in ("inputs", "x"):
            passes = 2 if args.get("sequences") else 1
            items.append((f"layer outputs for the {key} array of shape {list(shape)}",
                          passes * activations(model, shape)))
    if action == "construct":
        kwargs = args.get("kwargs") or {}
        rows, cols = dim(kwargs.get("input_dim")), dim(kwargs.get("output_dim"))
        items.append((f"embedding matrix {rows} x {cols}", rows * cols))
    if action == "document":
        rows, cols = dim(params.get("voc_size")), dim(params.get("vec_dim"))
        items.append((f"embedding matrix voc_size x vec_dim = {rows} x {cols} (built twice)", 2 * rows * cols))
        if "data" in args:
            items.append(("outputs for 'data'", _leaves(args["data"]) * max(cols, 1)))
        if "shape" in args:
            shape = args["shape"] if isinstance(args["shape"], list) else [args["shape"]]
            items.append((f"array of shape {shape}", math.prod(dim(d) for d in shape)))
    return items
