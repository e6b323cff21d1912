"""Issue 19 item 6: what ONNX Runtime (and an exporter) writes to stderr never reaches the worker's
channel or a record. backends/_exported.py opens every session at the error level; whatever a runtime
still prints goes to the worker's log (conformance/running/worker.py: stdout and stderr go to a file,
the channel is a socket of its own), which a record shows only as the reason of a worker that died.

A model with an initializer no node uses makes ONNX Runtime warn on stderr when a session opens."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends.base import Layer, Model
from backends.reference import Reference
from conformance.judging.replies import Observed
from conformance.running.actions import Case
from conformance.running.worker import Worker

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parent.parent
WARNING = "Removing initializer 'unused'"


def noisy_model(path: Path) -> Path:
    """An ONNX model ONNX Runtime warns about on stderr: an Identity, and an initializer no node uses."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "noisy", [x], [y],
                              [numpy_helper.from_array(np.ones(3, np.float32), "unused")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


OPEN = """
import sys
import numpy as np
sys.path.insert(0, {root!r})
from backends import _exported
import onnxruntime as ort
session = {opener}({path!r}{extra})
print(session.run(None, {{"x": np.ones((1, 2), np.float32)}})[0].tolist())
"""


def _stderr_of(opener: str, path: Path, extra: str = "") -> tuple[str, str]:
    code = OPEN.format(root=str(ROOT), opener=opener, path=str(path), extra=extra)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def test_the_exported_columns_sessions_log_errors_only(tmp_path):
    path = noisy_model(tmp_path / "noisy.onnx")
    out, err = _stderr_of("ort.InferenceSession", path, ", providers=['CPUExecutionProvider']")
    assert WARNING in err  # the runtime's default: a warning on stderr
    out, err = _stderr_of("_exported.ort_session", path)
    assert out.strip() == "[[1.0, 1.0]]" and WARNING not in err and "onnxruntime" not in err


class NoisyRuntime(Reference):
    """The reference, opening a session at ONNX Runtime's default level (which warns on stderr) and
    writing to stderr like a converter, before every forward."""

    framework = "noisy runtime"

    def forward(self, built, x):
        import os

        import onnxruntime as ort

        session = ort.InferenceSession(os.environ["NOISY_MODEL"], providers=["CPUExecutionProvider"])
        session.run(None, {"x": np.ones((1, 2), np.float32)})
        print("a converter's progress on stderr", file=sys.stderr)
        os.write(2, b"a converter's native log on fd 2\n")
        return super().forward(built, x)


def test_what_a_runtime_prints_reaches_the_log_never_the_channel_or_the_record(tmp_path):
    path = noisy_model(tmp_path / "noisy.onnx")
    worker = Worker("noisy", {"NOISY_MODEL": str(path)}, 120.0, 120.0, locator="tests.test_runtime_noise:NoisyRuntime")
    model = Model((Layer("embedding", {"input_dim": 5, "output_dim": 2}),))
    case = Case("noise.test", "forward", model, {"inputs": [np.array([[0, 4]], np.int32)]},
                [[np.arange(10, dtype=np.float32).reshape(5, 2)]])
    try:
        reply = worker.run(case)
        batch = worker.run_many([case, case])
        log = worker.tail()
    finally:
        worker.close()
    for answer in (reply, *batch):
        assert isinstance(answer, Observed), answer
        np.testing.assert_array_equal(answer.observation["outputs"][0], [[[0, 1], [8, 9]]])
        text = repr(answer.observation)
        assert WARNING not in text and "converter" not in text
    assert WARNING in log and "a converter's native log on fd 2" in log  # it went to the log
