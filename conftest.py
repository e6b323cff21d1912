"""Registers the conformance plugin for `pytest conformance` and `pytest tests`."""
pytest_plugins = ["conformance.plugin"]
