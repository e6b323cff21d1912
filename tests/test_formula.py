"""The safe evaluator: arithmetic on named parameters, nothing else."""
import math
import re
import time

import pytest

from conformance.language.formula import FormulaError, evaluate, validate

ENV = {"units": 1, "vec_dim": 2, "voc_size": 5, "inputs": 3}


@pytest.mark.parametrize("text, expected", [
    ("4*(units*(vec_dim+units)+units)", 16),   # the document's LSTM(1) count
    ("voc_size*vec_dim", 10),
    ("inputs*vec_dim+1", 7),
    ("vec_dim+1", 3),
    ("-vec_dim + 2**3", 6),
    ("7 // 2 + 7 % 2", 4),
    (12, 12),
])
def test_arithmetic_on_parameters(text, expected):
    assert evaluate(text, ENV) == expected


def test_division_keeps_float():
    assert evaluate("vec_dim/4", ENV) == 0.5


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os').system('true')", "Call"),
    ("units.__class__", "Attribute"),
    ("[units][0]", "Subscript"),
    ("units if units else 0", "IfExp"),
    ("units < 2", "Compare"),
    ("lambda: 1", "Lambda"),
    ("'text'", "Constant"),
    ("unknown_name * 2", "unknown name 'unknown_name'"),
    ("units +", "not an arithmetic expression"),
])
def test_everything_else_is_rejected(text, fragment):
    with pytest.raises(FormulaError, match=re.escape(fragment)):
        validate(text, ENV)


def test_huge_exponent_is_refused():
    with pytest.raises(FormulaError, match="exponent"):
        evaluate("units ** 1000000", ENV)


def test_nested_powers_are_refused_at_once():
    # the exponent limit alone checked only the right operand: this ran for ever
    start = time.monotonic()
    with pytest.raises(FormulaError, match=r"reaches a 203-bit integer, beyond the limit of 2\*\*64"):
        evaluate("((((9**64)**64)**64)**64)**64", ENV)
    assert time.monotonic() - start < 1


@pytest.mark.parametrize("text, fragment", [
    ("2**64 + 1", "reaches 18446744073709551617"),        # a result
    ("(2**64 + 1) - 1", "reaches 18446744073709551617"),  # an intermediate result
    ("voc_size * 4294967296 * 4294967296", "beyond the limit of 2**64"),
    ("-(2**64) - 1", "beyond the limit of 2**64"),
    ("1e400 * 0", "gives inf"),                          # a literal
    ("10.0 ** 63 * 10.0 ** 63", "beyond the limit"),
    ("vec_dim / 0", "divides by zero"),
    ("vec_dim // (units - 1)", "divides by zero"),
    ("0 ** -1", "divides by zero"),
    ("(-8) ** 0.5", "does not give a real number (complex)"),
    ("units ** 65", "exponent 65 is too large"),
    ("9" * 5000, "characters long (limit 500)"),
    ("+".join(["1"] * 300), "characters long (limit 500)"),
])
def test_operands_and_results_are_bounded(text, fragment):
    with pytest.raises(FormulaError, match=re.escape(fragment)):
        evaluate(text, ENV)


def test_bounds_allow_what_specs_need():
    assert evaluate("2**64", ENV) == 2**64
    assert evaluate("-(2**64)", ENV) == -(2**64)
    assert evaluate("2**-3", ENV) == 0.125
    assert evaluate("voc_size * 10**9", ENV) == 5 * 10**9


def test_a_plain_number_is_bounded_but_a_literal_float_is_data():
    with pytest.raises(FormulaError, match="beyond the limit"):
        evaluate(2**64 + 1, ENV)
    assert math.isnan(evaluate(float("nan"), ENV))  # an input array may hold NaN on purpose


def test_a_parameter_beyond_the_bound_is_refused():
    with pytest.raises(FormulaError, match="beyond the limit"):
        evaluate("big - 1", {"big": 2**65})


def test_a_formula_over_a_float_parameter_stays_float():
    # A drawn learning rate of exactly 1.0 reaches the optimizer as a float (Keras 3's SGD refuses
    # an integer learning_rate); a literal like "1e3" still names an integer.
    value = evaluate("lr", {"lr": 1.0})
    assert isinstance(value, float) and value == 1.0
    assert isinstance(evaluate("2 * lr", {"lr": 0.5}), float)
    assert evaluate("1e3", {}) == 1000 and isinstance(evaluate("1e3", {}), int)
    assert isinstance(evaluate("n * 2", {"n": 3}), int)
