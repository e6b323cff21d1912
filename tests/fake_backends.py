"""Adapters for frameworks that are not there."""
from backends.base import Backend
from backends.keras3 import KerasTensorflow


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
