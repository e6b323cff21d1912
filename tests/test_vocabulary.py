"""The spec vocabulary (conformance/language/vocabulary/) and the code that implements it agree.

Each action, check and describer is declared once, as a record; the implementations in
conformance/running/actions.py, conformance/judging/checks.py and conformance/judging/describers.py
are read (their source, and the reference's observations) and held to the records: a word
implemented but not declared, or declared but not implemented, or an argument read but not
declared, fails here with a message saying where to declare it.
"""
from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from backends.base import LAYER_KINDS
from backends.reference import Reference
from conformance.judging import checks, describers, tolerances
from conformance.language import spec, vocabulary
from conformance.language.cases import make_input
from conformance.running import actions
from conformance.running.session import make_case
from conformance.tools import spec_language
from tests.test_spec_validation import GOOD, error_of

VOCABULARY = "conformance/language/vocabulary"


# -- reading the implementations ---------------------------------------------------------------
def _functions(module) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(inspect.getsource(module))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def keys_read(functions: dict, name: str, param: str, seen=None) -> set[str]:
    """The string keys function ``name`` reads from its parameter ``param`` (a dict): ``p["k"]``,
    ``p.get("k")``, ``"k" in p``, and what the module's own functions it hands ``p`` to read."""
    seen = set() if seen is None else seen
    if (name, param) in seen or name not in functions:
        return set()
    seen.add((name, param))
    out = set()
    for node in ast.walk(functions[name]):
        if isinstance(node, ast.Subscript) and _is(node.value, param) and isinstance(node.slice, ast.Constant):
            out.add(node.slice.value)
        elif isinstance(node, ast.Subscript) and _is(node.value, param) and isinstance(node.slice, ast.Name):
            out |= _loop_values(functions[name], node.slice.id)  # for k in ("low", "high"): check[k]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is(node.func.value, param) \
                and node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant):
            out.add(node.args[0].value)
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) \
                and any(_is(c, param) for c in node.comparators):
            out.add(node.left.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
            callee = functions[node.func.id]
            for position, arg in enumerate(node.args):
                if _is(arg, param) and position < len(callee.args.args):
                    out |= keys_read(functions, node.func.id, callee.args.args[position].arg, seen)
    return out


def _loop_values(function, variable: str) -> set[str]:
    """The constants a loop variable runs over: ``for k in ("low", "high")`` (a loop or a comprehension)."""
    out = set()
    for node in ast.walk(function):
        if isinstance(node, (ast.For, ast.comprehension)) and ast.unparse(node.target) == variable \
                and isinstance(node.iter, ast.Tuple):
            out |= {item.value for item in node.iter.elts if isinstance(item, ast.Constant)}
    return out


def _is(node, param: str) -> bool:
    """``node`` is the parameter (``check``) or an attribute path ending in it (``case.args``)."""
    return ast.unparse(node) == param


def mismatch(kind: str, implemented, declared, where: str, declared_in: str) -> list[str]:
    """Messages for the words implemented but not declared, and declared but not implemented."""
    implemented, declared = set(implemented), set(declared)
    return ([f"{kind} {name!r} is implemented in {where} but not declared: add its record to "
             f"{declared_in}" for name in sorted(implemented - declared)]
            + [f"{kind} {name!r} is declared in {declared_in} but not implemented in {where}"
               for name in sorted(declared - implemented)])


def test_the_mismatch_message_says_where_to_declare_a_new_word():
    messages = mismatch("check", {"equal", "roughly"}, {"equal", "close"}, "conformance/judging/checks.py",
                        f"{VOCABULARY}/checks.py")
    assert messages == [
        "check 'roughly' is implemented in conformance/judging/checks.py but not declared: add its record "
        "to conformance/language/vocabulary/checks.py",
        "check 'close' is declared in conformance/language/vocabulary/checks.py but not implemented in "
        "conformance/judging/checks.py"]


def test_the_key_reader_follows_helpers():
    source = ("def _tol(c):\n    return c.get('tolerance')\n"
              "def check_x(ctx, check):\n    if 'nan' in check:\n        pass\n"
              "    low, high = (check[k] for k in ('low', 'high'))\n"
              "    return check['of'], _tol(check)\n")
    functions = {n.name: n for n in ast.parse(source).body}
    assert keys_read(functions, "check_x", "check") == {"of", "nan", "tolerance", "low", "high"}


# -- checks ------------------------------------------------------------------------------------
def test_the_checks_implemented_are_the_ones_declared():
    assert mismatch("check", checks.CHECKS, vocabulary.CHECKS, "conformance/judging/checks.py",
                    f"{VOCABULARY}/checks.py") == []


def test_each_check_reads_exactly_the_arguments_declared():
    functions = _functions(checks)
    wrong = []
    for name, word in vocabulary.CHECKS.items():
        read = keys_read(functions, f"check_{name}", "check")
        declared = set(word.keys) - {"why"}  # why: read by checks.evaluate for every check
        wrong += [f"check {name!r} reads {key!r}, which {VOCABULARY}/checks.py does not declare"
                  for key in sorted(read - declared)]
        wrong += [f"check {name!r} is declared with {key!r}, which conformance/judging/checks.py never reads"
                  for key in sorted(declared - read)]
    assert wrong == []


def test_the_tolerances_named_are_the_ones_defined():
    assert sorted(vocabulary.TOLERANCES) == sorted(tolerances.TOLERANCES)
    assert vocabulary.CHECKS["close"].arg("tolerance").default == tolerances.DEFAULT


def test_fields_read_are_the_field_arguments_and_the_words_own():
    assert vocabulary.fields_read({"check": "close", "of": "outputs[0]", "to": {"of": "outputs[1]"}}) == [
        "outputs[0]", "outputs[1]"]
    assert vocabulary.fields_read({"check": "close", "of": "outputs[0]", "to": "reference"}) == ["outputs[0]"]
    assert vocabulary.fields_read({"check": "raises", "to": "ValueError"}) == ["raised", "message"]
    assert vocabulary.fields_read({"check": "warns", "matching": "deprecated"}) == ["warnings"]


@pytest.mark.parametrize("old, new, fragment", [
    ("{check: close, of: \"outputs[0]\", to: reference}", "{check: dtype, of: \"outputs[0]\", to: float32, "
     "tolerance: loose}", "a dtype check takes no 'tolerance' (it takes of, to, why)"),
    ("{check: close, of: \"outputs[0]\", to: reference}", "{check: close, to: reference}",
     "a close check needs 'of': the field it checks"),
    ("{inputs: [[[0, 1]]]}", "{inputs: [{ints: [1, 3]}]}", "with: inputs[0]: the ints generator needs 'high'"),
    ("{inputs: [[[0, 1]]]}", "{inputs: [{ints: [1, 3], high: 5, hgih: 4}]}",
     "with: inputs[0]: the ints generator takes no 'hgih'"),
    ("{inputs: [[[0, 1]]]}", "{inputs: [{zeros: [1, 3]}]}",
     "with: inputs[0]: one input generator of ints, ones, uniform, values, not ['zeros']"),
    ("{inputs: [[[0, 1]]]}", "{inputs: 5}", "with: inputs: a list of arrays (one per call), not 5"),
])
def test_words_refuse_arguments_they_do_not_take(tmp_path, old, new, fragment):
    assert old in GOOD
    message = error_of(tmp_path, GOOD.replace(old, new))
    assert "01-test.yaml: clause 'lookup.sample'" in message and fragment in message, message


# -- input generators ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(vocabulary.INPUT_GENERATORS))
def test_each_input_generator_declared_makes_an_array(name):
    word = vocabulary.INPUT_GENERATORS[name]
    given = {"shape": [2, 3], "formulas": [[1, 2, 3], [4, 5, 6]], "formula": 5}
    spec_ = {arg.key: given[arg.kind] for arg in word.args if arg.required}
    array = make_input(spec_, {})
    assert isinstance(array, np.ndarray) and array.shape == (2, 3)


def test_an_input_generator_not_declared_is_refused():
    with pytest.raises(ValueError, match="unknown input generator"):
        make_input({"zeros": [2, 3]}, {})


# -- actions -----------------------------------------------------------------------------------
def test_the_actions_implemented_are_the_ones_declared():
    assert mismatch("action", actions.ACTIONS, vocabulary.ACTIONS, "conformance/running/actions.py",
                    f"{VOCABULARY}/actions.py") == []


def test_each_action_reads_the_with_keys_declared():
    functions = _functions(actions)
    wrong = []
    for name, word in vocabulary.ACTIONS.items():
        read = keys_read(functions, name, "case.args")
        passes_all = "case.args.items()" in ast.unparse(functions[name])  # hands the whole block on
        wrong += [f"action {name!r} reads 'with' key {key!r}, which {VOCABULARY}/actions.py does not declare"
                  for key in sorted(read - set(word.keys))]
        if not passes_all:
            wrong += [f"action {name!r} is declared with {key!r}, which conformance/running/actions.py "
                      "never reads" for key in sorted(set(word.keys) - read)]
    assert wrong == []


def _observations():
    """action -> the fields of the reference's observations of every clause with that action."""
    found: dict[str, set] = {}
    for clause in spec.load_all():
        obs = actions.run_case(Reference(), make_case(clause))
        if "raised" not in obs:
            found.setdefault(clause.action, set()).update(obs)
    return found


def test_each_action_produces_the_fields_declared():
    functions = _functions(actions)
    wrong = []
    for name, fields in _observations().items():
        word = vocabulary.ACTIONS[name]
        produced = fields - set(vocabulary.COMMON_FIELDS)
        wrong += [f"action {name!r} produces field {f!r}, which {VOCABULARY}/actions.py does not declare"
                  for f in sorted(produced - set(word.writes))]
        named = {node.value for node in ast.walk(functions[name]) if isinstance(node, ast.Constant)} | {
            kw.arg for node in ast.walk(functions[name]) if isinstance(node, ast.Call) for kw in node.keywords}
        wrong += [f"action {name!r} is declared to produce {f!r}, which it neither produced on the reference "
                  "nor names" for f in sorted(set(word.writes) - produced - named)]
    assert wrong == []


# -- describers, layers ----------------------------------------------------------------------------
def test_the_describers_implemented_are_the_ones_declared():
    assert mismatch("describer", describers.DESCRIBERS, vocabulary.DESCRIBERS,
                    "conformance/judging/describers.py", f"{VOCABULARY}/clauses.py") == []


def test_each_describer_reads_the_fields_declared():
    functions = _functions(describers)
    wrong = []
    for name, word in vocabulary.DESCRIBERS.items():
        read = keys_read(functions, name, "obs") - set(vocabulary.RAISED_FIELDS)
        if read != set(word.reads):
            wrong.append(f"describer {name!r} reads {sorted(read)}, declared {sorted(word.reads)} "
                         f"({VOCABULARY}/clauses.py)")
    assert wrong == []


def test_the_layer_kinds_declared_are_the_ones_the_backends_build():
    assert mismatch("layer kind", LAYER_KINDS, vocabulary.LAYERS, "backends/base.py (LAYER_KINDS)",
                    f"{VOCABULARY}/clauses.py") == []


# -- the schema --------------------------------------------------------------------------------------
def _schema():
    return json.loads(spec.SCHEMA_PATH.read_text())


def test_the_schema_enumerations_are_filled_from_the_vocabulary():
    filled = spec._validator().schema["$defs"]
    assert filled["check"]["properties"]["check"]["enum"] == list(vocabulary.CHECKS)
    assert filled["clause"]["properties"]["action"]["enum"] == list(vocabulary.ACTIONS)
    assert filled["generator"]["properties"]["layout"]["enum"] == ["anywhere", "trailing"]
    marked = [node for node in _values(filled) if isinstance(node, dict) and "x-vocabulary" in node]
    assert len(marked) >= 10 and all(node["enum"] == vocabulary.ENUMS[node["x-vocabulary"]] for node in marked)


def _values(node):
    yield node
    for child in (node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()):
        yield from _values(child)


def test_a_vocabulary_the_schema_names_but_nobody_declares_is_an_error():
    with pytest.raises(KeyError, match="names the vocabulary 'colours'"):
        vocabulary.fill_schema({"properties": {"colour": {"x-vocabulary": "colours"}}})


def test_the_schema_keys_are_the_declared_arguments():
    defs = _schema()["$defs"]
    union = lambda words: {a.key for w in words.values() for a in w.args}  # noqa: E731
    keys = lambda args: {a.key for a in args}  # noqa: E731
    assert set(defs["check"]["properties"]) == union(vocabulary.CHECKS) | {"check"}
    assert set(defs["generator"]["properties"]) == union(vocabulary.DRAW_GENERATORS)
    assert set(defs["clause"]["properties"]) == keys(vocabulary.CLAUSE_KEYS)
    assert set(defs["model"]["properties"]) == keys(vocabulary.MODEL_KEYS)
    assert set(defs["weights"]["oneOf"][1]["properties"]) == keys(vocabulary.WEIGHTS_KEYS)
    assert set(defs["clause"]["properties"]["characterize"]["properties"]) == keys(vocabulary.CHARACTERIZE_KEYS)
    assert set(defs["draw"]["properties"]) == keys(vocabulary.DRAW_KEYS)
    layers = defs["layer"]["properties"]
    assert list(layers) == list(vocabulary.LAYERS)
    for kind, word in vocabulary.LAYERS.items():
        schema = defs[layers[kind]["$ref"].rsplit("/", 1)[1]] if "$ref" in layers[kind] else layers[kind]
        assert set(schema.get("properties", {})) == set(word.keys), kind
        assert set(schema.get("required", [])) == set(word.required), kind


# -- the catalogue ---------------------------------------------------------------------------------
def test_the_spec_language_catalogue_is_current():
    path = Path(spec_language.DOC_PATH)
    assert path.read_text(encoding="utf-8") == spec_language.markdown(), (
        f"{path.name} is out of date: run python -m conformance spec-language --write")


def test_the_catalogue_names_every_word():
    text = spec_language.markdown()
    for table in (vocabulary.ACTIONS, vocabulary.CHECKS, vocabulary.INPUT_GENERATORS,
                  vocabulary.DRAW_GENERATORS, vocabulary.DESCRIBERS, vocabulary.LAYERS):
        for name in table:
            assert f"### `{name}`" in text, name
