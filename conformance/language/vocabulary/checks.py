"""The checks of an ``expect`` list (and of a registered divergence's ``observed``): each compares
one field of the observation with the document's value, a formula, another field or the reference.

:mod:`conformance.judging.checks` implements exactly these (tests/test_vocabulary.py holds the two
together: names, and the keys each implementation reads). Every check also takes ``why``.
"""
from __future__ import annotations

from conformance.language.vocabulary.records import Arg, Word, table

WHY = Arg("why", "text", "why the check holds: shown with a failure")
OF = Arg("of", "field", "the field checked", required=True)
TO = Arg("to", "target", "the expected value", default="reference")
EXACT_ZEROS = Arg("exact_zeros", "flag", "also exactly 0 wherever the target is exactly 0 (a value filled in, "
                                         "such as pad_packed_sequence's padding, not computed)")
LITERAL = Arg("literal", "flag", "take 'to' exactly as written (strings are text, not formulas), e.g. what "
                                 "an unbuilt Keras model shows, '?'")
TOLERANCE = Arg("tolerance", "name", "how close is close (rtol/atol)", values=("float32", "loose", "exact"),
                default="float32")
NAN = Arg("nan", "name", "equal: NaN matches NaN at the same place; never: NaN matches nothing",
          values=("equal", "never"), default="never")
NAN_DIFFERS = Arg("nan", "name", "differs: an array holding NaN differs from one that holds none (a pin on "
                                 "values no framework computes, e.g. uninitialised memory); never: NaN values do "
                                 "not count as different", values=("differs", "never"), default="never")
LOW = Arg("low", "formula", "the lower end", required=True)
HIGH = Arg("high", "formula", "the upper end", required=True)
ALPHA = Arg("alpha", "number", "the false-alarm level of the statistical test")
MATCHING = Arg("matching", "text", "a piece of the warning's text (case ignored)")

# the alternative semantics the reference also computes where they change its observation
# (backends/reference.py implements exactly these): a check's ``to: {reference: NAME}`` compares with
# the reference's observation under one, so that a registered divergence pins the mechanism a framework
# follows instead of the document, at every drawn size
SEMANTICS = {
    "prefix_of_nonzero_count": "for a forward through a masking embedding (mask_zero) and recurrent layers: "
    "no step is skipped; each row's first (x != 0).sum() steps are ordinary inputs, zeros among them "
    "included, and the state after the last of them is kept (final states); per-step outputs after it are 0. "
    "What PyTorch's pack_padded_sequence(h, lengths=(x != 0).sum(1), batch_first=True, enforce_sorted=False) "
    "and pad_packed_sequence compute (no row of zeros only: pack_padded_sequence refuses a length of 0)",
    "max_norm_before_step": "for a training step of an embedding with a unit-norm constraint: no constraint "
    "after the update; instead, during the forward, each looked-up row of norm n above 1 is scaled by "
    "1 / (n + 1e-7) before the step uses it. What PyTorch's nn.Embedding(max_norm=1.0) does "
    "(torch.embedding_renorm_)",
    "mask_ignored": "for a forward through a masking embedding (mask_zero) and recurrent layers: the mask is not "
    "used; every step, zeros included, is an ordinary input. What Flax's nnx.RNN returns per step, whatever its "
    "seq_lengths (it only selects the carry returned with return_carry=True)",
}

# the tolerances a check may name (conformance/judging/tolerances.py holds their rtol/atol)
TOLERANCES = {
    "float32": "a few float32 ulps of accumulated error (the default)",
    "loose": "after a training step: one more matmul and update of rounding",
    "exact": "bit for bit",
}

CHECKS = table(
    Word("equal", "the field equals the target exactly (nested lists: same lengths at every level)",
         (OF, TO, LITERAL, NAN, WHY)),
    Word("close", "the field is close to the target, element by element, same shape",
         (OF, TO, LITERAL, TOLERANCE, NAN, EXACT_ZEROS, WHY)),
    Word("shape", "the field's shape is the target (a list of formulas), the reference's field's shape, or "
         "with to: {of: FIELD} that field's shape",
         (OF, TO, LITERAL, WHY)),
    Word("dtype", "the field's NumPy dtype is the named one",
         (OF, Arg("to", "name", "the dtype, e.g. float32", required=True), WHY)),
    Word("within", "every value of the field lies in [low, high]", (OF, LOW, HIGH, WHY)),
    Word("uniform", "the field's values are a sample of U[low, high] (Kolmogorov-Smirnov, mean, variance)",
         (OF, LOW, HIGH, ALPHA, WHY)),
    Word("differ", "the field differs from the target (arrays of numbers without NaN, unless nan: differs)",
         (OF, TO, LITERAL, NAN_DIFFERS, WHY)),
    Word("identical", "the field is bit for bit the target: same shape, dtype and bytes",
         (OF, TO, LITERAL, NAN, WHY)),
    Word("row_norms", "every row of the field (a matrix) has norm 'to'; with 'rows', those rows do",
         (OF, Arg("to", "formula", "the norm, one number or one per row", default=1.0),
          Arg("tolerance", "name", TOLERANCE.text, values=TOLERANCE.values, default="loose"),
          Arg("rows", "rows", "the rows whose norms are checked"), WHY)),
    Word("unit_norm_epsilon", "the field (a matrix) is what a unit-norm constraint with an epsilon computes "
         "from the matrix the reference's constraint was given (the reference's field 'unconstrained', its "
         "embedding matrix after the step, before the constraint): w / (epsilon + ||w||), row by row; a row of "
         "norm n ends at norm n / (n + epsilon), and every row of ordinary norm is the reference's",
         (OF, Arg("epsilon", "number", "the epsilon added to each row's norm, e.g. 1e-7 (Keras' "
                                       "backend.epsilon())", required=True),
          Arg("tolerance", "name", TOLERANCE.text, values=TOLERANCE.values, default="loose"), WHY),
         reads=("unconstrained",)),
    Word("changed_rows", "exactly the listed rows differ between the field and the target (matrices)",
         (OF, TO, LITERAL, Arg("rows", "rows", "the rows expected to change, or looked_up: the indices of the "
                                      "clause's x", required=True), WHY)),
    Word("is_true", "the field is true (booleans only; every element of an array)", (OF, WHY)),
    Word("is_false", "the field is false (booleans only; every element of an array)", (OF, WHY),
         example="{check: is_false, of: \"aliased.aligned\"}"),
    Word("raises", "the call raised (one of) the named exception type(s)",
         (Arg("to", "names", "the exception type name(s); any exception when left out"), WHY),
         reads=("raised", "message")),
    Word("first_steps", "a time axis frozen at some length: the field holds the target's first steps along "
         "axis 1 (all of them, or fewer: a longer input cut short), or the call raised (one of) the exception "
         "type(s) 'raises' (a shorter input refused)",
         (OF, TO, LITERAL, TOLERANCE, Arg("raises", "names", "the exception type name(s) a shorter input may raise"),
          WHY),
         reads=("raised", "message"),
         example="{check: first_steps, of: 'outputs[0]', to: reference, raises: InvalidArgument}"),
    Word("warns", "a warning mentioning 'matching' was issued", (MATCHING, WHY), reads=("warnings",)),
    Word("no_warning", "no warning mentioning 'matching' was issued", (MATCHING, WHY), reads=("warnings",),
         example="{check: no_warning, matching: deprecated}"),
    Word("repeats_at_masked", "at each masked step (index 0) after a sample's first input, the output "
         "repeats the previous step's (the field: per-step outputs of the clause's first input)", (OF, WHY)),
    Word("last_step", "the field equals the last step of the target (a return_sequences=True output)",
         (OF, TO, LITERAL, TOLERANCE, NAN, WHY)),
    Word("attains", "the sample reaches both ends of [low, high], within 'margin'",
         (OF, LOW, HIGH, Arg("margin", "formula", "how near an end counts as reaching it", default=0.0004), WHY)),
    Word("independent", "neighbouring components of a matrix (in rows and in columns) are uncorrelated",
         (OF, ALPHA, WHY)),
    Word("close_from_first_input", "close to the target at every (sample, step) from the sample's first "
         "unmasked input on (per-step outputs of the clause's first input)", (OF, TO, LITERAL, TOLERANCE, WHY)),
    Word("normal", "the field's values are a sample of N(mean, std^2) (Kolmogorov-Smirnov, mean, variance)",
         (OF, Arg("mean", "formula", "the mean", required=True),
          Arg("std", "formula", "the standard deviation", required=True), ALPHA, WHY)),
    Word("initializer", "the field (a layer config's initializer) is the named one, by its short name "
         "('uniform') or class name (RandomUniform), with [low, high] as its range where it gives one "
         "(a short name alone stands for its default arguments)",
         (OF, Arg("to", "name", "the initializer's short name, e.g. uniform", required=True), LOW, HIGH, WHY),
         example="{check: initializer, of: config.embeddings_initializer, to: uniform, low: -0.05, high: 0.05}"),
)
