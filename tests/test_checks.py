"""The comparison logic, on observations made by hand."""
import numpy as np
import pytest

from conformance.judging.checks import Context, evaluate
from conformance.running.actions import Case


def ev(obs, check, ref=None, params=None, case=None):
    return evaluate(Context(obs, ref, params or {}, case), check)


def test_uniform_accepts_uniform_and_rejects_normal_and_wider_draws():
    rng = np.random.default_rng(7)
    check = {"check": "uniform", "of": "m", "low": -0.05, "high": 0.05}
    assert ev({"m": rng.uniform(-0.05, 0.05, (1000, 10))}, check).ok
    assert not ev({"m": rng.normal(0, 0.029, (1000, 10))}, check).ok   # same variance, not uniform
    assert not ev({"m": rng.uniform(-0.06, 0.06, (1000, 10))}, check).ok
    assert not ev({"m": rng.uniform(-0.05, 0.05, (1000, 10)) + 0.002}, check).ok  # shifted mean


def test_within_reports_the_observed_range():
    r = ev({"m": np.array([-0.2, 0.01])}, {"check": "within", "of": "m", "low": -0.05, "high": 0.05})
    assert not r.ok and r.observed == [-0.2, 0.01]


def test_close_against_the_reference_and_where_it_differs_most():
    ref = {"x": np.zeros((10, 10))}
    off = np.zeros((10, 10))
    off[3, 4] = 1e-3
    assert ev({"x": np.full((10, 10), 1e-7)}, {"check": "close", "of": "x"}, ref).ok
    r = ev({"x": off}, {"check": "close", "of": "x"}, ref)
    assert not r.ok and r.observed["at"] == [3, 4] and r.observed["elements_off"] == 1


def test_close_to_another_field_and_nested_weights():
    obs = {"a": [[np.ones(2)], []], "b": [[np.ones(2)], []], "c": [[np.zeros(2)], []]}
    assert ev(obs, {"check": "close", "of": "a", "to": {"of": "b"}}).ok
    assert not ev(obs, {"check": "close", "of": "a", "to": {"of": "c"}}).ok


def test_equal_evaluates_formulas_with_the_clause_parameters():
    params = {"voc_size": 5, "vec_dim": 2, "inputs": 3}
    check = {"check": "equal", "of": "params", "to": ["voc_size*vec_dim", 0, "inputs*vec_dim+1"]}
    assert ev({"params": [10, 0, 7]}, check, params=params).ok
    r = ev({"params": [10, 0, 8]}, check, params=params)
    assert not r.ok and r.expected == [10, 0, 7]


def test_changed_rows_is_exactly_the_set_of_rows_that_moved():
    before = np.zeros((5, 2))
    after = before.copy()
    after[[0, 2]] = 1
    check = {"check": "changed_rows", "of": "b", "to": {"of": "a"}, "rows": [2, 0, 2]}
    assert ev({"b": before, "a": after}, check).ok
    after[4, 1] = 1e-9
    r = ev({"b": before, "a": after}, check)
    assert not r.ok and r.observed == [0, 2, 4]


def test_row_norms_and_identical():
    unit = np.array([[0.6, 0.8], [1.0, 0.0]])
    assert ev({"m": unit}, {"check": "row_norms", "of": "m"}).ok
    assert not ev({"m": unit * 0.9}, {"check": "row_norms", "of": "m"}).ok
    a = np.array([0.1], np.float32)
    assert ev({"a": a, "b": a.copy()}, {"check": "identical", "of": "a", "to": {"of": "b"}}).ok
    assert not ev({"a": a, "b": a.astype(np.float64)}, {"check": "identical", "of": "a", "to": {"of": "b"}}).ok


def test_row_norms_of_chosen_rows():
    m = np.array([[0.6, 0.8], [1e-4, 0.0], [0.0, 1e-6]])
    assert not ev({"m": m}, {"check": "row_norms", "of": "m"}).ok  # every row: two are short
    assert ev({"m": m}, {"check": "row_norms", "of": "m", "rows": [0]}).ok
    assert ev({"m": m}, {"check": "row_norms", "of": "m", "rows": [1, 2], "to": [1e-4, 1e-6], "tolerance": "exact"}).ok
    r = ev({"m": m}, {"check": "row_norms", "of": "m", "rows": [2, 1], "to": [1e-4, 1e-6], "tolerance": "exact"})
    assert not r.ok and r.observed["norms"] == [1e-6, 1e-4]
    assert not ev({"m": m}, {"check": "row_norms", "of": "m", "rows": [3]}).ok  # no such row
    assert not ev({"m": np.zeros((0, 2))}, {"check": "row_norms", "of": "m"}).ok  # no rows: nothing shown


def test_rescaled_rows_keep_their_direction_and_the_cached_weights_stay():
    from conformance.language.spec import load_all
    from conformance.running.session import _seeded, make_case

    (clause,) = [c for c in load_all() if c.id == "constraint.unit-norm-short-rows"]
    case = make_case(clause)
    matrix, seeded = case.weights[0][0], _seeded(case.model, 0)[0][0]
    norms = np.linalg.norm(matrix, axis=1)
    assert np.allclose(norms[[3, 4]], [1e-4, 1e-6], rtol=1e-6)
    assert np.allclose(matrix[3] / norms[3], seeded[3] / np.linalg.norm(seeded[3]), rtol=1e-5)
    assert np.array_equal(np.delete(matrix, [3, 4], axis=0), np.delete(seeded, [3, 4], axis=0))
    assert not np.allclose(np.linalg.norm(seeded[[3, 4]], axis=1), [1e-4, 1e-6])  # the cache is untouched


def test_an_exception_fails_value_checks_and_satisfies_raises():
    obs = {"raised": "TypeError", "message": "missing input_dim", "warnings": []}
    r = ev(obs, {"check": "equal", "of": "params", "to": [1]})
    assert not r.ok and "raises TypeError" in r.observed
    assert ev(obs, {"check": "raises", "to": "TypeError"}).ok
    assert not ev(obs, {"check": "raises", "to": "ValueError"}).ok
    assert not ev({"warnings": []}, {"check": "raises"}).ok


def test_warns_matches_text():
    obs = {"warnings": ["UserWarning: Argument `input_length` is deprecated."]}
    assert ev(obs, {"check": "warns", "matching": "input_length"}).ok
    assert not ev(obs, {"check": "no_warning", "matching": "input_length"}).ok


def test_repeats_at_masked_and_last_step():
    case = Case("c", "forward", None, {"inputs": [np.array([[1, 0, 3, 0]])]})
    good = np.array([[[0.1], [0.1], [0.3], [0.3]]])
    bad = np.array([[[0.1], [0.0], [0.3], [0.3]]])
    check = {"check": "repeats_at_masked", "of": "s"}
    assert ev({"s": good}, check, case=case).ok
    r = ev({"s": bad}, check, case=case)
    assert not r.ok and "(0, 1)" in r.observed
    last = {"check": "last_step", "of": "h", "to": {"of": "s"}}
    assert ev({"h": np.array([[0.3]]), "s": good}, last).ok
    assert not ev({"h": np.array([[0.1]]), "s": good}, last).ok


def test_a_missing_field_is_a_mismatch_not_a_crash():
    r = ev({"warnings": []}, {"check": "equal", "of": "nothing", "to": 1})
    assert not r.ok and "no field" in r.observed


@pytest.mark.parametrize("bad_path", ["a..b", "a[x]", "a]["])
def test_bad_paths_are_refused(bad_path):
    with pytest.raises(ValueError, match="bad field path"):
        ev({"a": 1}, {"check": "equal", "of": bad_path, "to": 1})


# -- checks that cannot pass by accident (issue 8) -------------------------------------------------
def test_equal_compares_every_element_of_a_big_array():
    a = np.arange(100) % 2 == 0
    b = a.copy()
    b[[56, 57]] = b[[57, 56]]  # same shape, dtype, min and max: a summary could not tell them apart
    r = ev({"a": a, "b": b}, {"check": "equal", "of": "a", "to": {"of": "b"}})
    assert not r.ok
    assert ev({"a": a, "b": a.copy()}, {"check": "equal", "of": "a", "to": {"of": "b"}}).ok
    assert isinstance(r.observed, dict) and len(str(r.observed)) < 200  # the message stays short


@pytest.mark.parametrize("check", ["close", "equal", "identical", "last_step"])
def test_nan_matches_nan_only_where_the_check_says_so(check):
    nan = np.full((2, 3), np.nan, np.float32)
    obs = {"a": nan[:, -1] if check == "last_step" else nan, "b": nan.copy()}
    spec = {"check": check, "of": "a", "to": {"of": "b"}}
    assert not ev(obs, spec).ok
    assert ev(obs, {**spec, "nan": "equal"}).ok
    assert not ev(obs, {**spec, "nan": "never"}).ok


def test_close_against_the_reference_with_nan_fails_even_where_both_are_nan():
    ref = {"x": np.array([1.0, np.nan])}
    assert not ev({"x": np.array([1.0, np.nan])}, {"check": "close", "of": "x"}, ref).ok
    assert not ev({"x": np.array([1.0, 2.0])}, {"check": "close", "of": "x"}, ref).ok


def test_close_refuses_weight_lists_of_other_lengths():
    kernel, bias = np.ones((6, 1)), np.zeros(1)
    expected = {"w": [[np.ones((5, 2))], [], [kernel, bias]]}
    missing_bias = {"w": [[np.ones((5, 2))], [], [kernel]]}
    extra_layer = {"w": [[np.ones((5, 2))], [], [kernel, bias], [bias]]}
    check = {"check": "close", "of": "w"}
    assert ev(expected, check, ref=expected).ok
    assert not ev(missing_bias, check, ref=expected).ok
    assert not ev(extra_layer, check, ref=expected).ok
    assert not ev(expected, check, ref=missing_bias).ok


def test_where_it_differs_most_in_an_all_nan_array_is_a_mismatch_not_a_crash():
    ref = {"x": np.zeros((10, 10))}
    r = ev({"x": np.full((10, 10), np.nan)}, {"check": "close", "of": "x"}, ref)
    assert not r.ok and r.observed["elements_off"] == 100 and r.observed["observed_there"] == "NaN"


@pytest.mark.parametrize("odd", [None, "not a number", ["a", "b"], {"k": 1}, [[1.0], [1.0, 2.0]]])
def test_values_that_are_not_numbers_never_pass(odd):
    obs = {"a": odd, "b": odd, "m": odd}
    if odd != [[1.0], [1.0, 2.0]]:  # a nest of numbers is close to itself, level by level
        assert not ev(obs, {"check": "close", "of": "a", "to": {"of": "b"}}).ok
    assert not ev(obs, {"check": "differ", "of": "a", "to": {"of": "b"}}).ok
    assert not ev(obs, {"check": "is_true", "of": "a"}).ok
    assert not ev(obs, {"check": "is_false", "of": "a"}).ok
    assert not ev(obs, {"check": "shape", "of": "a", "to": [] if odd is None else [2]}).ok
    assert not ev(obs, {"check": "within", "of": "a", "low": -1, "high": 1}).ok
    assert not ev(obs, {"check": "row_norms", "of": "m"}).ok


def test_differ_and_truth_checks_refuse_nan():
    nan = np.full(3, np.nan)
    assert not ev({"a": nan, "b": nan.copy()}, {"check": "differ", "of": "a", "to": {"of": "b"}}).ok
    assert not ev({"a": nan}, {"check": "is_true", "of": "a"}).ok
    assert ev({"a": np.ones(3), "b": np.zeros(3)}, {"check": "differ", "of": "a", "to": {"of": "b"}}).ok


def test_differ_with_nan_differs_counts_nan_in_one_array_only():
    """A pin on uninitialised memory (char.exporter-defaults, LiteRT): NaN one run, numbers the next."""
    check = {"check": "differ", "of": "a", "to": {"of": "b"}, "nan": "differs"}
    some_nan = np.array([1.0, np.nan, 0.0])
    assert ev({"a": some_nan, "b": np.ones(3)}, check).ok
    assert not ev({"a": some_nan, "b": some_nan.copy()}, check).ok   # NaN on both sides: not a difference
    assert not ev({"a": np.ones(3), "b": np.ones(3)}, check).ok
    assert not ev({"a": some_nan, "b": np.ones(3)}, {**check, "nan": "never"}).ok


def test_equal_with_literal_compares_text_as_written_and_formulas_otherwise():
    obs = {"shapes": ["?"], "params": ["0 (unbuilt)"], "n": [10]}
    assert ev(obs, {"check": "equal", "of": "shapes", "literal": True, "to": ["?"]}).ok
    assert ev(obs, {"check": "equal", "of": "params", "literal": True, "to": ["0 (unbuilt)"]}).ok
    assert not ev(obs, {"check": "equal", "of": "params", "literal": True, "to": [0]}).ok
    assert not ev(obs, {"check": "equal", "of": "n", "literal": True, "to": ["voc_size*vec_dim"]},
                  params={"voc_size": 5, "vec_dim": 2}).ok   # literal: no formula
    assert ev(obs, {"check": "equal", "of": "n", "to": ["voc_size*vec_dim"]}, params={"voc_size": 5, "vec_dim": 2}).ok


def test_the_short_form_of_values_is_the_element_wise_one():
    """checks._plain's shortcuts (integer and boolean arrays in one call, min and max without the
    NaN-aware reductions when there is no NaN) give what the element-wise definition gives."""
    from conformance.judging.checks import _plain

    def slow(value):  # the definition: every element through float rounding, NaN as "NaN"
        if isinstance(value, np.ndarray):
            return slow(value.tolist())
        if isinstance(value, list):
            return [slow(v) for v in value]
        if isinstance(value, float):
            return "NaN" if np.isnan(value) else round(value, 7)
        return value

    for small in (np.arange(6, dtype=np.int64).reshape(2, 3), np.array([True, False]),
                  np.array([1.123456789, np.nan, -np.inf], dtype=np.float32), np.arange(3, dtype=np.uint8)):
        assert _plain(small) == slow(small) and type(_plain(small)) is list
    assert _plain(np.arange(4, dtype=np.int32)) == [0, 1, 2, 3]
    assert all(type(v) is int for v in _plain(np.arange(4, dtype=np.int32)))
    big = np.linspace(-1, 2, 100).reshape(10, 10)
    assert _plain(big) == {"shape": [10, 10], "dtype": "float64", "min": -1.0, "max": 2.0, "nan": 0}
    big[3, 3] = np.nan
    assert _plain(big) == {"shape": [10, 10], "dtype": "float64", "min": -1.0, "max": 2.0, "nan": 1}
    assert _plain(np.full(70, np.nan)) == {"shape": [70], "dtype": "float64", "min": "NaN", "max": "NaN", "nan": 70}
    assert _plain(np.float32(0.1)) == round(float(np.float32(0.1)), 7) and _plain(float("nan")) == "NaN"
