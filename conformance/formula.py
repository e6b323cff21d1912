"""A tiny safe evaluator for parameter formulas such as ``4*(units*(vec_dim+units)+units)``.

Spec files are data, never code: a formula may use integer/float literals, the names of the
clause's parameters, ``+ - * / // % **`` and parentheses. Anything else (calls, attributes,
subscripts, comparisons, unknown names) is rejected with :class:`FormulaError` before any test runs.
"""
from __future__ import annotations

import ast
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


class FormulaError(ValueError):
    """A formula is not plain arithmetic on known names."""


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


def validate(text: str, names) -> None:
    """Raise FormulaError unless ``text`` is arithmetic on ``names``."""
    try:
        tree = ast.parse(str(text), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"formula {text!r} is not an arithmetic expression: {exc.msg}") from None
    _check(tree, frozenset(names), str(text))


def _eval(node: ast.AST, env: dict):
    if isinstance(node, ast.Expression):
        return _eval(node.body, env)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, env))
    left, right = _eval(node.left, env), _eval(node.right, env)
    if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
        raise FormulaError(f"exponent {right} is too large (limit {MAX_EXPONENT})")
    return _BINARY[type(node.op)](left, right)


def evaluate(text, env: dict):
    """Evaluate a formula (or pass a number through) with the parameters in ``env``."""
    if isinstance(text, bool):
        return text
    if isinstance(text, (int, float)):
        return text
    validate(text, env.keys())
    value = _eval(ast.parse(str(text), mode="eval"), env)
    if isinstance(value, float) and value.is_integer() and "/" not in str(text):
        return int(value)
    return value
