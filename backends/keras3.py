"""Keras 3 on each of its backends: one process per backend (conformance/running/worker.py applies
``env``), since Keras fixes its backend when it is first imported.

The mapping is backends/_keras_common.py; this module only says which Keras it is.
"""
from __future__ import annotations

import importlib

from . import _xla_flags
from ._jax_cache import tally_cache_size
from ._keras_common import KerasAdapter
from .base import CompileCache, Declaration, Release

KERAS = "keras==3.15.1"  # the pinned Keras 3 of all three backends


class Keras3(KerasAdapter):
    """Keras 3 (``import keras``) on the backend its worker's ``KERAS_BACKEND`` names."""

    @property
    def keras_backend(self) -> str:
        return self.env.get("KERAS_BACKEND", "")

    def module(self):
        import keras

        return keras

    def version(self):
        keras = self.module()
        actual = keras.backend.backend()
        if actual != self.keras_backend:
            raise RuntimeError(f"{self.name} expects Keras on {self.keras_backend!r}, but Keras "
                               f"runs on {actual!r}: KERAS_BACKEND was not applied before import")
        return keras.__version__

    def describe(self):
        version = self.version()
        engine = importlib.import_module(self.keras_backend)
        return f"keras {version} on {self.keras_backend} {engine.__version__}"

    def release(self):
        engine = importlib.import_module(self.keras_backend)
        return f"{self.name}@{self.version()}+{self.keras_backend}-{engine.__version__}"

    def to_numpy(self, tensor):
        return self.module().ops.convert_to_numpy(tensor)

    def to_tensor(self, array):
        return self.module().ops.convert_to_tensor(array)

    def snippet_preamble(self):
        return ["import os", f"os.environ['KERAS_BACKEND'] = {self.keras_backend!r}"]

    def snippet_numpy(self, expr):
        return f"keras.ops.convert_to_numpy({expr})"

    def snippet_tensor(self, expr):
        return f"keras.ops.convert_to_tensor({expr})"


class KerasTensorflow(Keras3):
    declaration = Declaration(
        name="keras-tensorflow", framework="keras", display="Keras 3 on TensorFlow", describes_document=True,
        order=10, seconds_per_item=0.212, requires=("keras", "tensorflow"),
        env={"KERAS_BACKEND": "tensorflow"},
        pins=(KERAS, "tensorflow-cpu==2.21.0"), pinned_release="3.15",
        releases=(Release("3.0", "oldest", ("keras==3.0.5", "tensorflow-cpu==2.16.2", "numpy<2")),
                  Release("3.8", "middle", ("keras==3.8.0", "tensorflow-cpu==2.18.1")),
                  Release("nightly", "nightly", ("keras-nightly", "tf-nightly-cpu"),
                          note="tf-nightly-cpu depends on keras-nightly itself")))


class KerasJax(Keras3):
    # env_defaults: XLA compiles every new model and shape; backends/_xla_flags.py's flags for the
    # installed jaxlib (-O0 and two more) halve a cold run's compile time. Code generation only:
    # the computation XLA is given and the verdicts are the same (against XLA's default, a float
    # may move in its last printed place; see there). A caller's own XLA_FLAGS win (the weekly
    # thorough run sets XLA's default).
    # compile_cache: JAX's persistent compilation cache keeps XLA's executables on disk, so a
    # second run compiles nothing it compiled before (docs/PERFORMANCE.md: at -O0 reading one
    # costs about what compiling it does). Every program counts (by default only those that took
    # a second to compile, most of ours take less). With
    # filelock installed, JAX bounds the folder and locks each entry's read and write, so two runs
    # at once never read each other's half-written entry (a warning, which a record would keep).
    declaration = Declaration(
        name="keras-jax", framework="keras", display="Keras 3 on JAX", describes_document=True,
        order=20, seconds_per_item=0.424, requires=("keras", "jax"),
        env={"KERAS_BACKEND": "jax"}, env_defaults={"XLA_FLAGS": _xla_flags.fast_flags(_xla_flags.installed_jaxlib())},
        pins=(KERAS, "jax==0.10.2", "jaxlib==0.10.2"), pinned_release="3.15",
        compile_cache=CompileCache(
            "JAX_COMPILATION_CACHE_DIR", ("keras", "jax", "jaxlib"), key_env=("XLA_FLAGS",),
            settings={"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                      "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"},
            settings_with={"filelock": {"JAX_COMPILATION_CACHE_MAX_SIZE": str(2 * 1024**3)}}),
        releases=(Release("3.0", "oldest", ("keras==3.0.5", "jax==0.4.23", "jaxlib==0.4.23", "numpy<2", "scipy<1.14")),
                  Release("3.8", "middle", ("keras==3.8.0", "jax==0.4.38", "jaxlib==0.4.38")),
                  Release("nightly", "nightly", ("keras-nightly", "jax==0.10.2", "jaxlib==0.10.2"),
                          note="no JAX nightly on the registry: keras-nightly on the pinned jax")))
    # An eager call on JAX runs op by op and traces a recurrent layer's lax.scan again on every
    # call (0.1 to 0.3 s each, whatever the shape). A model built once and reused for drawn
    # examples (conformance/running/actions.py says so through reuse()) runs compiled instead:
    # predict_on_batch, and for the loss the train step with a learning rate of 0, traced once
    # per model and input shape, then about 0.1 ms a call. A model called once or twice (the
    # document's own examples) stays eager, which is cheaper then.
    forward_call = "model.predict_on_batch({x})"

    def start(self):
        tally_cache_size()  # before the first compile creates the cache

    def reuse(self, built):
        built._conformance_reused = True

    def forward(self, built, x):
        if getattr(built, "_conformance_reused", False):
            return self.to_numpy(built.predict_on_batch(x))
        return super().forward(built, x)

    def compiled_loss(self, built, x):
        return getattr(built, "_conformance_reused", False)


class KerasTorch(Keras3):
    declaration = Declaration(
        name="keras-torch", framework="keras", display="Keras 3 on PyTorch", describes_document=True,
        order=30, seconds_per_item=0.148, requires=("keras", "torch"),
        env={"KERAS_BACKEND": "torch"},
        pins=(KERAS, "torch==2.13.0"), pinned_release="3.15",
        releases=(Release("3.0", "oldest", ("keras==3.0.5", "torch==2.13.0", "numpy<2")),
                  Release("3.8", "middle", ("keras==3.8.0", "torch==2.13.0")),
                  Release("nightly", "nightly", ("keras-nightly", "torch==2.13.0"))))
