"""Adapters that refuse (raise Unsupported on) drawn examples whose document example they run,
the way an exported model with static shapes would: the NumPy reference, refusing any lookup in a
vocabulary of more than 1000 words. tests/test_refused_drawn.py runs them as third-party backends:

    pytest conformance --backend tests.static_shapes:StaticVocabulary

Undeclared, a normative clause they refuse drawn examples of diverges; with the limit declared
(``drawn_limit``), it conforms and the record and the report say how many were refused and why.
"""
from backends.base import Unsupported
from backends.reference import Reference

LARGEST = 1000  # the vocabulary the "exported" model was traced for, at most


class StaticVocabulary(Reference):
    """Runs every document example (VOC_SIZE 5) and refuses drawn vocabularies over 1000 words,
    declaring nothing: its refusals are a divergence."""

    framework = "static shapes"
    requires = ("numpy",)

    def forward(self, built, x):
        if built.spec.layers[0].args["input_dim"] > LARGEST:
            raise Unsupported(f"exported for at most {LARGEST} rows")
        return super().forward(built, x)


class DeclaredStaticVocabulary(StaticVocabulary):
    """The same refusals, declared as the adapter's limit."""

    drawn_limit = f"an exported model traced with static shapes: at most {LARGEST} vocabulary rows"


class UndeclaredTypo(StaticVocabulary):
    """A limit that is not words: the run says so, naming the backend."""

    drawn_limit = 1000
