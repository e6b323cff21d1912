"""The aliasing characterization tries an aligned and an unaligned buffer (Keras on JAX shares
only a 64-byte aligned one), and says when the two differ."""
import numpy as np
import pytest

from backends.base import Layer, Model
from backends.reference import Reference
from conformance.judging import describers as characterize
from conformance.running import actions
from conformance.running.actions import Case


@pytest.mark.parametrize("offset", [0, 4, 8, 60])
def test_placed_puts_the_buffer_where_asked(offset):
    matrix = np.arange(10, dtype=np.float32).reshape(5, 2)
    out = actions.placed(matrix, offset)
    assert out.ctypes.data % 64 == offset and np.array_equal(out, matrix) and out.dtype == np.float32


class SharesAlignedOnly(Reference):
    """Keeps the caller's matrix (no copy) only when it is 64-byte aligned, as JAX's device_put."""

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        if pretrained is not None and pretrained.ctypes.data % 64 == 0:
            built.weights[0][0] = pretrained
        return built

    def get_weights(self, built):
        return [[np.array(w) for w in ws] for ws in built.weights]


def _case():
    model = Model((Layer("embedding", {"input_dim": 5, "output_dim": 2, "pretrained": True}),))
    return Case("char.pretrained-copy-or-alias", "pretrained", model, {}, None,
                np.arange(10, dtype=np.float32).reshape(5, 2) / 10)


def test_the_reference_copies_both():
    obs = actions.pretrained(Reference(), _case())
    assert obs["aliased"] == {"aligned": False, "unaligned": False}
    assert characterize.alias(obs, _case()) == "copies the matrix"


def test_sharing_only_an_aligned_buffer_is_described_as_such():
    obs = actions.pretrained(SharesAlignedOnly(), _case())
    assert obs["aliased"] == {"aligned": True, "unaligned": False}
    assert characterize.alias(obs, _case()) == "aliases an aligned matrix; copies an unaligned matrix"
