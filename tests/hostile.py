"""Hostile adapters: the reference with every answer bent into something no framework should return
(all NaN, plain lists, None, strings, wrong shapes), and one that interrupts the run.

Run as third-party adapters (``--backend tests.hostile:Name``) in their own worker process. Whatever
they return, every clause must still end in exactly one record, and nothing may conform by accident.
"""
import os
import signal
import time

import numpy as np

from backends.base import Backend, LayerSummary
from backends.reference import Reference


class _Hostile(Reference):
    framework = "hostile"
    requires = ("numpy",)

    def bend(self, value):
        """What this adapter returns instead of ``value`` (an array, a float or a bool)."""
        raise NotImplementedError

    def _bend_tree(self, value):
        if isinstance(value, dict):
            return {k: self._bend_tree(v) for k, v in value.items()}
        if isinstance(value, list) and value and isinstance(value[0], (list, np.ndarray)):
            return [self._bend_tree(v) for v in value]
        if isinstance(value, (np.ndarray, float, np.floating, bool, np.bool_)):
            return self.bend(value)
        return value

    def forward(self, built, x):
        return self.bend(super().forward(built, x))

    def get_weights(self, built):
        return self._bend_tree(super().get_weights(built))

    def mask(self, built, x):
        return self.bend(super().mask(built, x))

    def loss(self, built, x, y):
        total, reg = super().loss(built, x, y)
        return self.bend(total), self.bend(reg)

    def train_step(self, built, x, y, lr):
        return self.bend(super().train_step(built, x, y, lr))

    def summary(self, built):
        return [LayerSummary(row.output_shape, self.bend(float(row.trainable)),
                             self.bend(float(row.non_trainable)))
                for row in super().summary(built)]

    def document_call(self, name, **args):
        return self._bend_tree(super().document_call(name, **args))

    def layer_config(self, layer):
        return self._bend_tree(super().layer_config(layer))


class AllNaN(_Hostile):
    """Every number is NaN (with the right shape and dtype)."""

    def bend(self, value):
        if isinstance(value, np.ndarray):
            return np.full(value.shape, np.nan, np.float32)
        return float("nan")


class PlainLists(_Hostile):
    """Arrays come back as nested Python lists, numbers as one-element lists."""

    def bend(self, value):
        if isinstance(value, np.ndarray):
            return value.tolist()
        return [value]


class Nones(_Hostile):
    """Everything is None."""

    def bend(self, value):
        return None


class Strings(_Hostile):
    """Everything is a string."""

    def bend(self, value):
        return "not a number"


class WrongShapes(_Hostile):
    """Arrays gain a leading axis of 2 (values repeated), numbers become 2-vectors."""

    def bend(self, value):
        return np.stack([np.asarray(value)] * 2)


def interruptible() -> None:
    """For a test's subprocess (``preexec_fn``) that a test interrupts with SIGINT: Ctrl-C's default
    action, whatever the test run inherited. A shell starts a background job with SIGINT ignored,
    and an ignored signal stays ignored across exec: then Python installs no KeyboardInterrupt, the
    run is never interrupted, and the test waits for its timeout (300 s) and fails."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class InterruptsTheRun(Reference):
    """Sends SIGINT (Ctrl-C) to the pytest process that started this worker, once, on the first
    summary it is asked for, then answers normally."""

    framework = "hostile"
    requires = ("numpy",)
    sent = False  # in this worker process

    def summary(self, built):
        if not InterruptsTheRun.sent:
            InterruptsTheRun.sent = True
            os.kill(os.getppid(), signal.SIGINT)
            time.sleep(2)
        return super().summary(built)


HOSTILE = ("AllNaN", "PlainLists", "Nones", "Strings", "WrongShapes")


class ImplementsNothing(Backend):
    """Implements no method a clause needs: every clause is unsupported (the run must fail)."""

    framework = "hostile"
    requires = ("numpy",)

    def version(self):
        return "0"


class RequiresAString(Reference):
    """``requires = ("numpy")`` is the string "numpy", not a tuple: refused at the start."""

    framework = "hostile"
    requires = ("numpy")
