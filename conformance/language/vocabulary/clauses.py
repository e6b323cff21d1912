"""The keys of a spec clause and of its blocks (model, weights, characterize, draw), the layer
kinds of a model, and the describers of a characterization clause.

spec.schema.json declares the same keys (tests/test_vocabulary.py holds the two together);
:mod:`conformance.judging.describers` implements exactly :data:`DESCRIBERS` and the reference
backend builds exactly :data:`LAYERS`.
"""
from __future__ import annotations

from conformance.language.vocabulary.records import Arg, Word, table

LEVELS = {
    "normative": "the document says it: 'quote' gives the sentence; judged, and counted in the normative score",
    "extension": "beyond the document's text but standard Keras behaviour: judged like normative, scored apart",
    "characterization": "the document is silent: each backend's behaviour is described, never judged",
}

CLAUSE_KEYS = (
    Arg("id", "name", "the clause's id, dotted lower case (lookup.row-of-index)", required=True),
    Arg("section", "text", "the document's section (default: the file's 'section')"),
    Arg("level", "name", "how the clause is judged", required=True, values=tuple(LEVELS)),
    Arg("quote", "text", "the sentence(s) of the document the clause rests on, verbatim (normative: required)"),
    Arg("claim", "text", "what the clause claims, in a sentence", required=True),
    Arg("document_code", "flag", "the clause runs the document's own code"),
    Arg("params", "block", "the document's values, by name: numbers the formulas use"),
    Arg("model", "block", "the model: layers and input shape (Model below)"),
    Arg("weights", "block", "seeded (the default: the reference's seeded weights on every backend), "
                            "fresh (each framework's initializers), or {seed, zero, rescale_rows}"),
    Arg("action", "name", "what the clause does (Actions below)", required=True),
    Arg("with", "block", "the action's arguments (Actions below)"),
    Arg("expect", "block", "the checks of the observation (Checks below); a judged clause needs one"),
    Arg("characterize", "block", "{describe: describer}: how to describe a backend's behaviour "
                                 "(a characterization clause needs it)"),
    Arg("draw", "block", "domains and generators for drawn examples (Drawn examples below), or why the "
                         "clause is not drawn"),
)
MODEL_KEYS = (
    Arg("layers", "block", "the layers, in order: each one mapping {kind: {arguments}}", required=True),
    Arg("input", "shape", "the input shape without the batch axis (an Input layer)"),
    Arg("input_dtype", "name", "the dtype of the input arrays", values=("int32", "int64", "float32"),
        default="int32"),
)
WEIGHTS_KEYS = (
    Arg("seed", "number", "the seed of the reference's weights", default=0),
    Arg("zero", "names", "the layer kinds whose weights are set to zeros"),
    Arg("rescale_rows", "block", "embedding rows given another norm, direction kept: [{row, norm}]"),
)
CHARACTERIZE_KEYS = (
    Arg("describe", "name", "the describer (Describers below)", required=True),
    Arg("of", "field", "the field described (where the describer reads one)"),
)
DRAW_KEYS = (
    Arg("params", "block", "the domain [low, high] of each parameter that is drawn", required=True),
    Arg("with", "block", "a generator (or a list, or a formula) for each drawn 'with' value"),
    Arg("expect", "block", "checks for drawn examples, when the clause's own name the document's "
                           "literal shapes or rows"),
)

_UNITS = Arg("units", "formula", "the number of units", required=True)
LAYERS = table(
    Word("embedding", "keras.layers.Embedding",
         (Arg("input_dim", "formula", "the vocabulary size"),
          Arg("output_dim", "formula", "the vector dimension"),
          Arg("input_length", "formula", "the input sequence length (Keras 2)"),
          Arg("mask_zero", "flag", "index 0 is padding: the layer computes a mask"),
          Arg("trainable", "flag", "whether training updates the matrix"),
          Arg("pretrained", "flag", "build with the reference's seeded matrix as weights=[matrix]"),
          Arg("embeddings_initializer", "name", "the initializer: a name, or {random_uniform: {minval, maxval}} "
                                                "(keras.initializers.RandomUniform, numbers)",
              values=("uniform", "zeros", "ones")),
          Arg("embeddings_constraint", "block", "{unit_norm: {axis: 1}}"),
          Arg("embeddings_regularizer", "block", "{l2: factor}"),
          Arg("dtype", "name", "the layer's dtype policy (Keras' dtype=): mixed_float16 keeps float32 weights "
                               "and computes in float16; PyTorch users run the call under torch.autocast",
              values=("float32", "mixed_float16")))),
    Word("flatten", "keras.layers.Flatten"),
    Word("dense", "keras.layers.Dense", (_UNITS, Arg("trainable", "flag", "whether training updates it"))),
    Word("simple_rnn", "keras.layers.SimpleRNN",
         (_UNITS, Arg("return_sequences", "flag", "return every step's output"))),
    Word("lstm", "keras.layers.LSTM", (_UNITS, Arg("return_sequences", "flag", "return every step's output"))),
    Word("gru", "keras.layers.GRU", (_UNITS, Arg("return_sequences", "flag", "return every step's output"))),
)

# layer kinds without weights (``weights: {zero: [...]}`` names the others)
UNWEIGHTED = ("flatten",)

DESCRIBERS = table(
    Word("lookup", "what each distinct index returns: a row of the matrix (which), zeros, NaN or an "
                   "exception", reads=("outputs",)),
    Word("shapes", "the shapes an action reports", reads=("shapes",)),
    Word("output_shape", "the shape of the output", reads=("output",)),
    Word("alias", "whether the layer shares or copies the caller's matrix", reads=("aliased",)),
    Word("row_norms", "the norms of the matrix rows", reads=("weights",)),
    Word("regularization", "the regularization term a loss reports", reads=("regularization",)),
    Word("loss_value", "the loss value", reads=("losses",), example="{describe: loss_value}"),
    Word("warnings", "the warnings about input_length the framework issued", reads=("warnings",)),
    Word("leading_masked", "what a masked RNN outputs at the leading masked steps", reads=("outputs",)),
    Word("outcome", "whether the call succeeded or what it raised", example="{describe: outcome}"),
    Word("row_zero_update", "whether a training step changed row 0 of the embedding", reads=("before", "after")),
    Word("kept_matrix", "what the layer made of a caller's matrix of another dtype or shape: its "
                        "weights' shape and dtype, the output's dtype", reads=("weights", "source", "output")),
    Word("matrix_update", "whether a training step changed the embedding matrix, and how many rows",
         reads=("before", "after")),
    Word("dtypes", "the dtypes of the embedding matrix and of the output", reads=("weights", "output")),
    Word("exports", "per export of the exporter's defaults: the dtype and shape the artifact declares, and "
                    "per input fed whether the lookups equal the weights' rows or what the run raised",
         reads=("exports",)),
    Word("all_masked_sample", "what the first sample, all of whose indices are 0, outputs: zeros, NaN or values",
         reads=("outputs",)),
)
