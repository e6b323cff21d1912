"""The shape of a vocabulary record: a word of the spec language (an action, a check, a generator,
a describer, a layer kind, a clause key) with its arguments and the observation fields it touches.

Records are plain data. Validation (:mod:`conformance.language.spec`), the JSON Schema's
enumerations, the emulation logic and docs/SPEC-LANGUAGE.md are all derived from them.
"""
from __future__ import annotations

from dataclasses import dataclass

# what an argument's value is; a clause author reads these in docs/SPEC-LANGUAGE.md
KINDS = {
    "formula": "a number, or arithmetic on the clause's parameters as a string (\"voc_size - 1\")",
    "formulas": "a nested list of formulas",
    "shape": "a list of sizes: integers and parameter names",
    "array": "an array: a nested list of formulas, or an input generator ({ints: ...}, {values: ...})",
    "arrays": "a list of arrays (one per call)",
    "literal": "a value passed on exactly as written (a Python literal of the document's code)",
    "name": "a name, kept as written (never a formula)",
    "names": "a name, or a list of names",
    "field": "a field path of the observation (\"outputs[0]\", \"weights[0][0]\")",
    "target": "what a check compares with: reference (the default), {reference: SEMANTICS} (the reference's "
              "observation under an alternative semantics, listed under Checks), {of: field path}, or a formula",
    "rows": "a list of row numbers (formulas)",
    "flag": "true or false",
    "number": "a number",
    "text": "free text",
    "mapping": "a mapping of constructor arguments (the embedding layer's, see Layers)",
    "block": "a block of its own, described below",
}
# kinds whose strings are never formulas (drawing.py does not look for parameter names in them)
NOT_FORMULA_KINDS = frozenset({"name", "names", "field", "flag", "number", "text"})


@dataclass(frozen=True)
class Arg:
    """One argument of a word: its key, kind (:data:`KINDS`), whether it must be given, the values
    it may take (an enumeration), and what it means."""

    key: str
    kind: str
    text: str
    required: bool = False
    values: tuple = ()
    default: object = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"argument {self.key!r}: unknown kind {self.kind!r} (known: {', '.join(KINDS)})")


@dataclass(frozen=True)
class Word:
    """One word of the language. ``reads``/``writes``: observation fields it reads (a check, a
    describer, beyond its field-path arguments) or produces (an action)."""

    name: str
    text: str
    args: tuple = ()
    reads: tuple = ()
    writes: tuple = ()
    needs_model: bool = False
    example: str = ""   # a YAML example, where no clause in specs/ shows the word

    def arg(self, key: str) -> Arg | None:
        return next((a for a in self.args if a.key == key), None)

    @property
    def required(self) -> tuple:
        return tuple(a.key for a in self.args if a.required)

    @property
    def keys(self) -> tuple:
        return tuple(a.key for a in self.args)


def table(*words: Word) -> dict[str, Word]:
    """Words by name, in the order given (the order the schema's enumerations list them)."""
    out = {}
    for word in words:
        if word.name in out:
            raise ValueError(f"{word.name!r} declared twice")
        out[word.name] = word
    return out
