"""Adapters over tests/fake_framework, a stand-in framework that warns in both ways (see there)."""
from backends.reference import Reference
from tests import fake_framework, fake_library


class FakeFramework(Reference):
    """The reference, building through fake_framework first: its results are the reference's,
    its warnings the fake framework's."""

    name = "fake-framework"
    framework = "fake_framework"
    requires = ("tests.fake_framework",)

    def version(self):
        return fake_framework.__version__

    def describe(self):
        return f"fake_framework {self.version()}"

    def build(self, model, pretrained=None):
        fake_framework.make_model(model.layers)
        return super().build(model, pretrained=pretrained)

    def construct(self, kwargs):
        fake_framework.make_embedding(**kwargs)
        return super().construct(kwargs)


class AdapterCallsLibrary(FakeFramework):
    """The adapter itself calls the deprecated library function: that warning is about the
    adapter's call (the clause's), not the framework's code."""

    def construct(self, kwargs):
        fake_library.old_randint(1, 1e9)
        return super().construct(kwargs)
