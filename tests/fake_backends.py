"""Adapters for frameworks that are not there, adapters that declare emulations, and adapters that
crash, hang or have a bug of their own (worker isolation and error reporting)."""
import os
import time

import numpy as np

from backends.base import Backend
from backends.keras3 import KerasTensorflow
from backends.reference import Reference


class NotInstalled(Backend):
    name = "not-installed"
    framework = "no_such_framework_xyz"
    requires = ("no_such_framework_xyz",)


class KerasWithoutWeightsArgument(KerasTensorflow):
    """The installed Keras on tensorflow, as if its Embedding had no ``weights=`` (Keras 3.0 to
    3.2), so the adapter's fallback for those releases runs on whatever Keras is installed."""

    def takes_weights_argument(self):
        return False


class BrokenAtStart(Backend):
    """Installed (its module imports) but broken: the worker cannot report a version."""

    name = "broken-at-start"
    framework = "numpy"
    requires = ("numpy",)

    def version(self):
        raise RuntimeError("this framework's import is broken")


class _DeclaresEmulation:
    """Says it computed every forward output by hand (Backend.emulation)."""

    def emulation(self, action, model, args):
        return {"outputs": "looked up by hand, matrix[x]"} if action == "forward" else {}


class EmulatedLookup(_DeclaresEmulation, Reference):
    """The reference, declaring its lookups emulated: they conform, but only as ``emulated``."""

    framework = "fake"
    requires = ("numpy",)


class EmulatedOffByOne(_DeclaresEmulation, Reference):
    """An emulated lookup that is off by one: the framework plus the idiom still diverges."""

    framework = "fake"
    requires = ("numpy",)

    def forward(self, built, x):
        return super().forward(built, (np.asarray(x) + 1) % built.spec.layers[0].args["input_dim"])


class Harmless(Reference):
    """A "mutant" without a bug: it survives every clause (python -m conformance selftest
    --module tests.fake_backends must fail)."""

    framework = "fake"
    requires = ("numpy",)
    kills = ("lookup.rows-are-matrix-rows",)


# -- adapters for the tests of worker isolation and error reporting --------------------------------
class CrashesOnMask(Reference):
    """Kills its interpreter whenever asked for a mask: a segfault-like abort."""

    framework = "fake"
    requires = ("numpy",)

    def mask(self, built, x):
        os._exit(3)


class HangsOnSummary(Reference):
    """Never answers a summary request."""

    framework = "fake"
    requires = ("numpy",)

    def summary(self, built):
        time.sleep(3600)


class BuggyAdapter(Reference):
    """An adapter bug (not a framework behaviour): must be reported as error, not divergence."""

    framework = "fake"
    requires = ("numpy",)

    def summary(self, built):
        return built.no_such_attribute
