"""Legacy Keras 2 (``import tf_keras``), which still accepts the document's code as written.

``TF_USE_LEGACY_KERAS=1`` makes ``tf.keras`` resolve to tf-keras too, so nothing in the worker
process mixes the two Kerases. The mapping is backends/_keras_common.py.
"""
from __future__ import annotations

import numpy as np

from ._keras_common import KerasAdapter
from .base import Declaration, Release


class TfKeras(KerasAdapter):
    declaration = Declaration(
        name="tf-keras", framework="tf-keras", display="legacy Keras 2 (tf-keras) on TensorFlow",
        describes_document=True,
        summary="still accepts the document's code as written",
        order=40, seconds_per_item=0.303, requires=("tf_keras", "tensorflow"),
        env={"TF_USE_LEGACY_KERAS": "1"},
        pins=("tensorflow-cpu==2.21.0",), no_deps=("tf-keras==2.21.0",),
        no_deps_why="it declares the full `tensorflow` package, which would clash with tensorflow-cpu "
                    "(it runs on tensorflow-cpu)",
        pinned_release="2.21",
        releases=(Release("2.15", "oldest", ("tensorflow-cpu==2.15.1", "numpy<2"), ("tf-keras==2.15.1",)),
                  Release("2.18", "middle", ("tensorflow-cpu==2.18.1",), ("tf-keras==2.18.0",)),
                  Release("nightly", "nightly", ("tf-nightly-cpu",), ("tf-keras-nightly",))))
    snippet_module = "tf_keras"

    def module(self):
        import tf_keras

        return tf_keras

    def version(self):
        return self.module().__version__

    def describe(self):
        import tensorflow as tf

        return f"tf-keras {self.version()} on tensorflow {tf.__version__}"

    def release(self):
        import tensorflow as tf

        return f"{self.name}@{self.version()}+tensorflow-{tf.__version__}"

    def takes_weights_argument(self):
        return True  # base Layer's ``weights`` kwarg, in every tf-keras release

    def to_numpy(self, tensor):
        return np.asarray(tensor)

    def to_tensor(self, array):
        import tensorflow as tf

        return tf.convert_to_tensor(array)

    def snippet_preamble(self):
        return ["import os", "os.environ['TF_USE_LEGACY_KERAS'] = '1'", "import tensorflow as tf"]

    def snippet_tensor(self, expr):
        return f"tf.convert_to_tensor({expr})"
