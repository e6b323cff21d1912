"""Deliberately broken adapters. The suite must catch every one of them.

Each is the reference with one plausible bug, run as a third-party adapter
(``--backend tests.mutants:Name``) in its own worker process, like any framework.
"""
import os
import time

import numpy as np

from backends.reference import Reference


class _Mutant(Reference):
    framework = "mutant"
    requires = ("numpy",)


class OffByOneLookup(_Mutant):
    """Looks up row i+1 (wrapping), the classic 1-based vocabulary mistake."""

    def forward(self, built, x):
        return super().forward(built, (np.asarray(x) + 1) % built.spec.layers[0].args["input_dim"])


class BiasInEmbedding(_Mutant):
    """Reports one more parameter per embedding, as if it had a bias."""

    def summary(self, built):
        rows = super().summary(built)
        for layer, row in zip(built.spec.layers, rows):
            if layer.kind == "embedding":
                row.trainable += 1
        return rows


class ZeroAtMaskedSteps(_Mutant):
    """Outputs zeros at masked steps instead of repeating the previous state."""

    def forward(self, built, x):
        out = super().forward(built, x)
        if built.spec.layers[0].args.get("mask_zero") and out.ndim == 3 and len(built.spec.layers) > 1:
            out = np.where((np.asarray(x) != 0)[..., None], out, 0.0).astype(np.float32)
        return out


class ConstraintOnlyOnLookedUpRows(_Mutant):
    """Applies the unit-norm constraint to the rows looked up in the step only."""

    def train_step(self, built, x, y, lr):
        emb = built.spec.layers[0].args
        constraint = emb.pop("embeddings_constraint", None)
        try:
            loss = super().train_step(built, x, y, lr)
        finally:
            if constraint is not None:
                emb["embeddings_constraint"] = constraint
        if constraint is not None:
            E = built.weights[0][0]
            rows = np.unique(np.asarray(x))
            E[rows] /= np.linalg.norm(E[rows], axis=1, keepdims=True)
        return loss


class WideInitializer(_Mutant):
    """Initialises from [-0.1, 0.1] instead of [-0.05, 0.05]."""

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        if pretrained is None:
            built.weights[0][0] = built.weights[0][0] * 2
        return built


class NarrowInitializer(_Mutant):
    """Initialises from [-0.0495, 0.0495], 1% narrower than [-0.05, 0.05]."""

    def build(self, model, pretrained=None):
        built = super().build(model, pretrained)
        if pretrained is None:
            built.weights[0][0] = built.weights[0][0] * np.float32(0.99)
        return built


class CrashesOnMask(_Mutant):
    """Kills its interpreter whenever asked for a mask: a segfault-like abort."""

    def mask(self, built, x):
        os._exit(3)


class HangsOnSummary(_Mutant):
    """Never answers a summary request."""

    def summary(self, built):
        time.sleep(3600)


class BuggyAdapter(_Mutant):
    """An adapter bug (not a framework behaviour): must be reported as error, not divergence."""

    def summary(self, built):
        return built.no_such_attribute

