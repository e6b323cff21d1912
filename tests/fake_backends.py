"""Adapters for frameworks that are not there."""
from backends.base import Backend


class NotInstalled(Backend):
    name = "not-installed"
    framework = "no_such_framework_xyz"
    requires = ("no_such_framework_xyz",)
