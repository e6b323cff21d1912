"""Faults that a known divergence or an emulation could hide (tests/test_drawn_judging.py).

Each is the NumPy reference with one or two bugs that never fire at the document's example:

* :class:`EmulatedIndexFiveAndAbove` says it computes its lookups by hand (``emulation``), and that
  idiom is wrong for an index >= 5: its cells are ``emulated`` at the document's example and must
  still diverge on the drawn examples that show the fault;
* :class:`ShiftedAndNarrowInLargeBatches` looks up row i-1 for an index >= 5 (a divergence the test
  registers, pinned to "the shapes are right") and, in a batch of more than 4 samples, also drops
  the last component of every vector (not as pinned): the second must fail the run even after
  examples that show only the first;
* :class:`OffsetAndNarrowInLargeBatches` adds 1 to every output (a strict registered divergence that
  shows at the document's example too) and drops the last component like the one above: "known divergence
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


def narrows(x) -> bool:
    """Whether the batch holds more than 4 samples (the document's batches hold 1 or 2; the ci
    profile's second set of sizes 2, its third 5: the first example showing index 5 and above
    shows only that fault, a later one both)."""
    return np.ndim(x) >= 1 and np.shape(x)[0] > 4


def _narrow(built, x, out):
    """The last component dropped where :func:`narrows` (a shape the pins do not allow)."""
    return out[..., :-1] if narrows(x) else out


class ShiftedAndNarrowInLargeBatches(_Hidden):
    """Row i-1 for an index i >= 5; vectors one component short in a batch of more than 4 samples."""

    def forward(self, built, x):
        x = np.asarray(x)
        return _narrow(built, x, super().forward(built, np.where(x >= 5, x - 1, x)))


class OffsetAndNarrowInLargeBatches(_Hidden):
    """Every output plus 1; vectors one component short in a batch of more than 4 samples."""

    def forward(self, built, x):
        return _narrow(built, x, super().forward(built, x) + np.float32(1.0))
