"""Expectation checks: each compares one field of an observation with the document's value,
a formula over the clause's parameters, another field, or the reference's observation.

A check returns None when it holds, or a :class:`Mismatch` with expected and observed values
that a reader can act on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from . import paths
from .spec import resolve_value
from .tolerances import DEFAULT, TOLERANCES


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
    """JSON-friendly, short form of a value for reports."""
    if isinstance(value, np.ndarray):
        if value.size > 64:
            return {"shape": list(value.shape), "dtype": str(value.dtype),
                    "min": _num(np.nanmin(value)) if value.size else None,
                    "max": _num(np.nanmax(value)) if value.size else None}
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.generic,)):
        return _plain(value.item())
    if isinstance(value, float):
        return _num(value)
    return value


def _num(x):
    x = float(x)
    if np.isnan(x):
        return "NaN"
    return round(x, 7)


def _field(ctx: Context, path: str):
    return paths.get(ctx.obs, path)


def _target(ctx: Context, check: dict, default_path: str):
    """The value a check compares with: 'reference', {'of': path}, or a literal/formula."""
    to = check.get("to", "reference")
    if to == "reference":
        if ctx.ref is None:
            raise ValueError("check compares with the reference but no reference observation exists")
        return paths.get(ctx.ref, default_path)
    if isinstance(to, dict) and "of" in to:
        return paths.get(ctx.obs, to["of"])
    return resolve_value(to, ctx.params)


def _tol(check):
    return TOLERANCES[check.get("tolerance", DEFAULT)]


def _close(a, b, tol) -> bool:
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, equal_nan=True, **tol))


def check_close(ctx, check):
    observed, expected = _field(ctx, check["of"]), _target(ctx, check, check["of"])
    if isinstance(observed, list) and observed and isinstance(observed[0], list):
        pairs = [(o, e) for os_, es in zip(observed, expected) for o, e in zip(os_, es)]
        ok = len(observed) == len(expected) and all(_close(o, e, _tol(check)) for o, e in pairs)
    elif isinstance(observed, list) and observed and isinstance(observed[0], np.ndarray):
        ok = len(observed) == len(expected) and all(_close(o, e, _tol(check)) for o, e in zip(observed, expected))
    else:
        ok = _close(observed, expected, _tol(check))
        if not ok:
            observed = _worst(observed, expected) or observed
    return ok, expected, observed


def _worst(observed, expected):
    """Where two same-shaped arrays differ most, for a failure message a person can act on."""
    try:
        a, b = np.asarray(observed, np.float64), np.asarray(expected, np.float64)
    except (TypeError, ValueError):
        return None
    if a.shape != b.shape or a.size <= 64:
        return None
    diff = np.abs(a - b)
    at = np.unravel_index(int(np.nanargmax(diff)), a.shape)
    return {"shape": list(a.shape), "max_abs_diff": _num(diff.max()), "at": [int(i) for i in at],
            "observed_there": _num(a[at]), "expected_there": _num(b[at]),
            "elements_off": int((~np.isclose(a, b, equal_nan=True)).sum())}


def check_equal(ctx, check):
    observed, expected = _field(ctx, check["of"]), _target(ctx, check, check["of"])
    return _plain(observed) == _plain(expected), expected, observed


def check_shape(ctx, check):
    observed = list(np.shape(_field(ctx, check["of"])))
    expected = _target(ctx, check, check["of"])
    if check.get("to", "reference") == "reference":
        expected = list(np.shape(expected))
    return observed == list(expected), expected, observed


def check_dtype(ctx, check):
    observed = str(np.asarray(_field(ctx, check["of"])).dtype)
    return observed == check["to"], check["to"], observed


def check_within(ctx, check):
    values = np.asarray(_field(ctx, check["of"]), dtype=np.float64)
    low, high = (resolve_value(check[k], ctx.params) for k in ("low", "high"))
    observed = [_num(values.min()), _num(values.max())] if values.size else []
    ok = bool(values.size) and values.min() >= low and values.max() <= high
    return ok, [low, high], observed


def check_uniform(ctx, check):
    """Uniform on [low, high]: Kolmogorov-Smirnov at level alpha, and mean and variance within
    4 standard errors of (low+high)/2 and (high-low)^2/12 (scipy.stats).

    False-alarm rate for a true uniform sample: at most alpha + 2*P(|Z| > 4) = alpha + 1.27e-4
    (union bound; the z tests are asymptotic). The clauses draw with a fixed seed, so a
    framework's verdict does not change from run to run."""
    values = np.asarray(_field(ctx, check["of"]), dtype=np.float64).ravel()
    low, high = (resolve_value(check[k], ctx.params) for k in ("low", "high"))
    alpha = check.get("alpha", 0.001)
    n = values.size
    mean, var = (low + high) / 2, (high - low) ** 2 / 12
    p = stats.kstest(values, "uniform", args=(low, high - low)).pvalue
    z_mean = (values.mean() - mean) / np.sqrt(var / n)
    z_var = (values.var(ddof=1) - var) / (var * np.sqrt(0.8 / n))  # kurtosis of uniform: 1.8
    ok = p > alpha and abs(z_mean) < 4 and abs(z_var) < 4
    expected = {"ks_p_above": alpha, "mean": mean, "variance": _num(var), "|z| below": 4,
                "false_alarm_rate_at_most": float(f"{alpha + 4 * stats.norm.sf(4):.3g}")}
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
    values = np.asarray(_field(ctx, check["of"]), dtype=np.float64).ravel()
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
    m = np.asarray(_field(ctx, check["of"]), dtype=np.float64)
    alpha = check.get("alpha", 1e-6)
    bound = float(stats.norm.isf(alpha / 4))
    z = {}
    if m.ndim == 2 and m.shape[1] > 1:
        z["z_neighbours_in_rows"] = _neighbour_z(m[:, :-1], m[:, 1:])
    if m.ndim == 2 and m.shape[0] > 1:
        z["z_neighbours_in_columns"] = _neighbour_z(m[:-1], m[1:])
    ok = bool(z) and all(np.isfinite(v) and abs(v) < bound for v in z.values())
    expected = {"|z| below": round(bound, 3), "false_alarm_rate_at_most": alpha}
    return ok, expected, {k: _num(v) for k, v in z.items()} or f"not a matrix: shape {list(m.shape)}"


def check_differ(ctx, check):
    same = _close(_field(ctx, check["of"]), _target(ctx, check, check["of"]), TOLERANCES["exact"])
    return not same, "different values", "identical values" if same else "different values"


def check_last_step(ctx, check):
    """The field equals the last step of a return_sequences=True output."""
    observed = np.asarray(_field(ctx, check["of"]))
    expected = np.asarray(_target(ctx, check, check["of"]))[:, -1]
    return _close(observed, expected, _tol(check)), expected, observed


def check_identical(ctx, check):
    a, b = np.asarray(_field(ctx, check["of"])), np.asarray(_target(ctx, check, check["of"]))
    ok = a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return ok, b, a


def check_row_norms(ctx, check):
    matrix = np.asarray(_field(ctx, check["of"]), dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1)
    target = resolve_value(check.get("to", 1.0), ctx.params)
    ok = bool(np.allclose(norms, target, **TOLERANCES[check.get("tolerance", "loose")]))
    return ok, f"every row norm {target}", {"min": _num(norms.min()), "max": _num(norms.max())}


def check_changed_rows(ctx, check):
    before = np.asarray(_field(ctx, check["of"]))
    after = np.asarray(_target(ctx, check, check["of"]))
    changed = sorted(int(i) for i in np.nonzero(np.any(before != after, axis=1))[0])
    expected = sorted(set(resolve_value(check["rows"], ctx.params)))
    return changed == expected, expected, changed


def check_is_true(ctx, check):
    value = _field(ctx, check["of"])
    return bool(np.all(value)), True, _plain(value)


def check_is_false(ctx, check):
    value = _field(ctx, check["of"])
    return not bool(np.any(value)), False, _plain(value)


def check_raises(ctx, check):
    raised = ctx.obs.get("raised")
    expected = check.get("to")
    wanted = [expected] if isinstance(expected, str) else expected
    ok = raised is not None and (wanted is None or raised in wanted)
    observed = f"raises {raised}: {ctx.obs.get('message')}" if raised else "no exception"
    return ok, f"raises {' or '.join(wanted) if wanted else 'an exception'}", observed


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
    seq = np.asarray(_field(ctx, check["of"]))
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
    observed = np.asarray(_field(ctx, check["of"]), dtype=np.float64)
    expected = np.asarray(_target(ctx, check, check["of"]), dtype=np.float64)
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


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


def evaluate(ctx: Context, check: dict) -> Result:
    name = check["check"]
    field = check.get("of", "")
    why = check.get("why", "")
    if "raised" in ctx.obs and name not in ("raises", "warns", "no_warning"):
        return Result(False, name, field, _describe_expected(ctx, check),
                      f"raises {ctx.obs['raised']}: {ctx.obs.get('message')}", why)
    try:
        ok, expected, observed = CHECKS[name](ctx, check)
    except paths.Missing as exc:
        return Result(False, name, field, check.get("to"), f"no field {exc}", why)
    return Result(bool(ok), name, field, _plain(expected), _plain(observed), why)


def _describe_expected(ctx, check):
    try:
        return _plain(_target(ctx, check, check.get("of", "")))
    except Exception:  # noqa: BLE001 - only for the message
        return check.get("to")
