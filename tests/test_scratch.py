"""A worker's scratch folder (conformance/running/worker.py, SCRATCH): what an exported column writes
(backends/_exported.py) and what an exporter writes to the temporary folder lives in a folder the
worker's parent made, and none of it outlives the worker, not even one killed on a timeout."""
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from backends import _exported
from backends.base import Layer, Model
from backends.reference import Reference
from conformance.judging.replies import Failed, Observed
from conformance.running.actions import Case
from conformance.running.worker import SCRATCH, Worker

PATHS = "TEST_SCRATCH_PATHS"  # where the adapters below write the paths of what they made


class _Writes(Reference):
    """The reference, writing an exported artifact and an exporter's own temporary file first."""

    framework = "writes files"

    def forward(self, built, x):
        artifact = _exported.new_artifact(".onnx")
        artifact.write_bytes(b"an exported model")
        handle, own = tempfile.mkstemp(suffix=".pb")  # an exporter's temporary, in the default folder
        os.close(handle)
        Path(os.environ[PATHS]).write_text(f"{artifact}\n{own}\n{os.environ[SCRATCH]}")
        return super().forward(built, x)


class WritesThenAnswers(_Writes):
    pass


class WritesThenHangs(_Writes):
    def forward(self, built, x):
        super().forward(built, x)
        time.sleep(3600)


def _case() -> Case:
    model = Model((Layer("embedding", {"input_dim": 5, "output_dim": 2}),))
    weights = [[np.arange(10, dtype=np.float32).reshape(5, 2)]]
    return Case("scratch.test", "forward", model, {"inputs": [np.array([[0, 4]], np.int32)]}, weights)


def _run(adapter: str, tmp_path, case_timeout: float):
    paths = tmp_path / "paths.txt"
    worker = Worker(adapter, {PATHS: str(paths)}, 120.0, case_timeout, locator=f"tests.test_scratch:{adapter}")
    try:
        reply = worker.run(_case())
        written = [Path(p) for p in paths.read_text().splitlines()]
        return worker, reply, written
    finally:
        worker.close()


def test_a_worker_killed_on_a_timeout_leaves_nothing_it_wrote(tmp_path):
    worker, reply, (artifact, own, scratch) = _run("WritesThenHangs", tmp_path, case_timeout=5)
    assert isinstance(reply, Failed) and "hung: no answer within 5 s" in reply.text
    assert scratch in artifact.parents and scratch in own.parents  # both were in the scratch folder
    assert not artifact.exists() and not own.exists() and not scratch.exists()
    assert worker.scratch is None


def test_a_worker_that_stops_leaves_nothing_it_wrote(tmp_path):
    worker, reply, (artifact, own, scratch) = _run("WritesThenAnswers", tmp_path, case_timeout=60)
    assert isinstance(reply, Observed)
    np.testing.assert_array_equal(reply.observation["outputs"][0], [[[0, 1], [8, 9]]])
    assert scratch in artifact.parents and scratch in own.parents
    assert not scratch.exists()
