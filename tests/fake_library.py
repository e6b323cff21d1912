"""A library that is neither the framework under test nor the suite: it warns about its caller,
as the standard library's ``random.randint(1, 1e9)`` does on Python 3.11 (see fake_framework)."""
import warnings


def old_randint(low, high):
    warnings.warn("non-integer arguments to old_randint() have been deprecated", DeprecationWarning,
                  stacklevel=2)
    return int(low)
