"""A tiny safe evaluator for parameter formulas such as ``4*(units*(vec_dim+units)+units)``.

Spec files are data, never code: a formula may use integer/float literals, the names of the
clause's parameters, ``+ - * / // % **`` and parentheses. Anything else (calls, attributes,
subscripts, comparisons, unknown names) is rejected with :class:`FormulaError` before any test runs.

Evaluation is bounded, because it runs in the pytest process outside ``--case-timeout``: a formula
is at most :data:`MAX_LENGTH` characters, every literal, parameter and intermediate result is a
finite number of magnitude at most :data:`MAX_MAGNITUDE`, and an exponent is at most
:data:`MAX_EXPONENT`. So no single operation can produce a number wider than 64 * 64 bits, and
``(((9**64)**64)**64)**64`` is refused at its second power instead of running for ever.
"""
from __future__ import annotations

import ast
import functools
import math
import operator

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
MAX_EXPONENT = 64
MAX_MAGNITUDE = 2**64
MAX_LENGTH = 500


class FormulaError(ValueError):
    """A formula is not plain arithmetic on known names, or its value is out of bounds."""


def _check(node: ast.AST, names: frozenset[str], text: str) -> None:
    if isinstance(node, ast.Expression):
        return _check(node.body, names, text)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return None
    if isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names)) or "none"
            raise FormulaError(f"unknown name {node.id!r} in formula {text!r} (known: {known})")
        return None
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, names, text)
        return _check(node.right, names, text)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(node.operand, names, text)
    raise FormulaError(
        f"formula {text!r} uses {type(node).__name__}; only arithmetic on parameter names is allowed"
    )


@functools.lru_cache(maxsize=4096)  # drawn examples evaluate the same few formulas thousands of times
def _parse(text: str) -> ast.Expression:
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula {text[:40]!r}... is {len(text)} characters long (limit {MAX_LENGTH})")
    try:
        return ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"formula {text!r} is not an arithmetic expression: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. an integer literal of 5000 digits
        raise FormulaError(f"formula {text[:40]!r} cannot be parsed: {type(exc).__name__}") from None


def validate(text: str, names) -> None:
    """Raise FormulaError unless ``text`` is arithmetic on ``names``."""
    _check(_parse(str(text)), frozenset(names), str(text))


def _describe(value) -> str:
    if isinstance(value, int) and value.bit_length() > 80:
        return f"a {value.bit_length()}-bit integer"
    return repr(value)


def bounded(value, text=None):
    """``value`` if it is a finite real number of magnitude at most MAX_MAGNITUDE, else FormulaError."""
    where = f"formula {text!r}" if text is not None else "number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormulaError(f"{where} does not give a real number ({type(value).__name__})")
    if isinstance(value, float) and not math.isfinite(value):
        raise FormulaError(f"{where} gives {value!r}; a formula's values must be finite")
    if abs(value) > MAX_MAGNITUDE:
        raise FormulaError(f"{where} reaches {_describe(value)}, beyond the limit of 2**64 in magnitude")
    return value


def _eval(node: ast.AST, env: dict, text: str):
    if isinstance(node, ast.Expression):
        return _eval(node.body, env, text)
    if isinstance(node, ast.Constant):
        return bounded(node.value, text)
    if isinstance(node, ast.Name):
        return bounded(env[node.id], text)
    if isinstance(node, ast.UnaryOp):
        return bounded(_UNARY[type(node.op)](_eval(node.operand, env, text)), text)
    left, right = _eval(node.left, env, text), _eval(node.right, env, text)
    if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
        raise FormulaError(f"formula {text!r}: exponent {right} is too large (limit {MAX_EXPONENT})")
    try:
        result = _BINARY[type(node.op)](left, right)
    except ZeroDivisionError:
        raise FormulaError(f"formula {text!r} divides by zero") from None
    except OverflowError:
        raise FormulaError(f"formula {text!r} overflows a float") from None
    return bounded(result, text)


def evaluate(text, env: dict):
    """Evaluate a formula (or pass a number through) with the parameters in ``env``.

    A plain integer must also be within MAX_MAGNITUDE; a plain float passes as written (a
    literal NaN in an input array is data, not a runaway computation)."""
    if isinstance(text, bool):
        return text
    if isinstance(text, int):
        return bounded(text)
    if isinstance(text, float):
        return text
    tree = _parse(str(text))
    _check(tree, frozenset(env.keys()), str(text))
    value = _eval(tree, env, str(text))
    # A literal such as "1e3" (YAML reads it as a string) names an integer; a formula over a float
    # parameter stays a float even when integral: a drawn learning rate of 1.0 is not a count, and
    # Keras 3's SGD refuses an integer learning_rate.
    from_float = any(isinstance(env.get(node.id), float) for node in ast.walk(tree) if isinstance(node, ast.Name))
    if isinstance(value, float) and value.is_integer() and "/" not in str(text) and not from_float:
        return int(value)
    return value
