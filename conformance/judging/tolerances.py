"""Numeric tolerances, stated once. The reference computes in float64 and rounds to float32 at
its outputs; frameworks compute in float32, so ``float32`` allows a few ulps of accumulated error.
``loose`` is for values after a training step (one more matmul and update of rounding)."""

TOLERANCES = {
    "exact": {"rtol": 0.0, "atol": 0.0},
    "float32": {"rtol": 1e-5, "atol": 1e-6},
    "loose": {"rtol": 1e-4, "atol": 1e-5},
}
DEFAULT = "float32"
