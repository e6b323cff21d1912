"""The safe evaluator: arithmetic on named parameters, nothing else."""
import re

import pytest

from conformance.formula import FormulaError, evaluate, validate

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
