"""Imports fine, but looking up any name raises something other than AttributeError."""


def __getattr__(name):
    raise KeyError(name)
