"""Faults that a known divergence or an emulation could hide (tests/test_drawn_judging.py).

Each is the NumPy reference with one or two bugs that never fire at the document's example:

* :class:`EmulatedIndexFiveAndAbove` says it computes its lookups by hand (``emulation``), and that
  idiom is wrong for an index >= 5: its cells are ``emulated`` at the document's example and must
  still diverge on the drawn examples that show the fault;
* :class:`ShiftedAndNarrowAtLastRow` looks up row i-1 for an index >= 5 (a divergence the test
  registers, pinned to "the shapes are right") and, in a batch that looks up the last row of a
  vocabulary larger than 5, also drops the last component of every vector (not as pinned): the
  second must fail the run even after examples that show only the first;
* :class:`OffsetAndNarrowAtLastRow` adds 1 to every output (a strict registered divergence that shows at
  the document's example too) and drops the last component like the one above: "known divergence
  changed" on a drawn example.
"""
import numpy as np

from backends.reference import Reference


class _Hidden(Reference):
    framework = "hidden fault"
    requires = ("numpy",)


class EmulatedIndexFiveAndAbove(_Hidden):
    """An emulated lookup (matrix[x], by hand) that reads row i-1 for every index i >= 5."""

    def emulation(self, action, model, args):
        return {"outputs": "looked up by hand, matrix[x]"} if action == "forward" else {}

    def forward(self, built, x):
        x = np.asarray(x)
        return super().forward(built, np.where(x >= 5, x - 1, x))


def narrows(x, voc) -> bool:
    """Whether the batch looks up the last row of a vocabulary larger than the document's 5."""
    return voc > 5 and bool((np.asarray(x) == voc - 1).any())


def _narrow(built, x, out):
    """The last component dropped where :func:`narrows` (a shape the pins do not allow)."""
    return out[..., :-1] if narrows(x, built.spec.layers[0].args["input_dim"]) else out


class ShiftedAndNarrowAtLastRow(_Hidden):
    """Row i-1 for an index i >= 5; vectors one component short in a batch looking up the last row."""

    def forward(self, built, x):
        x = np.asarray(x)
        return _narrow(built, x, super().forward(built, np.where(x >= 5, x - 1, x)))


class OffsetAndNarrowAtLastRow(_Hidden):
    """Every output plus 1; vectors one component short in a batch looking up the last row."""

    def forward(self, built, x):
        return _narrow(built, x, super().forward(built, x) + np.float32(1.0))
