"""Hypothesis profiles (array-api-tests style): pick one with --hypothesis-profile=NAME, or
override the number of examples with --hypothesis-max-examples (our option)."""
import os

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
