"""A stand-in framework for the warning-origin tests (tests/test_warning_origin.py).

Like tf-keras 2.16, it calls a deprecated API of another library inside its own code every time it
makes a layer (that library's warning is about the framework's code, not the caller's); like
Keras 3, it warns itself about a deprecated argument the caller passes (about the caller's call).
"""
import warnings

from tests import fake_library

__version__ = "0.1"


def _seed():
    return fake_library.old_randint(1, 1e9)  # the framework's own call: the library warns about it


def make_embedding(input_dim, output_dim, input_length=None, **kwargs):
    if input_length is not None:
        warnings.warn("Argument `input_length` is deprecated. Just remove it.", UserWarning, stacklevel=2)
    return {"input_dim": input_dim, "output_dim": output_dim, "seed": _seed(), **kwargs}


def make_model(layers):
    return [_seed() for _ in layers]
