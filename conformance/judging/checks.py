"""Expectation checks: each compares one field of an observation with the document's value,
a formula over the clause's parameters, another field, or the reference's observation.

A check returns None when it holds, or a :class:`Mismatch` with expected and observed values
that a reader can act on.

Every check states the shape and finiteness it needs: a check that reads the values of a field
(``within``, ``attains``, ``uniform``, ``normal``, ``independent``, ``row_norms``, ...) needs an
array of real numbers (booleans, complex numbers and strings are refused) of the shape the
reference's observation has at that field (:func:`_fitting`), and finite values where it judges a
sample; one that compares with a target needs the target's shape and kind. So a 1x1 ``[[1.0]]``
never passes "every component is 1" for a 5 x 2 layer.

Nothing passes by accident: values are compared in full (the short forms made by :func:`_plain`
are for messages only), nested lists must have the same lengths at every level, a value that is
not numeric never matches a number, and NaN never matches anything, NaN included, unless the
check says ``nan: equal`` (then NaN matches NaN at the same place).

Each check is declared, with its arguments, in conformance/language/vocabulary/checks.py
(tests/test_vocabulary.py fails on a check implemented here but not declared there).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from conformance.judging.tolerances import DEFAULT, TOLERANCES
from conformance.language import paths
from conformance.language.cases import resolve_value


class Unfit(ValueError):
    """The observation holds something the check cannot judge (a mismatch, with this message)."""


class NotNumeric(Unfit):
    """The observation holds something else where the check needs numbers."""


class WrongShape(Unfit):
    """The observation is not of the shape the check needs (the reference's at the same field)."""


@dataclass
class Result:
    """One check's verdict, with JSON-friendly expected and observed values."""

    ok: bool
    check: str
    field: str
    expected: object
    observed: object
    message: str


@dataclass
class Context:
    obs: dict
    ref: dict | None
    params: dict
    case: object


def _plain(value):
    """JSON-friendly, short form of a value for reports.

    Made for every check of every case judged (the passing checks of each drawn example too),
    so the common leaves come first: a float, an array of integers or booleans in one call."""
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, np.ndarray):
        if value.size > 64:
            short = {"shape": list(value.shape), "dtype": str(value.dtype)}
            numbers = _numeric(value)
            if numbers is not None:
                nan = int(np.isnan(numbers).sum())
                if not nan:
                    short.update(min=_num(numbers.min()), max=_num(numbers.max()), nan=0)
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: min and max are NaN
                        short.update(min=_num(np.nanmin(numbers)), max=_num(np.nanmax(numbers)), nan=nan)
            return short
        if value.dtype.kind in "biu":
            return value.tolist()  # Python ints and booleans: what each element would give
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.generic,)):
        return _plain(value.item())
    return value


def _num(x):
    x = float(x)
    if x != x:  # NaN
        return "NaN"
    return round(x, 7)


def _field(ctx: Context, path: str):
    return paths.get(ctx.obs, path)


def _target(ctx: Context, check: dict, default_path: str):
    """The value a check compares with: 'reference', {'reference': semantics} (the reference's
    observation under that alternative semantics), {'of': path}, or a literal/formula."""
    to = check.get("to", "reference")
    if to == "reference":
        if ctx.ref is None:
            raise ValueError("check compares with the reference but no reference observation exists")
        return paths.get(ctx.ref, default_path)
    if isinstance(to, dict) and "reference" in to:
        under = (ctx.ref or {}).get("under") or {}
        if to["reference"] not in under:
            raise ValueError(f"check compares with the reference under {to['reference']!r}, but the reference "
                             f"made no observation under it for this case (it has: {', '.join(under) or 'none'}; "
                             "backends/reference.py, semantics_for, says where each applies)")
        return paths.get(under[to["reference"]], default_path)
    if isinstance(to, dict) and "of" in to:
        return paths.get(ctx.obs, to["of"])
    if check.get("literal"):
        return to
    return resolve_value(to, ctx.params)


def _tol(check):
    return TOLERANCES[check.get("tolerance", DEFAULT)]


def _nan_equal(check) -> bool:
    """NaN matches NaN only where the check says so (``nan: equal``)."""
    return check.get("nan", "never") == "equal"


def _array(value):
    """``value`` as a regular NumPy array, or None for None, strings, mappings and ragged nests."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        return np.asarray(value)
    except (TypeError, ValueError):
        return None


def _numeric(value):
    """``value`` as a float64 array if it is a regular array of numbers or booleans, else None.

    None, strings, objects and ragged nests are not numbers (NumPy would turn None into NaN)."""
    raw = _array(value)
    if raw is None or raw.dtype.kind not in "biuf":
        return None
    return raw.astype(np.float64)


def _is_bool(value) -> bool:
    """A boolean array or scalar (what :func:`_numeric` accepts besides numbers)."""
    raw = _array(value)
    return raw is not None and raw.dtype.kind == "b"


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.dtype == object
                                                 and value.ndim > 0)


def _close(a, b, tol, nan_equal=False) -> bool:
    """Same shape and every element close; nests that are not one array (per-layer weight
    lists) must have the same length at every level and be close element by element."""
    x, y = _numeric(a), _numeric(b)
    if x is not None and y is not None:
        return (x.shape == y.shape and _is_bool(a) == _is_bool(b)  # a flag is not a number
                and bool(np.allclose(x, y, equal_nan=nan_equal, **tol)))
    if _is_sequence(a) and _is_sequence(b):
        return len(a) == len(b) and all(_close(p, q, tol, nan_equal) for p, q in zip(a, b))
    return False


def check_close(ctx, check):
    """Close within the tolerance; with ``exact_zeros``, also exactly 0 wherever the target is
    exactly 0 (a value filled in, such as pad_packed_sequence's padding, not computed)."""
    observed, expected = _field(ctx, check["of"]), _target(ctx, check, check["of"])
    ok = _close(observed, expected, _tol(check), _nan_equal(check))
    if not ok:
        return ok, expected, _worst(observed, expected, _nan_equal(check)) or observed
    if check.get("exact_zeros"):
        off = _zeros_not_kept(observed, expected)
        if off:
            return False, "exactly 0 wherever the target is 0", off
    return ok, expected, observed


def _zeros_not_kept(observed, expected, at=()) -> dict | None:
    """Where ``expected`` is exactly 0 and ``observed`` is not (close arrays, or nests of them):
    the first such place, its value and how many there are; None if there is none."""
    x, y = _numeric(observed), _numeric(expected)
    if x is not None and y is not None:
        off = (y == 0) & (x != 0)
        if not off.any():
            return None
        where = tuple(int(i) for i in np.argwhere(off)[0])
        return {"at": list(at + where), "observed there": f"{x[where]:.6g}", "places not 0": int(off.sum())}
    for n, (a, b) in enumerate(zip(observed, expected)):
        found = _zeros_not_kept(a, b, at + (n,))
        if found:
            return found
    return None


def _worst(observed, expected, nan_equal=False):
    """Where two same-shaped arrays differ most, for a failure message a person can act on.
    A NaN on one side only (or on both, unless NaN matches NaN) counts as the largest difference."""
    a, b = _numeric(observed), _numeric(expected)
    if a is None or b is None or a.shape != b.shape or a.size <= 64:
        return None
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - b)
    both_nan = np.isnan(a) & np.isnan(b)
    ranked = np.where(np.isnan(diff) & ~(both_nan & nan_equal), np.inf, np.nan_to_num(diff))
    at = np.unravel_index(int(np.argmax(ranked)), a.shape)
    return {"shape": list(a.shape), "max_abs_diff": _num(diff[at]), "at": [int(i) for i in at],
            "observed_there": _num(a[at]), "expected_there": _num(b[at]),
            "elements_off": int((~np.isclose(a, b, equal_nan=nan_equal)).sum())}


def _full(value):
    """Every element of ``value`` as plain Python (arrays in full, tuples as lists)."""
    if isinstance(value, np.ndarray):
        return _full(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_full(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _full(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _same(a, b, nan_equal) -> bool:
    """Exact equality of two plain values, NaN handled as the check says."""
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(_same(p, q, nan_equal) for p, q in zip(a, b)))
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(_same(a[k], b[k], nan_equal) for k in a))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return nan_equal
    if _scalar_kind(a) != _scalar_kind(b):
        return False  # a flag is not a count (True != 1), a complex number never a real one (10+0j != 10)
    return bool(a == b)  # scalars of one kind: Python's equality (an integer and an integral float are one number)


def _scalar_kind(value) -> str:
    """What ``equal`` compares besides the value: booleans, real numbers (integers and floats
    alike: a count read as 10.0 is the count 10, 10.9 is not), complex numbers, anything else."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "real"
    if isinstance(value, complex):
        return "complex"
    return "other"


def check_equal(ctx, check):
    observed, expected = _field(ctx, check["of"]), _target(ctx, check, check["of"])
    return _same(_full(observed), _full(expected), _nan_equal(check)), expected, observed


def _numbers(value, what="value"):
    """``value`` as a float64 array, or NotNumeric saying what it is instead: booleans are not
    numbers here (a ``[[True]]`` matrix is not a matrix of ones)."""
    numbers = _numeric(value)
    if numbers is None or _array(value).dtype.kind == "b":
        raise NotNumeric(f"{what} is not an array of numbers: {_kind(value)}")
    return numbers


def _needed_shape(ctx: Context, path: str):
    """The shape the field at ``path`` must have: the reference's at the same field, for the same
    case (its parameters and inputs). None without a reference observation holding that field (a
    check evaluated without one, or a pin on a field of an action the reference answered by
    raising): then the check reads the values alone."""
    if ctx.ref is None:
        return None
    try:
        reference = _numeric(paths.get(ctx.ref, path))
    except paths.Missing:
        return None
    return None if reference is None else reference.shape


def _fitting(ctx: Context, path: str, what: str = "the field", finite: bool = False):
    """The field at ``path`` as a float64 array of real numbers of the shape the check needs
    (:func:`_needed_shape`), and with ``finite`` of finite values only; :class:`Unfit` (a mismatch
    saying what is wrong) otherwise."""
    numbers = _numbers(_field(ctx, path), what)
    shape = _needed_shape(ctx, path)
    if shape is not None and numbers.shape != shape:
        raise WrongShape(f"{what} has shape {list(numbers.shape)}, where the reference's {path} has "
                         f"{list(shape)}")
    if finite and not np.isfinite(numbers).all():
        raise Unfit(f"{what} holds {int((~np.isfinite(numbers)).sum())} values that are not finite "
                    f"(NaN or infinite) of {numbers.size}")
    return numbers


def _kind(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def check_shape(ctx, check):
    observed_value = _field(ctx, check["of"])
    if _numeric(observed_value) is None:
        return False, _target(ctx, check, check["of"]), f"not an array of numbers: {_kind(observed_value)}"
    observed = list(np.shape(observed_value))
    expected = _target(ctx, check, check["of"])
    to = check.get("to", "reference")
    if to == "reference" or (isinstance(to, dict) and "of" in to):  # that array's shape
        if _is_bool(observed_value) != _is_bool(expected):
            return False, f"{'booleans' if _is_bool(expected) else 'numbers'} of shape {list(np.shape(expected))}", \
                f"{'booleans' if _is_bool(observed_value) else 'numbers'} of shape {observed}"
        expected = list(np.shape(expected))
    return observed == list(expected), expected, observed


def check_dtype(ctx, check):
    observed = str(np.asarray(_field(ctx, check["of"])).dtype)
    return observed == check["to"], check["to"], observed


def check_within(ctx, check):
    """Every value in [low, high], an array of real numbers of the reference's shape (a 1 x 1
    ``[[1.0]]`` is not a 5 x 2 matrix of ones); NaN lies nowhere."""
    values = _fitting(ctx, check["of"])
    low, high = (resolve_value(check[k], ctx.params) for k in ("low", "high"))
    observed = [_num(values.min()), _num(values.max())] if values.size else []
    ok = bool(values.size) and values.min() >= low and values.max() <= high
    return ok, [low, high], observed


def _stats():
    """scipy.stats, imported on first use: it takes a second to import, and most processes that
    load this module (the xdist controller, a run without a statistical check) never use it."""
    from scipy import stats

    return stats


def check_uniform(ctx, check):
    """Uniform on [low, high]: Kolmogorov-Smirnov at level alpha, and mean and variance within
    4 standard errors of (low+high)/2 and (high-low)^2/12 (scipy.stats).

    False-alarm rate for a true uniform sample: at most alpha + 2*P(|Z| > 4) = alpha + 1.27e-4
    (union bound; the z tests are asymptotic). The clauses draw with a fixed seed, so a
    framework's verdict does not change from run to run."""
    values = _fitting(ctx, check["of"], finite=True).ravel()
    low, high = (resolve_value(check[k], ctx.params) for k in ("low", "high"))
    alpha = check.get("alpha", 0.001)
    n = values.size
    mean, var = (low + high) / 2, (high - low) ** 2 / 12
    p = _stats().kstest(values, "uniform", args=(low, high - low)).pvalue
    z_mean = (values.mean() - mean) / np.sqrt(var / n)
    z_var = (values.var(ddof=1) - var) / (var * np.sqrt(0.8 / n))  # kurtosis of uniform: 1.8
    ok = p > alpha and abs(z_mean) < 4 and abs(z_var) < 4
    expected = {"ks_p_above": alpha, "mean": mean, "variance": _num(var), "|z| below": 4,
                "false_alarm_rate_at_most": float(f"{alpha + 4 * _stats().norm.sf(4):.3g}")}
    observed = {"ks_p": _num(p), "mean": _num(values.mean()), "variance": _num(values.var(ddof=1)),
                "z_mean": _num(z_mean), "z_variance": _num(z_var)}
    return ok, expected, observed


def check_normal(ctx, check):
    """Normal with the given ``mean`` and ``std``: Kolmogorov-Smirnov at level alpha, and mean
    and variance within 4 standard errors (the sample variance of a normal has standard error
    sigma^2 * sqrt(2/(n-1))). False-alarm rate for a true normal sample: at most
    alpha + 2*P(|Z| > 4) = alpha + 1.27e-4 (union bound; the z tests are asymptotic)."""
    values = _fitting(ctx, check["of"], finite=True).ravel()
    mean, std = (float(resolve_value(check[k], ctx.params)) for k in ("mean", "std"))
    alpha = check.get("alpha", 0.001)
    n = values.size
    p = _stats().kstest(values, "norm", args=(mean, std)).pvalue
    z_mean = (values.mean() - mean) / (std / np.sqrt(n))
    z_var = (values.var(ddof=1) - std ** 2) / (std ** 2 * np.sqrt(2 / (n - 1)))
    ok = p > alpha and abs(z_mean) < 4 and abs(z_var) < 4
    expected = {"ks_p_above": alpha, "mean": mean, "variance": _num(std ** 2), "|z| below": 4,
                "false_alarm_rate_at_most": float(f"{alpha + 4 * _stats().norm.sf(4):.3g}")}
    observed = {"ks_p": _num(p), "mean": _num(values.mean()), "variance": _num(values.var(ddof=1)),
                "z_mean": _num(z_mean), "z_variance": _num(z_var)}
    return ok, expected, observed


def attains_false_alarm(n: int, width: float, margin: float) -> float:
    """P(n draws of U[low, low+width] miss [low, low+margin) or (high-margin, high]), bounded by
    the sum of the two: 2*(1 - margin/width)**n."""
    return 2.0 * (1.0 - margin / width) ** n


def check_attains(ctx, check):
    """The sample reaches both ends of [low, high]: min < low + margin and max > high - margin.

    A range check alone passes a distribution that is slightly too narrow; this one fails it
    whenever either end is short by more than ``margin``, whatever the seed (U[-0.0495, 0.0495]
    never draws above 0.0496). For n independent draws from U[low, high] an end is missed with
    probability (1 - margin/(high-low))**n, so a true uniform fails with probability at most
    2*(1 - margin/(high-low))**n: with n = 10,000, [-0.05, 0.05] and margin 0.0004,
    2*0.996**10000 = 7.9e-18."""
    values = _fitting(ctx, check["of"], finite=True).ravel()
    low, high = (resolve_value(check[k], ctx.params) for k in ("low", "high"))
    margin = resolve_value(check.get("margin", 0.0004), ctx.params)
    ok = bool(values.size) and values.min() < low + margin and values.max() > high - margin
    expected = {"min_below": _num(low + margin), "max_above": _num(high - margin),
                "false_alarm_rate": float(f"{attains_false_alarm(values.size, high - low, margin):.3g}")}
    observed = {"min": _num(values.min()), "max": _num(values.max())} if values.size else "no values"
    return ok, expected, observed


def _neighbour_z(a, b):
    """sqrt(n) * Pearson correlation of n pairs: about N(0, 1) when the components are
    independent (products of neighbouring centred components are uncorrelated, even where
    pairs overlap). NaN when either side has no variation."""
    a, b = a.ravel(), b.ravel()
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1] * np.sqrt(a.size))


def check_independent(ctx, check):
    """The components of a matrix were drawn independently: neighbouring components in a row
    (column j against column j+1, over every row) and in a column (row i against row i+1) are
    uncorrelated. Each of the two z statistics is tested two-sided at level alpha/2, so a
    matrix of independent draws fails with probability at most alpha (Bonferroni; asymptotic
    normality): alpha = 1e-6 puts the bound at |z| < 5.03. A matrix that repeats one value
    along each row (or column) has correlation 1 there, z = sqrt(n), and fails whatever the
    seed; a matrix without any variation fails too."""
    m = _fitting(ctx, check["of"], finite=True)
    alpha = check.get("alpha", 1e-6)
    bound = float(_stats().norm.isf(alpha / 4))
    z = {}
    if m.ndim == 2 and m.shape[1] > 1:
        z["z_neighbours_in_rows"] = _neighbour_z(m[:, :-1], m[:, 1:])
    if m.ndim == 2 and m.shape[0] > 1:
        z["z_neighbours_in_columns"] = _neighbour_z(m[:-1], m[1:])
    ok = bool(z) and all(np.isfinite(v) and abs(v) < bound for v in z.values())
    expected = {"|z| below": round(bound, 3), "false_alarm_rate_at_most": alpha}
    return ok, expected, {k: _num(v) for k, v in z.items()} or f"not a matrix: shape {list(m.shape)}"


def check_differ(ctx, check):
    """Two arrays of real numbers, of one shape, finite, that are not equal: values that cannot
    be compared (NaN, infinities, None, strings, booleans, arrays of another shape) do not count
    as different; with ``nan: differs``, NaN in one array and none in the other does."""
    raw_a, raw_b = _array(_field(ctx, check["of"])), _array(_target(ctx, check, check["of"]))
    a, b = _numeric(raw_a), _numeric(raw_b)
    if a is None or b is None or "b" in (raw_a.dtype.kind, raw_b.dtype.kind):
        return False, "different values", "not arrays of numbers"
    if a.shape != b.shape:
        return False, "different values", f"arrays of different shapes: {list(a.shape)} and {list(b.shape)}"
    _fitting(ctx, check["of"])  # of the reference's shape: two 1 x 1 builds are not two layers
    if np.isnan(a).any() or np.isnan(b).any():
        if check.get("nan", "never") == "differs" and np.isnan(a).any() != np.isnan(b).any():
            return True, "different values", "NaN values in one of them only"
        return False, "different values", "NaN values"
    if np.isinf(a).any() or np.isinf(b).any():
        return False, "different values", "infinite values"
    same = _close(a, b, TOLERANCES["exact"])
    return not same, "different values", "identical values" if same else "different values"


def check_last_step(ctx, check):
    """The field equals the last step of a return_sequences=True output."""
    observed = _fitting(ctx, check["of"], "the field")
    expected = _numbers(_target(ctx, check, check["of"]), "the sequence")[:, -1]
    return _close(observed, expected, _tol(check), _nan_equal(check)), expected, observed


def check_identical(ctx, check):
    a, b = np.asarray(_field(ctx, check["of"])), np.asarray(_target(ctx, check, check["of"]))
    if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        return False, b, f"not an array of numbers: {_kind(_field(ctx, check['of']))}"
    ok = a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if ok and not _nan_equal(check) and np.isnan(a.astype(np.float64)).any():
        return False, b, "NaN values (NaN matches NaN only with nan: equal)"
    return ok, b, a


def check_row_norms(ctx, check):
    """Every row's norm is ``to``; with ``rows: [i, ...]``, those rows' norms are ``to`` (one
    number, or one per row)."""
    matrix = _fitting(ctx, check["of"], "the matrix")
    if matrix.ndim != 2:
        raise WrongShape(f"the matrix has shape {list(matrix.shape)}: not a matrix of rows")
    norms = np.linalg.norm(matrix, axis=1)
    target = resolve_value(check.get("to", 1.0), ctx.params)
    tolerance = TOLERANCES[check.get("tolerance", "loose")]
    if "rows" not in check:
        if not norms.size:
            return False, f"every row norm {target}", "a matrix without rows"
        ok = bool(np.allclose(norms, target, **tolerance))
        return ok, f"every row norm {target}", {"min": _num(norms.min()), "max": _num(norms.max())}
    rows = [int(resolve_value(r, ctx.params)) for r in check["rows"]]
    if any(not 0 <= r < norms.size for r in rows):
        return False, {"rows": rows, "norms": target}, f"a matrix of {norms.size} rows"
    targets = np.broadcast_to(np.asarray(target, np.float64), (len(rows),))
    picked = norms[rows]
    ok = bool(np.allclose(picked, targets, **tolerance))
    return ok, {"rows": rows, "norms": targets.tolist()}, {"rows": rows, "norms": [_num(n) for n in picked]}


def check_unit_norm_epsilon(ctx, check):
    """The field is ``w / (epsilon + ||w||)`` row by row, ``w`` the matrix the reference's unit-norm
    constraint was given (its observation's ``unconstrained``): what Keras' UnitNorm computes.
    Each row of norm n ends at norm n / (n + epsilon): short of 1 by epsilon / n, so only rows
    of tiny norm show it, and every other row is the reference's, within the tolerance. A row
    the constraint skipped (left at its norm n) or normalized exactly (norm 1 where n is tiny)
    does not pass."""
    if ctx.ref is None or "unconstrained" not in ctx.ref:
        raise ValueError("unit_norm_epsilon reads the reference's matrix before its constraint "
                         "('unconstrained': a train_step with embeddings_constraint on the reference)")
    observed = _numbers(_field(ctx, check["of"]))
    given = _numbers(ctx.ref["unconstrained"], "the reference's unconstrained matrix")
    if observed.shape != given.shape or observed.ndim != 2:
        return False, f"a matrix of shape {list(given.shape)}", f"shape {list(observed.shape)}"
    norms = np.linalg.norm(given, axis=1, keepdims=True)
    expected = given / (float(check["epsilon"]) + norms)
    off = ~np.isclose(observed, expected, **TOLERANCES[check.get("tolerance", "loose")]).all(axis=1)
    if not off.any():
        return True, "w / (epsilon + ||w||) in every row", {
            "rows": int(observed.shape[0]), "rows of norm below 1e-3 before": int((norms < 1e-3).sum())}
    rows = [int(i) for i in np.nonzero(off)[0][:5]]  # the first rows off, with their norms
    n = norms.ravel()[rows]
    return False, {"rows": rows, "norms": (n / (n + float(check["epsilon"]))).tolist()}, {
        "rows": rows, "norms": np.linalg.norm(observed[rows], axis=1).tolist(), "rows off": int(off.sum())}


def check_changed_rows(ctx, check):
    before = _fitting(ctx, check["of"], "the matrix before")
    after = _numbers(_target(ctx, check, check["of"]), "the matrix after")
    if before.shape != after.shape or before.ndim != 2:
        return False, "same-shaped matrices", f"shapes {list(before.shape)} and {list(after.shape)}"
    changed = sorted(int(i) for i in np.nonzero(np.any(before != after, axis=1))[0])
    if check["rows"] == "looked_up":  # the rows the clause's x looks up
        expected = sorted({int(i) for i in np.asarray(ctx.case.args["x"]).ravel()})
    else:
        expected = sorted(set(resolve_value(check["rows"], ctx.params)))
    return changed == expected, expected, changed


def _booleans(value):
    """Booleans only: NaN, numbers, strings and None are neither true nor false here."""
    array = _array(value)
    return array if array is not None and array.dtype.kind == "b" and array.size else None


def _boolean_field(ctx, path):
    """The field's booleans, of the reference's shape at the same field; None otherwise."""
    value = _booleans(_field(ctx, path))
    shape = _needed_shape(ctx, path)
    return None if value is None or (shape is not None and value.shape != shape) else value


def check_is_true(ctx, check):
    value = _boolean_field(ctx, check["of"])
    return value is not None and bool(np.all(value)), True, _plain(_field(ctx, check["of"]))


def check_is_false(ctx, check):
    value = _boolean_field(ctx, check["of"])
    return value is not None and not bool(np.any(value)), False, _plain(_field(ctx, check["of"]))


def check_raises(ctx, check):
    raised = ctx.obs.get("raised")
    expected = check.get("to")
    wanted = [expected] if isinstance(expected, str) else expected
    ok = raised is not None and (wanted is None or raised in wanted)
    observed = f"raises {raised}: {ctx.obs.get('message')}" if raised else "no exception"
    return ok, f"raises {' or '.join(wanted) if wanted else 'an exception'}", observed


def check_first_steps(ctx, check):
    """What an export whose time axis was frozen at the traced length returns: a longer input cut
    short to its first steps (the field equals the target's first steps, as many as the field has),
    a shorter one refused (raised one of ``raises``)."""
    wanted = check.get("raises") or []
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    expected = f"the target's first steps (axis 1), or raises {' or '.join(wanted) or 'nothing'}"
    raised = ctx.obs.get("raised")
    if raised is not None:
        return raised in wanted, expected, f"raises {raised}: {ctx.obs.get('message')}"
    observed = _numbers(_field(ctx, check["of"]), "the field")
    target = _numbers(_target(ctx, check, check["of"]), "the target")
    steps = observed.shape[1] if observed.ndim >= 2 else -1
    if (steps < min(1, target.shape[1] if target.ndim >= 2 else 1) or observed.ndim != target.ndim
            or observed.shape[0] != target.shape[0] or observed.shape[2:] != target.shape[2:]
            or steps > target.shape[1]):
        return False, expected, f"an array of shape {list(observed.shape)} (the target's: {list(target.shape)})"
    first = target[:, :steps]
    return _close(observed, first, _tol(check)), first, observed


def _matching(ctx, check):
    text = check.get("matching", "").lower()
    return [w for w in ctx.obs.get("warnings", []) if text in w.lower()]


def check_warns(ctx, check):
    hits = _matching(ctx, check)
    return bool(hits), f"a warning mentioning {check.get('matching')!r}", hits or "no warning"


def check_no_warning(ctx, check):
    hits = _matching(ctx, check)
    return not hits, f"no warning mentioning {check.get('matching')!r}", hits or "no warning"


def _started(ctx):
    """(sample, step) -> True from the sample's first unmasked (non-zero) input on, for the
    clause's first input: before it an RNN has seen nothing (what it outputs there is
    char.masked-leading-steps), and a sample without any input is never started."""
    x = np.asarray(ctx.case.args["inputs"][0])
    return x, np.cumsum(x != 0, axis=1) > 0


def check_repeats_at_masked(ctx, check):
    """At each masked step (index 0) after a sample's first unmasked step, the output repeats
    the previous one, in every sample of the batch."""
    seq = _fitting(ctx, check["of"], "the sequence")
    x, started = _started(ctx)
    if seq.shape[:2] != x.shape:
        return False, f"one output per step, shape {list(x.shape)} + (units,)", f"shape {list(seq.shape)}"
    bad = [(b, t) for b in range(x.shape[0]) for t in range(1, x.shape[1])
           if x[b, t] == 0 and started[b, t - 1]
           and not np.allclose(seq[b, t], seq[b, t - 1], **TOLERANCES["float32"])]
    return not bad, "masked steps repeat the previous output", (
        f"differs at (sample, step) {bad}" if bad else "masked steps repeat the previous output")


def check_close_from_first_input(ctx, check):
    """Close to the target at every (sample, step) from the sample's first unmasked input on;
    the leading masked steps and all-masked samples are left out (the document is silent on
    them). For a per-step output of the clause's first input."""
    observed = _fitting(ctx, check["of"], "the sequence")
    expected = _numbers(_target(ctx, check, check["of"]), "the target sequence")
    x, started = _started(ctx)
    if observed.shape != expected.shape or observed.shape[:2] != x.shape:
        return False, f"shape {list(expected.shape)}", f"shape {list(observed.shape)}"
    near = np.isclose(observed, expected, **_tol(check)).reshape(x.shape + (-1,)).all(axis=-1)
    bad = [(int(b), int(t)) for b, t in zip(*np.nonzero(started & ~near))]
    if not bad:
        return True, "close at every step from the first input on", "close"
    b, t = bad[0]
    return False, {"at (sample, step)": [b, t], "expected there": expected[b, t]}, {
        "differs at (sample, step)": bad, "observed there": observed[b, t]}


# Keras' initializer names: the short name a user writes and the class name a config holds
INITIALIZER_CLASSES = {"uniform": "RandomUniform", "random_uniform": "RandomUniform", "ones": "Ones",
                       "zeros": "Zeros"}


def check_initializer(ctx, check):
    """The field (a layer config's initializer: ``{class_name, **arguments}``, or a bare name)
    is the initializer ``to``, by its short name (the document's 'uniform') or its class name
    (RandomUniform), with ``low`` and ``high`` as its range where the config gives one: a
    short name alone stands for its default arguments, which are the document's."""
    value = _field(ctx, check["of"])
    wanted = check["to"]
    names = {wanted.lower(), INITIALIZER_CLASSES.get(wanted.lower(), wanted).lower()}
    config = {"class_name": value} if isinstance(value, str) else value
    expected = f"{wanted} ({INITIALIZER_CLASSES.get(wanted.lower(), wanted)}), range [{check['low']}, {check['high']}]"
    if not isinstance(config, dict) or str(config.get("class_name", "")).lower() not in names:
        return False, expected, value
    args = {k: v for k, v in config.items() if k not in ("class_name", "seed")}
    if not args:  # the bare name: its default arguments
        return True, expected, value
    low, high = (resolve_value(check[k], ctx.params) for k in ("low", "high"))
    return (args.get("minval") == low and args.get("maxval") == high), expected, value


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


def evaluate(ctx: Context, check: dict) -> Result:
    name = check["check"]
    field = check.get("of", "")
    why = check.get("why", "")
    if "raised" in ctx.obs and name not in ("raises", "first_steps", "warns", "no_warning"):
        return Result(False, name, field, _describe_expected(ctx, check),
                      f"raises {ctx.obs['raised']}: {ctx.obs.get('message')}", why)
    try:
        ok, expected, observed = CHECKS[name](ctx, check)
    except paths.Missing as exc:
        return Result(False, name, field, check.get("to"), f"no field {exc}", why)
    except Unfit as exc:
        return Result(False, name, field, _describe_expected(ctx, check), str(exc), why)
    return Result(bool(ok), name, field, _plain(expected), _plain(observed), why)


def _describe_expected(ctx, check):
    try:
        return _plain(_target(ctx, check, check.get("of", "")))
    except Exception:  # noqa: BLE001 - only for the message
        return check.get("to")
