"""Generators: the input generators a ``with`` block may use in place of a literal array, the
generators of a ``draw: with:`` block (drawn examples, :mod:`conformance.language.drawing`), and
the parameter names that are sizes.

Each generator is a mapping whose generator key (``ints``, ``indices``...) says which it is.
:func:`conformance.language.cases.make_input` implements the input generators and
:mod:`conformance.language.drawing` the draw generators (tests/test_vocabulary.py holds them to
these records).
"""
from __future__ import annotations

from conformance.language.vocabulary.records import Arg, Word, table

INDEX_DTYPES = ("int32", "int64")
_DTYPE = Arg("dtype", "name", "the array's dtype (default: the model's input_dtype for indices, else float32)")
_SEED = Arg("seed", "formula", "the seed of NumPy's generator", default=0)

INPUT_GENERATORS = table(
    Word("ints", "integers drawn uniformly from [low, high-1] with a fixed seed",
         (Arg("ints", "shape", "the array's shape", required=True),
          Arg("high", "formula", "one above the largest integer", required=True),
          Arg("low", "formula", "the smallest integer", default=0), _SEED, _DTYPE)),
    Word("ones", "an array of ones", (Arg("ones", "shape", "the array's shape", required=True), _DTYPE),
         example="{ones: [2, inputs]}"),
    Word("uniform", "floats drawn uniformly from [-1, 1] with a fixed seed",
         (Arg("uniform", "shape", "the array's shape", required=True), _SEED, _DTYPE),
         example="{uniform: [batch, units], seed: 1}"),
    Word("values", "a literal array with an explicit dtype",
         (Arg("values", "formulas", "the values", required=True), _DTYPE)),
)

_HIGH = Arg("high", "formula", "one above the largest index (VOC_SIZE)", required=True)
_INDEX_DTYPE = Arg("dtype", "names", "the index dtypes the document allows, one drawn per example",
                   values=INDEX_DTYPES, default=["int32"])

DRAW_GENERATORS = table(
    Word("indices", "integers in [0, high-1]; VOC_SIZE-1 drawn often",
         (Arg("indices", "shape", "the array's shape", required=True), _HIGH, _INDEX_DTYPE,
          Arg("last", "flag", "make sure VOC_SIZE-1 occurs"))),
    Word("padded", "index rows padded with zeros (index 0 = missing input), non-zero indices in [1, high-1]",
         (Arg("padded", "shape", "the shape [batch, steps]", required=True), _HIGH, _INDEX_DTYPE,
          Arg("layout", "name", "anywhere: leading, interior and trailing zeros, each row its own; "
                                "trailing: zeros after the indices only", values=("anywhere", "trailing"),
              default="anywhere"),
          Arg("empty_rows", "flag", "allow rows of zeros only"))),
    Word("floats", "float32 values in [low, high]",
         (Arg("floats", "shape", "the array's shape", required=True),
          Arg("low", "formula", "the smallest value", required=True),
          Arg("high", "formula", "the largest value", required=True))),
    Word("resample_masked", "a copy of an earlier drawn array with new values at the steps where the "
         "index array 'where' is 0",
         (Arg("resample_masked", "field", "the array copied, a path into the drawn 'with' (targets[0])",
              required=True),
          Arg("where", "name", "the drawn index array (a key of the 'with' block drawn before)", required=True),
          Arg("low", "formula", "the smallest new value", default=-9),
          Arg("high", "formula", "the largest new value", default=9))),
)

# parameters that are sizes, with the smallest value each may be drawn from
SIZES = {
    "voc_size": (1, "the vocabulary size (VOC_SIZE, the embedding's input_dim)"),
    "vec_dim": (1, "the vector dimension (VEC_DIM, the embedding's output_dim)"),
    "units": (1, "the units of a dense or recurrent layer"),
    "inputs": (1, "the length of an input sequence (steps)"),
    "depth": (1, "the extra axes of an input"),
    "batch": (0, "the number of samples (0: the empty batch)"),
}
