"""Hypothesis profiles (array-api-tests style): pick one with --hypothesis-profile=NAME, or
override the number of examples with --hypothesis-max-examples (our option); under
``-n N --dist loadfile`` the costliest test files start first (tests/xdist_files.py)."""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--hypothesis-max-examples", type=int, default=None,
                     help="override max_examples of the loaded Hypothesis profile")


def pytest_configure(config):
    n = config.getoption("--hypothesis-max-examples")
    if n:
        settings.register_profile("override", parent=settings.default,
                                  max_examples=n)
        settings.load_profile("override")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` over the suite's own tests: the costliest files first (tests/xdist_files.py).
    A run that collects the conformance clauses keeps the plugin's scheduler, which answers first."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.xdist_files import CostliestFileFirst  # imports xdist, which only a -n run is sure to have

    return CostliestFileFirst(config, log)
