"""The spec language's vocabulary, declared once: every action, check, generator, describer, layer
kind and clause key is one record (:mod:`.records`) with its arguments and the observation fields
it reads or produces.

Validation (:mod:`conformance.language.spec`, :mod:`.drawing`, :mod:`.cases`), the JSON Schema's
enumerations (:func:`fill_schema`), the emulation logic (:func:`fields_read`) and
docs/SPEC-LANGUAGE.md (``python -m conformance spec-language``) are derived from these records.
The stages that implement the words (judging, running) are held to them by tests/test_vocabulary.py;
nothing here imports them.
"""
from __future__ import annotations

from conformance.language.vocabulary.actions import ACTIONS, COMMON_FIELDS, RAISED_FIELDS
from conformance.language.vocabulary.checks import CHECKS, SEMANTICS, TOLERANCES
from conformance.language.vocabulary.clauses import (
    CHARACTERIZE_KEYS,
    CLAUSE_KEYS,
    DESCRIBERS,
    DRAW_KEYS,
    LAYERS,
    LEVELS,
    MODEL_KEYS,
    UNWEIGHTED,
    WEIGHTS_KEYS,
)
from conformance.language.vocabulary.generators import DRAW_GENERATORS, INDEX_DTYPES, INPUT_GENERATORS, SIZES
from conformance.language.vocabulary.records import KINDS, NOT_FORMULA_KINDS, Arg, Word

__all__ = ["ACTIONS", "CHECKS", "DESCRIBERS", "DRAW_GENERATORS", "INPUT_GENERATORS", "LAYERS", "SIZES",
           "LEVELS", "TOLERANCES", "SEMANTICS", "COMMON_FIELDS", "RAISED_FIELDS", "CLAUSE_KEYS", "MODEL_KEYS",
           "WEIGHTS_KEYS", "CHARACTERIZE_KEYS", "DRAW_KEYS", "KINDS", "INDEX_DTYPES", "Arg", "Word",
           "NAMES", "NOT_FORMULAS", "ARRAY_KEYS", "ENUMS", "fields_read", "check_problem", "args_problem",
           "input_generator_problem", "fill_schema"]


def _args(*tables) -> list[Arg]:
    return [arg for words in tables for word in words.values() for arg in word.args]


# keys whose string values are names, kept as written when a ``with`` block or a layer's arguments
# are resolved (cases.resolve_value): the name-kind arguments of actions, input generators, layers
NAMES = tuple(dict.fromkeys(a.key for a in _args(ACTIONS, INPUT_GENERATORS, LAYERS) if a.kind == "name"))


def _not_formulas() -> frozenset:
    """Keys that never hold a formula, wherever they occur (a key that is a formula in one word,
    like a check's ``to``, is searched everywhere): drawing.py looks for parameter names in the rest."""
    every = (_args(ACTIONS, INPUT_GENERATORS, DRAW_GENERATORS, CHECKS, LAYERS)
             + list(MODEL_KEYS + CHARACTERIZE_KEYS) + [Arg("check", "name", "the check's name")])
    kinds: dict[str, set] = {}
    for arg in every:
        kinds.setdefault(arg.key, set()).add(arg.kind)
    return frozenset(key for key, found in kinds.items() if found <= NOT_FORMULA_KINDS)


NOT_FORMULAS = _not_formulas()
# ``with`` keys that hold arrays (literal or generated): a drawn clause draws them all
ARRAY_KEYS = tuple(dict.fromkeys(a.key for a in _args(ACTIONS) if a.kind in ("array", "arrays")))

# the schema's enumerations, filled in from the records (spec.schema.json marks each place with
# "x-vocabulary": <one of these>)
ENUMS = {
    "actions": list(ACTIONS),
    "checks": list(CHECKS),
    "levels": list(LEVELS),
    "layers": list(LAYERS),
    "weighted_layers": [kind for kind in LAYERS if kind not in UNWEIGHTED],
    "tolerances": list(TOLERANCES),
    "nan": list(dict.fromkeys(v for word in CHECKS.values() for a in word.args if a.key == "nan" for v in a.values)),
    "index_dtypes": list(INDEX_DTYPES),
    "layouts": list(DRAW_GENERATORS["padded"].arg("layout").values),
    "initializers": list(LAYERS["embedding"].arg("embeddings_initializer").values),
    "input_dtypes": list(next(a for a in MODEL_KEYS if a.key == "input_dtype").values),
}


def fill_schema(schema):
    """The schema with every ``"x-vocabulary": name`` node given ``"enum": ENUMS[name]`` (a new copy)."""
    if isinstance(schema, dict):
        out = {key: fill_schema(value) for key, value in schema.items()}
        if "x-vocabulary" in schema:
            name = schema["x-vocabulary"]
            if name not in ENUMS:
                raise KeyError(f"spec.schema.json names the vocabulary {name!r}, which "
                               f"conformance/language/vocabulary does not declare (known: {', '.join(ENUMS)})")
            out["enum"] = list(ENUMS[name])
        return out
    if isinstance(schema, list):
        return [fill_schema(value) for value in schema]
    return schema


def fields_read(check: dict) -> list[str]:
    """The observation fields a check reads: its field-path arguments (``of``, ``to: {of: ...}``)
    and the fields its word always reads (``raises`` reads ``raised``)."""
    word = CHECKS.get(check.get("check"))
    paths = []
    for arg in word.args if word else ():
        value = check.get(arg.key)
        if arg.kind == "field" and isinstance(value, str):
            paths.append(value)
        elif arg.kind == "target" and isinstance(value, dict) and isinstance(value.get("of"), str):
            paths.append(value["of"])
    return paths + [f for f in (word.reads if word else ()) if f not in paths]


def args_problem(word: Word, given: dict, what: str, ignore=()) -> str | None:
    """What is wrong with the keys of a mapping that uses ``word`` (a required one missing, one the
    word does not take), or None."""
    missing = [key for key in word.required if key not in given]
    if missing:
        return f"{what} needs {' and '.join(repr(k) for k in missing)}"
    unknown = [key for key in given if key not in word.keys and key not in ignore]
    if unknown:
        return f"{what} takes no {', '.join(repr(k) for k in unknown)} (it takes {', '.join(word.keys)})"
    return None


def check_problem(check: dict) -> str | None:
    """What is wrong with one check's keys, or None. The schema has made sure ``check`` names a
    declared word."""
    word = CHECKS[check["check"]]
    what = f"{'an' if word.name[0] in 'aeiou' else 'a'} {word.name} check"
    if "of" in word.required and "of" not in check:
        return f"{what} needs 'of': the field it checks"
    required = [key for key in word.required if key != "of"]
    if any(key not in check for key in required):  # named all together: "needs 'low' and 'high'"
        return f"{what} needs " + " and ".join(f"'{key}'" for key in required)
    return args_problem(word, check, what, ignore=("check",))


def input_generator_problem(spec: dict) -> str | None:
    """What is wrong with an input generator of a ``with`` block ({ints: ...}), or None."""
    kinds = [name for name in INPUT_GENERATORS if name in spec]
    if len(kinds) != 1:
        return f"one input generator of {', '.join(INPUT_GENERATORS)}, not {sorted(spec)}"
    return args_problem(INPUT_GENERATORS[kinds[0]], spec, f"the {kinds[0]} generator")
