"""An adapter shipped inside its framework's package (tests/fake_framework), as a framework may
ship its own: its module lies under a ``requires`` package, yet its own exceptions are its own."""
from backends.base import Backend
from tests import fake_framework


class ShippedAdapter(Backend):
    name, framework, requires = "shipped", "fake_framework", ("tests.fake_framework",)

    def version(self):
        return fake_framework.__version__

    def construct(self, kwargs):
        if kwargs.get("how") == "framework":  # the framework raises in its own code
            return fake_framework.make_model(None)  # TypeError: iterating None, in the framework's code
        raise TypeError("the adapter's own bug: it raises before calling the framework")
