"""The actions: what a clause does to a backend (``action:``), the keys of its ``with`` block,
and the observation fields it produces.

:mod:`conformance.running.actions` implements exactly these (tests/test_vocabulary.py holds the
two together: names, the ``with`` keys each reads, and the fields each produces on the reference).
"""
from __future__ import annotations

from conformance.language.vocabulary.records import Arg, Word, table

# fields every observation has, whatever the action
COMMON_FIELDS = {
    "warnings": "the warnings the framework issued about the clause's call (\"Category: text\")",
    "framework_warnings": "warnings other libraries issued about the framework's own code (shown, never judged)",
    "emulated": "where the adapter computes something by hand: field -> the idiom it uses",
}
# the observation of a call that raised holds these instead of the action's fields
RAISED_FIELDS = {
    "raised": "the exception's type name",
    "message": "the exception's message",
}

ACTIONS = table(
    Word("forward", "build the model, set its weights and call it on each input array",
         (Arg("inputs", "arrays", "the input arrays, one call each", required=True),
          Arg("sequences", "flag", "also run the model with its last recurrent layer returning every step"),
          Arg("separately", "flag", "build a fresh model (same weights) for each input"),
          Arg("predict", "flag", "call the framework's predict path (Keras model.predict), as the document "
                                 "does, instead of the inference call")),
         writes=("outputs", "dtypes", "shapes", "sequences"), needs_model=True),
    Word("summary", "build the model and read its summary, one row per layer", (),
         writes=("output_shapes", "params", "trainable", "non_trainable"), needs_model=True),
    Word("weights", "build the model, set the reference's weights and read them back",
         (Arg("x", "array", "call the model on this first (for weights a framework creates lazily)"),),
         writes=("weights", "counts", "shapes", "output"), needs_model=True),
    Word("fresh_weights", "build the model several times with the framework's own initializers",
         (Arg("count", "formula", "how many models to build", default=2),
          Arg("seed", "formula", "the framework's random seed", default=0)),
         writes=("matrices",), needs_model=True),
    Word("train_step", "one step of gradient descent on a mean squared error loss",
         (Arg("x", "array", "the input array", required=True),
          Arg("y", "array", "the targets", required=True),
          Arg("lr", "formula", "the learning rate", required=True),
          Arg("freeze_between_steps", "flag", "take a first step (which compiles), then set the embedding "
                                              "to trainable=False on the built model, then the step observed")),
         writes=("loss", "before", "after", "unconstrained"), needs_model=True),
    Word("loss", "the mean squared error loss (with regularization) of the model for each target",
         (Arg("x", "array", "the input array", required=True),
          Arg("targets", "arrays", "the target arrays, one loss each", required=True)),
         writes=("losses", "regularization"), needs_model=True),
    Word("mask", "the mask the model's embedding layer computes for an input",
         (Arg("x", "array", "the input array", required=True),),
         writes=("mask",), needs_model=True),
    Word("construct", "construct an embedding layer from keyword arguments (no model)",
         (Arg("kwargs", "mapping", "the constructor's keyword arguments", required=True),
          Arg("config", "flag", "also read the layer's configuration")),
         writes=("accepted", "config")),
    Word("pretrained", "build the model from a pre-trained matrix (the reference's seeded one), then "
         "change the caller's matrix in place: does the layer share it?",
         (Arg("x", "array", "also call the model on this"),
          Arg("matrix_dtype", "name", "the dtype of the caller's matrix", values=("float32", "float64"),
              default="float32"),
          Arg("matrix_shape", "shape", "the shape of the caller's matrix, when it is not the layer's "
                                       "(input_dim, output_dim): the seeded values resized to it (np.resize)")),
         writes=("aliased", "weights", "source", "summary", "output"), needs_model=True),
    Word("document", "run a piece of the document's own code, by name (the adapter holds each one)",
         (Arg("name", "name", "which piece of the document's code", required=True),
          Arg("data", "literal", "the data the document's code is given, as written"),
          Arg("shape", "shape", "an array shape the code is given"),
          Arg("matrix", "formulas", "the embedding matrix to set (the document's printed one)")),
         writes=("output", "weights", "shape", "trainable", "non_trainable", "output_shapes", "params")),
    Word("export_defaults", "build the model, set its weights, call it once on x (the first predict an "
         "exporter may need), export it with each of the exporter's default calls (no signature, no "
         "dynamic axes declared) and feed each artifact every input as given; an exported backend "
         "answers, the frameworks' own columns are unsupported, the reference states what the "
         "document implies (integer indices of either dtype, any batch and length)",
         (Arg("x", "array", "the input of the first call, the example an exporter traces with", required=True),
          Arg("inputs", "arrays", "the inputs each artifact is fed, one run each, as given (no cast)",
              required=True)),
         writes=("exports",), needs_model=True),
)
