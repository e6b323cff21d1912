"""The words of the spec language that are implemented in later stages, declared here so that
validation (this package) never imports the code that implements them.

:mod:`conformance.judging.describers` implements exactly :data:`DESCRIBERS` (a test holds the two
together).
"""
from __future__ import annotations

# characterization describers: name -> what the description says
DESCRIBERS = {
    "lookup": "what an index returns: a row of the matrix (which), zeros, or an exception",
    "shapes": "the shapes an action reports",
    "output_shape": "the shape of the first output",
    "alias": "whether the layer shares or copies a given matrix",
    "row_norms": "the norms of the matrix rows",
    "regularization": "the regularization term a loss reports",
    "loss_value": "the loss value",
    "warnings": "the warnings the framework issued",
    "leading_masked": "what a masked RNN outputs at leading masked steps",
    "outcome": "whether the call succeeded or what it raised",
}
