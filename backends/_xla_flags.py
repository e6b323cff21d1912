"""XLA's flags for a faster compile on CPU, for the installed jaxlib (Keras on JAX's ``env_defaults``).

Code generation only: XLA is given the same computation. The two flags after -O0 leave the
records as -O0 alone gives them (a nine-column run: 792 of 792 equal; the Flax NNX example's
column too, 88 of 88). -O0 itself can move a float in its last printed place against XLA's
default optimisation (the Flax example's LSTM output: 0.0647174 at -O0, 0.0647175 at XLA's
default; Keras on JAX: 9 of its 88 records, a GRU's -0.4265067 against -0.4265068), far inside
every clause's tolerance: the verdicts are the same. The weekly thorough run compiles at XLA's
defaults, what users run. A caller's own ``XLA_FLAGS`` win, and ``--framework-defaults`` drops
these.

- ``--xla_backend_optimization_level=0``: LLVM at -O0 (a recurrent model compiles in about two
  thirds of the time; the clauses' tiny programs run no slower);
- ``--xla_cpu_use_fusion_emitters=false``: XLA's older LLVM IR emitters for fusions instead of the
  MLIR ones (jaxlib 0.10's default), which take about twice as long on these small programs;
- ``--xla_cpu_parallel_codegen_split_count=1``: the LLVM module compiled in one piece, not split
  across threads (one thread of a 2-core machine several workers share).

Measured, Keras on JAX alone with a cold compile cache (2 cores, jaxlib 0.10.2): 38.2 s of the
worker's CPU with -O0 alone, 24.7 s with the emitters flag too, 21.8 s with all three.

XLA aborts the process on a flag it does not know (``Unknown flags in XLA_FLAGS``), so each flag
goes only to the jaxlib releases it was checked on: ``SINCE`` gives the first release checked to
know it (jaxlib 0.4.23, the sweep's oldest, knows -O0 alone; 0.4.38 the split count too), and a
release after ``CHECKED_THROUGH`` gets -O0 alone until someone checks it (the pinned jaxlib must be
within, tests/test_compile_cache.py, so a new pin asks for the check).
"""
from __future__ import annotations

import importlib.metadata
import re

O0 = "--xla_backend_optimization_level=0"
SINCE = {O0: (0, 0),
         "--xla_cpu_parallel_codegen_split_count=1": (0, 4, 38),
         "--xla_cpu_use_fusion_emitters=false": (0, 10)}
CHECKED_THROUGH = (0, 10)  # the newest jaxlib release line the flags were checked on


def release(version: str | None) -> tuple[int, ...] | None:
    """(major, minor, patch) of a version string such as "0.10.2" or "0.11.0.dev20270101"."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    return tuple(int(part) for part in match.groups(default="0")) if match else None


def fast_flags(jaxlib: str | None) -> str:
    """The flags for this jaxlib version (None: not installed, or unknown: -O0 alone)."""
    version = release(jaxlib)
    if version is None or version[:2] > CHECKED_THROUGH:
        return O0
    return " ".join(flag for flag, since in SINCE.items() if version >= since)


def installed_jaxlib() -> str | None:
    try:
        return importlib.metadata.version("jaxlib")
    except importlib.metadata.PackageNotFoundError:
        return None
