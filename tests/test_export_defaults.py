"""The export_defaults action (issue 19, item 2): what an exporter's defaults make of the document's
model. The reference's answer (what the document implies), the frameworks' columns refusing it, the
check that keeps an adapter's answer to plain values of the documented shape, and the describer
char.exporter-defaults shows."""
import numpy as np
import pytest

from backends import builtin
from backends.base import Backend, Unsupported
from backends.reference import Reference
from conformance.judging import describers
from conformance.language import spec
from conformance.running import actions
from conformance.running.actions import WrongKind, exports_answer
from conformance.running.session import make_case

CLAUSE = "char.exporter-defaults"


@pytest.fixture(scope="module")
def case():
    (clause,) = [c for c in spec.load_all() if c.id == CLAUSE]
    return make_case(clause)


def test_the_reference_takes_integer_indices_of_either_dtype_at_any_batch_and_length(case):
    obs = actions.run_case(Reference(), case)
    (answer,) = obs["exports"].values()
    assert answer["input_dtype"] == "int32 or int64" and answer["input_shape"] == [None, None]
    matrix = np.asarray(case.weights[0][0])
    for x, out in zip(case.args["inputs"], answer["outputs"]):
        if np.issubdtype(x.dtype, np.integer):  # both dtypes, the (2, 3) and the (3, 10) batch: the rows
            np.testing.assert_array_equal(np.asarray(out, np.float32), matrix[x])
        else:  # the layer's contract is integer indices
            assert out["raised"] == "TypeError"
    assert {x.shape for x in case.args["inputs"]} == {(2, 3), (3, 10)}
    assert {str(x.dtype) for x in case.args["inputs"]} == {"int32", "int64", "float32"}


def test_the_frameworks_own_columns_have_nothing_to_export(case):
    with pytest.raises(Unsupported, match="not an exported backend"):
        Backend().export_defaults(None, case.args["x"], case.args["inputs"])
    exported = {"torch-onnx", "keras-tensorflow-onnx", "keras-tensorflow-litert", "reference"}
    frameworks = {name: cls for name, cls in builtin().items() if name not in exported}
    assert len(frameworks) == 5  # Keras 3 on three backends, tf-keras, PyTorch (the sixth, Flax NNX, is Backend's too)
    assert all(cls.export_defaults is Backend.export_defaults for cls in frameworks.values())
    assert all(builtin()[name].export_defaults is not Backend.export_defaults for name in exported)


GOOD = {"e": {"call": "export()", "input_dtype": "float32", "input_shape": [None, 3],
              "outputs": [[[1.0, 2.0]], {"raised": "InvalidArgument", "message": "bad dtype"}]}}


@pytest.mark.parametrize("answer, fragment", [
    ([], "a non-empty dict of exports"),
    ({}, "a non-empty dict of exports"),
    ({"e": {"input_dtype": "float32"}}, "export 'e' must be a dict with a 'call'"),
    ({"e": {**GOOD["e"], "input_dtype": np.dtype("float32")}}, "'input_dtype' must be a str"),
    ({"e": {**GOOD["e"], "input_shape": [True, 3]}}, "'input_shape' must be a list of ints and None"),
    ({"e": {**GOOD["e"], "input_shape": ["?", 3]}}, "'input_shape' must be a list of ints and None"),
    ({"e": {**GOOD["e"], "outputs": GOOD["e"]["outputs"][:1]}}, "'outputs' must be a list of 2 results"),
    ({"e": {**GOOD["e"], "outputs": [np.zeros((1, 2)), [[1.0]]]}}, "output 0 must be a nested list"),
    ({"e": {**GOOD["e"], "outputs": [[[1.0]], {"raised": "X"}]}}, "output 1 must name what was raised"),
    ({"e": {"call": "export()", "raised": 3, "message": "m"}}, "export 'e' must name what was raised"),
])
def test_an_answer_not_of_the_documented_shape_is_an_error_naming_the_export_and_field(answer, fragment):
    with pytest.raises(WrongKind, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        exports_answer(answer, runs=2)


def test_a_documented_answer_is_kept_as_given():
    assert exports_answer(GOOD, runs=2) is GOOD
    failed = {"e": {"call": "export()", "raised": "TorchExportError", "message": "refused"}}
    assert exports_answer(failed, runs=2) is failed


class _Case:
    def __init__(self, matrix, inputs):
        self.weights, self.pretrained, self.args = [[matrix]], None, {"inputs": inputs}


def test_the_describer_says_what_each_artifact_declares_and_whether_its_lookups_are_the_rows():
    matrix = np.arange(10, dtype=np.float32).reshape(5, 2)
    x = np.array([[1, 2, 3], [4, 0, 1]], dtype=np.int64)
    inputs = [x, x.astype(np.int32), x.astype(np.float32), np.array([[7]], dtype=np.int64)]
    garbage = np.full((2, 3, 2), -1.2e26).tolist()
    obs = {"exports": {
        "careful": {"call": "export(signature)", "input_dtype": "int64", "input_shape": [None, None],
                    "outputs": [matrix[x].tolist(), garbage, matrix[x][:, :2].tolist(), [[[0.0, 0.0]]]]},
        "default": {"call": "export()", "input_dtype": "float32", "input_shape": [2, 3],
                    "outputs": [{"raised": "InvalidArgument", "message": "m"}] * 3 + [[[[0.0, 0.0]]]]},
        "refused": {"call": "export(packed)", "raised": "TorchExportError", "message": "m"}}}
    text = describers.describe("exports", obs, _Case(matrix, inputs))
    careful, default, refused = text.split(" // ")
    assert careful == ("export(signature): takes int64 (?, ?); int64 (2, 3): lookups equal the weights, "
                       "int32 (2, 3): lookups equal the weights: false, "
                       "float32 (2, 3): outputs (2, 2, 2), not the rows' (2, 3, 2), "
                       "int64 (1, 1): outputs (1, 1, 2)")  # index 7 is out of range: no row to compare
    assert default == ("export(): takes float32 (2, 3); int64 (2, 3): raises InvalidArgument, int32 (2, 3): "
                       "raises InvalidArgument, float32 (2, 3): raises InvalidArgument, int64 (1, 1): outputs "
                       "(1, 1, 2)")
    assert refused == "export(packed): raises TorchExportError"


def test_garbage_that_changes_from_run_to_run_is_described_the_same_each_time():
    matrix = np.arange(10, dtype=np.float32).reshape(5, 2)
    x = np.array([[1, 2]], dtype=np.int64)
    texts = {describers.describe("exports", {"exports": {"e": {
        "call": "c", "input_dtype": "int64", "input_shape": [None, None],
        "outputs": [np.random.default_rng(seed).normal(size=(1, 2, 2)).tolist()]}}}, _Case(matrix, [x]))
        for seed in range(3)}
    assert texts == {"c: takes int64 (?, ?); int64 (1, 2): lookups equal the weights: false"}
