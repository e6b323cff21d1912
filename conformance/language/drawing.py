"""Drawn examples: a clause's ``draw:`` block, its validation, and the Hypothesis strategy.

A judged clause that states a property of arbitrary sizes says so in its spec file: beside the
document's own values (``params`` and ``with``, which stay the first, explicit example), its
``draw:`` block gives the domain of each parameter that may be drawn and a generator for each
input array::

    draw:
      params: {voc_size: [1, 20000], vec_dim: [1, 64], batch: [0, 6], inputs: [1, 16]}
      with:
        inputs: [{indices: [batch, inputs], high: voc_size, dtype: [int32, int64]}]
      expect: [...]        # optional: checks for drawn examples, when the clause's own checks
                           # name the document's literal shapes or rows

A clause that is not drawable says why instead (``draw: "pinned to the document's printed matrix"``).

The generators (``indices``, ``padded``, ``floats``, ``resample_masked``), their arguments and the
parameters that are sizes are declared in conformance/language/vocabulary/generators.py and listed
in docs/SPEC-LANGUAGE.md.

Validation refuses a domain that contradicts the clause's own literal values: every document value
lies inside its domain, every literal input fits its generator (shape, index range, padding layout,
dtype), and the resource limits of limits.py hold at the domains' maxima.

Sizes are what make a framework compile (XLA compiles every op for every new shape), so the ``ci``
profile draws them jointly from :data:`BUCKETS` (clipped into each clause's domain): the same few
shapes recur across examples and clauses, while values (indices, padding, floats, the weights'
seed) are drawn freely. The ``thorough`` profile draws every size from its whole domain.
"""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformance.language import formula, limits, paths, vocabulary
from conformance.language.cases import make_input, resolve_model, resolve_value

# parameters that are sizes, with the smallest value each may take (vocabulary.SIZES)
SIZE_MINIMUM = {name: low for name, (low, _) in vocabulary.SIZES.items()}
# ci profile: sizes drawn jointly from these, smallest first (Hypothesis shrinks towards the
# first); a clause's domain clips each value (batch 0, the empty batch, becomes 1 where a clause
# does not allow it; -inf and inf stand for a domain's ends). Every new shape costs a compilation
# on some frameworks (0.2 to 2 s on Keras/JAX for a recurrent model), and so does every new L2
# factor (a constant of the compiled graph): ci draws each clause's sizes from four sets only, so
# a clause compiles at most four shapes, and each parameter still meets four sizes, both ends of
# its domain among them (units 1, 3, 5, 8: a recurrent bug from 5 units on shows in every run).
# The largest VOC_SIZE and the largest VEC_DIM sit in different sets, so no example holds a
# 20,000 x 64 matrix. The values (indices, padding, targets, learning rates, the weights' seed)
# are drawn freely. The thorough profile draws every parameter from its domain.
BUCKETS = (
    {"voc_size": 1, "vec_dim": 1, "units": 1, "inputs": 1, "depth": 1, "batch": 0, "factor": -np.inf},
    {"voc_size": 7, "vec_dim": 3, "units": 3, "inputs": 3, "depth": 2, "batch": 2, "factor": 0.03},
    {"voc_size": np.inf, "vec_dim": 16, "units": 5, "inputs": 8, "depth": 3, "batch": 5, "factor": 0.3},
    {"voc_size": 60, "vec_dim": np.inf, "units": np.inf, "inputs": np.inf, "depth": np.inf,
     "batch": np.inf, "factor": np.inf},
)
INDEX_DTYPES = vocabulary.INDEX_DTYPES
ARRAY_KEYS = vocabulary.ARRAY_KEYS
GENERATORS = tuple(vocabulary.DRAW_GENERATORS)
LAYOUTS = vocabulary.DRAW_GENERATORS["padded"].arg("layout").values
# the reference's weights for a drawn example come from a drawn seed: a few of them, so that the
# same weights recur (one copy in a batch's message) while values still vary between examples
SEED_RANGE = (0, 31)


@dataclass(frozen=True)
class Domain:
    low: float
    high: float
    integer: bool

    def __contains__(self, value) -> bool:
        return self.low <= value <= self.high and (not self.integer or float(value).is_integer())

    def text(self) -> str:
        return f"[{self.low}, {self.high}]"


def is_drawable(clause) -> bool:
    return isinstance(clause.draw, dict)


def domains(draw: dict) -> dict[str, Domain]:
    out = {}
    for name, bounds in draw.get("params", {}).items():
        low, high = bounds
        integer = all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
        if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and np.isfinite(b) for b in bounds):
            raise ValueError(f"draw: params: {name}: bounds must be finite numbers, not {bounds!r}")
        if low > high:
            raise ValueError(f"draw: params: {name}: empty domain [{low}, {high}] (low above high)")
        if name in SIZE_MINIMUM:
            if not integer:
                raise ValueError(f"draw: params: {name}: a size is drawn from integers, not {bounds!r}")
            if low < SIZE_MINIMUM[name]:
                raise ValueError(f"draw: params: {name}: a size below {SIZE_MINIMUM[name]} "
                                 f"({low}) has no meaning")
        out[name] = Domain(low, high, integer)
    return out


# -- the example -----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Example:
    """One drawn example: every parameter (drawn or fixed), the drawn ``with`` values (arrays,
    lists of arrays, numbers) and the seed of the reference's weights."""

    params: dict
    args: dict
    seed: int

    def key(self) -> str:
        """A digest of the example, the same in every run and process."""
        h = hashlib.sha256()
        h.update(repr(sorted(self.params.items())).encode())
        h.update(str(self.seed).encode())
        for name in sorted(self.args):
            h.update(name.encode())
            _digest(h, self.args[name])
        return h.hexdigest()[:20]

    def plain(self) -> dict:
        """The example as JSON: parameters, drawn inputs (as nested lists with their dtype)."""
        return {"params": {k: _number(v) for k, v in self.params.items()},
                "with": {k: _plain(v) for k, v in self.args.items()},
                "weights_seed": self.seed}


def _digest(h, value):
    if isinstance(value, np.ndarray):
        h.update(f"{value.dtype}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, list):
        h.update(b"[")
        for item in value:
            _digest(h, item)
        h.update(b"]")
    else:
        h.update(repr(value).encode())


def _number(value):
    return value.item() if isinstance(value, np.generic) else value


def _plain(value):
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": list(value.shape), "values": value.tolist()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return _number(value)


# -- validation (spec load) ------------------------------------------------------------------------
def validate(clause, check_expect) -> None:
    """Raise ValueError when the clause's draw block is malformed or contradicts the clause's own
    literal values. ``check_expect(checks, params)`` validates checks (spec.py's own rules)."""
    draw = clause.draw
    if draw is None or isinstance(draw, str):
        return
    if not clause.judged:
        raise ValueError("draw: a characterization clause records what each backend does with one "
                         "input the document is silent on; it is never drawn (remove 'draw')")
    doms = domains(draw)
    for name, dom in doms.items():
        if name in clause.params and clause.params[name] not in dom:
            raise ValueError(f"draw: params: {name}: the document's value {clause.params[name]} lies outside "
                             f"the domain {dom.text()}; the document's values must stay an example")
    names = set(clause.params) | set(doms)
    gens = draw.get("with", {})
    unknown = set(gens) - set(clause.args)
    if unknown:
        raise ValueError(f"draw: with: {sorted(unknown)} not in the clause's 'with' "
                         f"(drawn values replace the document's)")
    undrawn = [k for k in ARRAY_KEYS if k in clause.args and k not in gens and set(doms) & _SHAPED]
    if undrawn:
        raise ValueError(f"draw: with: the literal arrays {undrawn} must be drawn too (their shapes and "
                         "indices belong to the document's sizes)")
    lengths_differ = False
    for key, gen in gens.items():
        literal = clause.args[key]
        if isinstance(gen, list):
            if not isinstance(literal, list):
                raise ValueError(f"draw: with: {key}: a list of generators for a single value")
            lengths_differ |= len(gen) != len(literal)
            for n, (g, lit) in enumerate(zip(gen, literal)):
                _validate_generator(f"{key}[{n}]", g, lit, clause, doms, names)
        elif isinstance(gen, dict):
            _validate_generator(key, gen, literal, clause, doms, names)
        elif isinstance(gen, str):
            formula.validate(gen, names)
    if lengths_differ and "expect" not in draw:
        raise ValueError("draw: with: a drawn list has another length than the document's; give "
                         "'draw: expect:' with checks that fit the drawn inputs")
    unused = set(doms) - _names_used(clause)
    if unused:
        raise ValueError(f"draw: params: {sorted(unused)} drawn but used nowhere (in the model, the "
                         "'with' block, the generators or the checks)")
    maxima = {**clause.params, **{n: d.high for n, d in doms.items()}}
    if "expect" in draw:
        check_expect(draw["expect"], maxima)
    _check_limits(clause, maxima)


_SHAPED = set(SIZE_MINIMUM)
_NOT_FORMULAS = vocabulary.NOT_FORMULAS
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _formula_names(*parts) -> set[str]:
    """Every name the formulas in ``parts`` (spec values: mappings, lists, strings) mention."""
    names: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                if k not in _NOT_FORMULAS:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            names.update(_IDENTIFIER.findall(value))

    for part in parts:
        walk(part)
    return names


def _names_used(clause) -> set[str]:
    """Every name a formula of the clause mentions (model, ``with``, generators, checks)."""
    draw = clause.draw if isinstance(clause.draw, dict) else {}
    return _formula_names(clause.model, clause.args, draw.get("with"), clause.expect, draw.get("expect"))


def _validate_generator(where, gen, literal, clause, doms, names):
    kinds = [k for k in GENERATORS if k in gen]
    if len(kinds) != 1:
        raise ValueError(f"draw: with: {where}: one generator of {', '.join(GENERATORS)}, not {sorted(gen)}")
    kind = kinds[0]
    problem = vocabulary.args_problem(vocabulary.DRAW_GENERATORS[kind], gen, f"the {kind} generator")
    if problem:
        raise ValueError(f"draw: with: {where}: {problem}")
    for key in ("high", "low"):
        if key in gen:
            formula.validate(str(gen[key]), names)
    if kind in ("indices", "padded", "floats"):
        shape = gen[kind]
        for dim in shape:
            if isinstance(dim, str) and dim not in names:
                raise ValueError(f"draw: with: {where}: shape {shape}: {dim!r} is no parameter "
                                 f"(known: {', '.join(sorted(names))})")
        if kind == "padded" and len(shape) != 2:
            raise ValueError(f"draw: with: {where}: padded rows have the shape [batch, steps], not {shape}")
        if kind == "padded":
            low_high = formula.evaluate(gen["high"], {**clause.params, **{n: d.low for n, d in doms.items()}})
            if low_high < 2:
                raise ValueError(f"draw: with: {where}: padded rows need non-zero indices: 'high' is "
                                 f"{low_high} at the domain's minimum (draw voc_size from 2)")
    literal_array = _literal(literal, clause, where, "float32" if kind in ("floats", "resample_masked") else "int32")
    if kind == "indices":
        _fits_shape(where, gen["indices"], literal_array, clause, doms)
        high = formula.evaluate(gen["high"], clause.params)
        dtypes = gen.get("dtype", ["int32"])
        _fits_indices(where, literal_array, 0, high, dtypes, clause)
        if gen.get("last") and literal_array.size and literal_array.max() != high - 1:
            raise ValueError(f"draw: with: {where}: 'last' makes VOC_SIZE-1 occur, but the document's "
                             f"input does not hold {high - 1}")
    elif kind == "padded":
        _fits_shape(where, gen["padded"], literal_array, clause, doms)
        high = formula.evaluate(gen["high"], clause.params)
        _fits_indices(where, literal_array, 0, high, gen.get("dtype", ["int32"]), clause)
        present = literal_array != 0
        if not gen.get("empty_rows") and literal_array.size and not present.any(axis=1).all():
            raise ValueError(f"draw: with: {where}: the document's input has a row of zeros only; "
                             "say empty_rows: true")
        if gen.get("layout", "anywhere") == "trailing":
            trailing = np.all(np.diff(present.astype(int), axis=1) <= 0) if literal_array.size else True
            if not trailing:
                raise ValueError(f"draw: with: {where}: layout trailing, but the document's rows have "
                                 "zeros before an index")
        if gen.get("layout", "anywhere") not in LAYOUTS:
            raise ValueError(f"draw: with: {where}: layout is one of {', '.join(LAYOUTS)}")
    elif kind == "floats":
        _fits_shape(where, gen["floats"], literal_array, clause, doms)
        low, high = (formula.evaluate(gen[k], clause.params) for k in ("low", "high"))
        if literal_array.size and (literal_array.min() < low or literal_array.max() > high):
            raise ValueError(f"draw: with: {where}: the document's values "
                             f"[{literal_array.min()}, {literal_array.max()}] lie outside [{low}, {high}]")
    else:
        paths.validate(gen["resample_masked"])
        keys = list(clause.draw["with"])
        before = keys[:keys.index(where.split("[")[0])]
        source = gen["resample_masked"]
        earlier = source.split("[")[0] in before or (source.split("[")[0] == where.split("[")[0] and "[" in where
                                                     and source < where)
        if gen.get("where") not in before or not earlier:
            raise ValueError(f"draw: with: {where}: 'resample_masked' and 'where' name arrays drawn before it "
                             "(the values to copy, and the index array whose zeros are masked)")
        source = _literal(paths.get(clause.args, gen["resample_masked"]), clause, where, "float32")
        mask = _literal(clause.args[gen["where"]], clause, where) != 0
        if source.shape != literal_array.shape or not np.array_equal(
                np.where(mask[..., None], source, 0), np.where(mask[..., None], literal_array, 0)):
            raise ValueError(f"draw: with: {where}: the document's array differs from "
                             f"{gen['resample_masked']} at unmasked steps")


def _literal(value, clause, where, dtype="int32") -> np.ndarray:

    if dtype == "int32" and clause.model:
        dtype = clause.model.get("input_dtype", "int32")
    try:
        return make_input(value, clause.params, dtype)
    except Exception as exc:  # noqa: BLE001 - a literal that is not an array of numbers
        raise ValueError(f"draw: with: {where}: the document's value is not an array: {exc}") from None


def _fits_shape(where, shape, array, clause, doms):
    if array.ndim != len(shape):
        raise ValueError(f"draw: with: {where}: the document's input has rank {array.ndim}, the generator "
                         f"draws rank {len(shape)} ({shape})")
    for dim, size in zip(shape, array.shape):
        if isinstance(dim, str) and dim in doms:
            if size not in doms[dim]:
                raise ValueError(f"draw: with: {where}: the document's input has {dim} = {size}, outside "
                                 f"the domain {doms[dim].text()}")
        elif (clause.params[dim] if isinstance(dim, str) else dim) != size:
            raise ValueError(f"draw: with: {where}: the document's input has size {size} where the "
                             f"generator's shape {shape} says {dim}")


def _fits_indices(where, array, low, high, dtypes, clause):
    unknown = set(dtypes) - set(INDEX_DTYPES)
    if unknown:
        raise ValueError(f"draw: with: {where}: index dtypes are {', '.join(INDEX_DTYPES)}, not {sorted(unknown)}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"draw: with: {where}: the document's input is not integers")
    if str(array.dtype) not in dtypes:
        raise ValueError(f"draw: with: {where}: the document's dtype {array.dtype} is not among the drawn "
                         f"dtypes {dtypes}")
    if array.size and (array.min() < low or array.max() > high - 1):
        raise ValueError(f"draw: with: {where}: the document's indices [{array.min()}, {array.max()}] lie "
                         f"outside [{low}, {high - 1}]")


def _check_limits(clause, maxima):
    """The resource limits at every domain's maximum: the largest example a run may draw."""

    model = resolve_model(clause, maxima) if clause.model else None
    args = {}
    for key, value in clause.args.items():
        gen = clause.draw.get("with", {}).get(key)
        if gen is None:
            args[key] = value if key in ("data", "name") else resolve_value(value, maxima)
        elif isinstance(gen, list):
            args[key] = [_limit_spec(g, maxima, clause) for g in gen]
        elif isinstance(gen, dict):
            args[key] = _limit_spec(gen, maxima, clause)
        else:
            args[key] = formula.evaluate(gen, maxima)
    try:
        limits.check(clause.action, model, args, maxima)
    except limits.LimitError as exc:
        raise ValueError(f"draw: at the domains' maxima the clause {exc}") from None


def _limit_spec(gen, params, clause):
    kind = next(k for k in GENERATORS if k in gen)
    if kind == "resample_masked":
        source = paths.get(clause.draw["with"], gen["resample_masked"])
        return _limit_spec(source, params, clause)
    return {"ints": [formula.evaluate(d, params) for d in gen[kind]]}


# -- strategies ------------------------------------------------------------------------------------
def bucketed(clause) -> bool:
    """Whether the ci profile draws this clause's sizes from BUCKETS: it builds weights or runs
    ops (the frameworks compile per shape). A constructor-only clause draws them freely."""
    return clause.model is not None or clause.action == "document"


def seeded(clause) -> bool:
    """Whether an example draws a seed: the reference's weights (seeded models), the matrix a
    document call is given, or the framework's own generator (fresh weights)."""
    return clause.action in ("fresh_weights", "document") or (clause.model is not None and clause.weights != "fresh")


def clause_buckets(clause) -> list[dict]:
    """The sets of sizes the ci profile gives ``clause``: each of :data:`BUCKETS` clipped into the
    clause's domains (only the sizes it draws), smallest first, each distinct set once. Empty for
    a clause that is not bucketed or draws no size."""
    doms = domains(clause.draw)
    sized = [n for n in doms if n in BUCKETS[0]]
    if not (bucketed(clause) and sized):
        return []
    out: list[dict] = []
    for bucket in BUCKETS:
        sizes = {}
        for name in sized:
            dom = doms[name]
            value = min(max(bucket[name], dom.low), dom.high)
            sizes[name] = int(value) if dom.integer else float(value)
        if sizes not in out:
            out.append(sizes)
    return out


def strategies(clause, buckets: bool) -> list:
    """The Hypothesis strategies a profile's run draws ``clause``'s examples from, in order: with
    ``buckets`` (ci) one per set of sizes of :func:`clause_buckets`, so that every run meets each
    set (a bucket drawn at random among four is missed now and then in 20 examples); otherwise
    one, drawing every size from its domain."""
    sets = clause_buckets(clause) if buckets else []
    return [strategy(clause, sizes) for sizes in sets] or [strategy(clause)]


def strategy(clause, sizes: dict | None = None, model: "OneModel | None" = None):
    """Hypothesis strategy of :class:`Example` for a drawable clause: the sizes fixed to ``sizes``
    (one set of :func:`clause_buckets`), every other parameter drawn from its domain. With
    ``model`` (inputs-only draws), its parameters, weights' seed and index dtype are kept too."""
    draw_block = clause.draw
    doms = domains(draw_block)
    fixed = {**(sizes or {}), **(model.params if model else {})}
    free = [n for n in doms if n not in fixed]
    with_seed = seeded(clause) and model is None
    dtype = model.dtype if model else None

    @st.composite
    def examples(draw):
        params = {**clause.params, **fixed}
        for name in free:
            dom = doms[name]
            params[name] = draw(st.integers(dom.low, dom.high) if dom.integer else
                                st.floats(dom.low, dom.high, allow_nan=False, allow_infinity=False))
        seed = draw(st.integers(*SEED_RANGE)) if with_seed else model.seed if model else 0
        args: dict = {}
        for key, gen in draw_block.get("with", {}).items():
            if isinstance(gen, list):
                args[key] = []
                for g in gen:  # one by one: a generator may copy an earlier one (resample_masked)
                    args[key].append(draw(_array(g, params, args, dtype)))
            elif isinstance(gen, dict):
                args[key] = draw(_array(gen, params, args, dtype))
            else:
                args[key] = formula.evaluate(gen, params)
        return Example(params, args, seed)

    return examples()


# -- inputs-only draws (a backend whose Declaration says drawn_inputs_only) -------------------------
@dataclass(frozen=True)
class OneModel:
    """The one model an inputs-only backend's drawn examples of a clause keep: the drawn parameters
    its model block names (sizes, a declared input length, an L2 factor), the weights' seed and the
    index dtype of its inputs."""

    params: dict
    seed: int
    dtype: str | None


def model_params(clause) -> list[str]:
    """The drawn parameters that decide the clause's model: those its ``model`` block names. The
    others (batch, a length no layer is sized by, a learning rate) vary with the inputs."""
    names = _formula_names(clause.model)
    return [n for n in domains(clause.draw) if n in names]


def _index_dtypes(clause) -> list[str]:
    found: list[str] = []

    def walk(gen):
        if isinstance(gen, list):
            for g in gen:
                walk(g)
        elif isinstance(gen, dict) and any(k in gen for k in ("indices", "padded")):
            found.extend(d for d in gen.get("dtype", ["int32"]) if d not in found)

    for gen in clause.draw.get("with", {}).values():
        walk(gen)
    return found


def one_model(clause, buckets: bool, run_seed: int) -> OneModel:
    """The model an inputs-only backend's drawn examples of ``clause`` keep, chosen once per clause
    from the run's seed (so ``--hypothesis-seed`` replays it): under ci (``buckets``) the model's
    sizes of one set of :func:`clause_buckets` other than the smallest (set by set: no set's
    VOC_SIZE of 1 holds the only index 0), otherwise each from its domain; a weights' seed of
    SEED_RANGE; one of the index dtypes the clause's generators draw."""
    rng = random.Random(f"{run_seed}:{clause.id}")  # str seeds hash the same in every process
    doms, names = domains(clause.draw), model_params(clause)
    sets = clause_buckets(clause) if buckets else []
    chosen = rng.choice(sets[1:] or sets) if sets else {}
    params = {}
    for name in names:
        dom = doms[name]
        if name in chosen:
            params[name] = chosen[name]
        else:
            params[name] = rng.randint(int(dom.low), int(dom.high)) if dom.integer else rng.uniform(dom.low, dom.high)
    dtypes = _index_dtypes(clause)
    return OneModel(params, rng.randint(*SEED_RANGE) if seeded(clause) else 0,
                    rng.choice(dtypes) if dtypes else None)


def input_strategies(clause, buckets: bool, model: OneModel) -> list:
    """The Hypothesis strategies of an inputs-only backend's drawn examples of ``clause``: every
    one keeps ``model``; under ci one per set of :func:`clause_buckets` for the sizes the model
    does not fix (batch, a length no layer is sized by), so that the length of one model's inputs
    varies from the smallest set's to the largest's; otherwise one. The second set comes first:
    the first example is the one an exporter traces, so the smallest set's (one step, an empty
    batch) comes after it, shorter than the traced input and an empty batch after a batch, and
    the larger sets' longer."""
    sets = []
    for sizes in clause_buckets(clause) if buckets else []:
        inputs = {n: v for n, v in sizes.items() if n not in model.params}
        if inputs not in sets:
            sets.append(inputs)
    sets = sets[1:2] + sets[:1] + sets[2:]
    return [strategy(clause, sizes, model) for sizes in sets] or [strategy(clause, None, model)]


def _shape(dims, params) -> tuple[int, ...]:
    return tuple(int(params[d]) if isinstance(d, str) else int(d) for d in dims)


def _lasts(size: int, at_least: int):
    """Positions (of a flattened array) that hold VOC_SIZE-1: the last index gets drawn often, and
    shrinks away unless a failure needs it."""
    if not size:
        return st.just([])
    return st.lists(st.integers(0, size - 1), min_size=at_least, max_size=3)


def _array(gen, params, drawn, dtype=None):
    """The strategy of one generator's array; ``dtype``: the one index dtype kept (inputs-only
    draws), where the generator draws it."""
    kind = next(k for k in GENERATORS if k in gen)
    if kind == "indices":
        return _indices(gen, params, dtype)
    if kind == "padded":
        return _padded(gen, params, dtype)
    if kind == "floats":
        low, high = (float(formula.evaluate(gen[k], params)) for k in ("low", "high"))
        return hnp.arrays(np.float32, _shape(gen["floats"], params),
                          elements=st.floats(low, high, width=32, allow_subnormal=False))
    return _resampled(gen, params, drawn)


# Elements come from strategies Hypothesis can reuse, so an array is drawn as a fill value and a
# few elements apart (milliseconds, where one draw per element took ten times longer). The
# composites are defined once, here: Hypothesis inspects a composite's source when it is made.
def _dtypes(gen, dtype) -> tuple[str, ...]:
    drawn = tuple(gen.get("dtype", ["int32"]))
    return (dtype,) if dtype in drawn else drawn


def _indices(gen, params, dtype=None):
    return _draw_indices(_shape(gen["indices"], params), int(formula.evaluate(gen["high"], params)),
                         _dtypes(gen, dtype), bool(gen.get("last")))


@st.composite
def _draw_indices(draw, shape, high, dtypes, last):
    dtype = draw(st.sampled_from(dtypes))
    array = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, high - 1)))
    array.flat[draw(_lasts(array.size, 1 if last else 0))] = high - 1
    return array.astype(dtype)


def _padded(gen, params, dtype=None):
    return _draw_rows(_shape(gen["padded"], params), int(formula.evaluate(gen["high"], params)),
                      _dtypes(gen, dtype), gen.get("layout", "anywhere") == "trailing",
                      0 if gen.get("empty_rows") else 1)


@st.composite
def _draw_rows(draw, shape, high, dtypes, trailing, least):
    batch, steps = shape
    dtype = draw(st.sampled_from(dtypes))
    if trailing:
        lengths = draw(hnp.arrays(np.int64, batch, elements=st.integers(least, steps)))
        present = np.arange(steps)[None, :] < lengths[:, None]
    else:
        present = draw(hnp.arrays(bool, shape))
        for b in np.nonzero(~present.any(axis=1))[0] if least else ():
            present[b, draw(st.integers(0, steps - 1))] = True
    values = draw(hnp.arrays(np.int64, shape, elements=st.integers(1, high - 1)))
    values.flat[draw(_lasts(values.size, 0))] = high - 1
    rows = np.where(present, values, 0)
    if rows.size and not rows.any():  # rows of zeros only, but never all of them: an
        rows.flat[draw(st.integers(0, rows.size - 1))] = high - 1  # all-masked batch is char.*
    return rows.astype(dtype)


def _resampled(gen, params, drawn):
    source = paths.get(drawn, gen["resample_masked"])
    masked = np.asarray(drawn[gen["where"]]) == 0
    low, high = (float(formula.evaluate(gen.get(k, default), params)) for k, default in (("low", -9), ("high", 9)))
    return _draw_resampled(source, masked, low, high)


@st.composite
def _draw_resampled(draw, source, masked, low, high):
    fresh = draw(hnp.arrays(np.float32, source.shape, elements=st.floats(low, high, width=32,
                                                                         allow_subnormal=False)))
    where = np.broadcast_to(masked.reshape(masked.shape + (1,) * (source.ndim - masked.ndim)), source.shape)
    return np.where(where, fresh, source).astype(np.float32)
