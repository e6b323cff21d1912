"""Drawn examples against one model per clause (conformance/language/drawing.py ``one_model`` and
``input_strategies``, conformance/running/properties.py): what a backend whose declaration says
``drawn_inputs_only`` (an exported column) gets instead of new model sizes at every example."""
from pathlib import Path
from types import SimpleNamespace

import pytest

from backends.base import Backend, Declaration
from backends.reference import Reference
from backends.torch_onnx import TorchOnnx
from conformance.language import drawing
from conformance.language.spec import load_all
from conformance.running import properties
from conformance.running.properties import INPUTS, MODELS, RunConfig, draw_examples

ROOT = Path(__file__).resolve().parent.parent
CLAUSES = {c.id: c for c in load_all(ROOT / "specs")}
RECURRENT = "rnn.simple-rnn-matches-reference"


def _lengths(examples):
    return [int(ex.args["inputs"][0].shape[1]) for ex in examples]


@pytest.mark.parametrize("clause_id", [RECURRENT, "lookup.rows-are-matrix-rows",
                                       "mask.final-state-ignores-masked-steps",
                                       "flatten.concatenates-in-input-order", "dense.contracts-last-axis"])
def test_every_example_keeps_one_model_its_weights_and_its_index_dtype(clause_id):
    clause = CLAUSES[clause_id]
    examples = draw_examples(clause, RunConfig.make("ci", 0), INPUTS)
    model_names = drawing.model_params(clause)
    assert len(examples) >= 10
    assert len({tuple(ex.params[n] for n in model_names) for ex in examples}) == 1
    assert len({ex.seed for ex in examples}) == 1
    dtypes = {str(a.dtype) for ex in examples for a in ex.args["inputs"]}
    assert len(dtypes) == 1
    # the model's sizes are those of one of the ci sets, never the smallest one (VOC_SIZE 1)
    sets = drawing.clause_buckets(clause)
    assert any(all(ex.params[n] == s[n] for n in model_names) for s in sets[1:] for ex in examples[:1])


def test_the_length_varies_around_the_first_example_an_export_traces():
    clause = CLAUSES[RECURRENT]
    assert "inputs" not in drawing.model_params(clause)  # no layer is sized by the length
    lengths = _lengths(draw_examples(clause, RunConfig.make("ci", 0), INPUTS))
    first = max(lengths[0], 2)  # an exporter traces with every dynamic axis at least 2 (_exported.example_shape)
    assert lengths[0] == 3 and min(lengths) < first < max(lengths)
    assert sorted(set(lengths)) == [1, 3, 8, 16]  # every ci set's length meets the one model


def test_an_empty_batch_comes_after_a_batch():
    examples = draw_examples(CLAUSES["lookup.rows-are-matrix-rows"], RunConfig.make("ci", 0), INPUTS)
    batches = [int(ex.args["inputs"][0].shape[0]) for ex in examples]
    assert batches[0] > 0 and 0 in batches


def test_a_length_that_sizes_a_layer_belongs_to_the_model():
    clause = CLAUSES["flatten.concatenates-in-input-order"]  # input: [inputs], then Flatten
    assert "inputs" in drawing.model_params(clause)
    assert len(set(_lengths(draw_examples(clause, RunConfig.make("ci", 0), INPUTS)))) == 1


def test_the_model_is_the_runs_seeds_and_replays():
    clause = CLAUSES[RECURRENT]
    keys = lambda seed, kind=INPUTS: [ex.key() for ex in draw_examples(clause, RunConfig.make("ci", seed), kind)]  # noqa: E731
    assert keys(0) == keys(0)
    assert keys(0) != keys(1)
    assert keys(0) != keys(0, MODELS)  # the other backends keep drawing new models
    models = {drawing.one_model(c, True, 0) == drawing.one_model(c, True, 1) for c in CLAUSES.values()
              if drawing.is_drawable(c) and drawing.model_params(c)}
    assert False in models  # another seed, another model for some clause


def test_thorough_draws_the_model_from_the_whole_domains_once():
    clause = CLAUSES[RECURRENT]
    examples = draw_examples(clause, RunConfig.make("thorough", 5), INPUTS)
    assert len({(ex.params["voc_size"], ex.params["vec_dim"], ex.params["units"], ex.seed) for ex in examples}) == 1
    assert len(set(_lengths(examples))) > 4


def test_the_declaration_chooses_the_kind_of_draws():
    class Plain(Backend):
        declaration = Declaration(name="plain", framework="x", display="x")

    session = SimpleNamespace(backends={"plain": Plain, "reference": Reference, "torch-onnx": TorchOnnx})
    assert properties.draws_of(session, "plain") == MODELS
    assert properties.draws_of(session, "reference") == MODELS
    assert properties.draws_of(session, "torch-onnx") == INPUTS
    assert TorchOnnx.drawn_inputs_only and not Plain.drawn_inputs_only


# -- end to end: a fault only a model fed several lengths shows ----------------------------------------
class FreezesLengthAtFirstCall(Reference):
    """The reference, with the fault of an export traced once: a built model remembers the length
    of its first input and cuts every longer one short to it (as torch.onnx does to nn.RNN)."""

    framework = "frozen length"
    drawn_inputs_only = True

    def forward(self, built, x):
        out = super().forward(built, x)
        frozen = built.__dict__.setdefault("frozen_length", x.shape[1] if x.ndim > 1 else None)
        return out[:, :frozen] if frozen is not None and out.ndim > 2 else out


class FreezesLengthDrawingModels(FreezesLengthAtFirstCall):
    """The same fault, drawn like the framework columns: every set of sizes a new model."""

    drawn_inputs_only = False


def _run(tmp_path, adapter, *more):
    import json
    import subprocess
    import sys

    out = tmp_path / f"{adapter}{len(more)}.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--json", str(out),
                           "--backend", f"tests.test_inputs_only_draws:{adapter}", "-k", RECURRENT, *more],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    records = [r for r in json.loads(out.read_text())["results"] if r["backend"] != "reference"]
    (record,) = records
    return record


def test_only_inputs_drawn_against_one_model_show_a_frozen_length(tmp_path):
    caught = _run(tmp_path, "FreezesLengthAtFirstCall")
    assert caught["status"] == "diverge" and not caught["known"]
    assert caught["example"]["params"]["inputs"] > 1 and caught["example"]["shrunk"]
    missed = _run(tmp_path, "FreezesLengthDrawingModels")  # each model meets one length only
    assert missed["status"] == "conform" and missed["drawn"]["other"] == 0


def test_under_xdist_each_kind_of_draws_is_its_own_entry(tmp_path):
    from conformance.running import shared_draws

    made = []
    make = lambda value: lambda: made.append(value) or value  # noqa: E731
    assert shared_draws.get_or_make(str(tmp_path), "c", "ci", 0, make("models")) == "models"
    assert shared_draws.get_or_make(str(tmp_path), "c", "ci", 0, make("inputs"), kind=INPUTS) == "inputs"
    assert shared_draws.get_or_make(str(tmp_path), "c", "ci", 0, make("again"), kind=INPUTS) == "inputs"
    assert made == ["models", "inputs"]


def test_under_xdist_the_same_examples_beside_a_backend_drawing_models(tmp_path):
    serial = _run(tmp_path, "FreezesLengthAtFirstCall")
    parallel = _run(tmp_path, "FreezesLengthAtFirstCall", "--backend", "reference", "-n", "2")
    assert parallel["example"] == serial["example"] and parallel["drawn"] == serial["drawn"]
