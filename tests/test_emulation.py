"""Honest adapters: where an adapter computes by hand what a clause tests, the result is
``emulated``, reported and scored apart from what the framework itself does."""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from backends.base import Layer, Model
from backends.keras3 import KerasJax
from backends.pytorch import EMULATIONS, Torch
from backends.tf_keras import TfKeras
from conformance.judging.outcome import _overlaps, emulated_fields
from conformance.language.spec import load_all

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "conformance" / "report" / "results.schema.json").read_text())

EMB = Layer("embedding", {"input_dim": 5, "output_dim": 2})
MASKED = Layer("embedding", {"input_dim": 5, "output_dim": 2, "mask_zero": True})
L2 = Layer("embedding", {"input_dim": 5, "output_dim": 2, "embeddings_regularizer": {"l2": 0.01}})
ONES = Layer("embedding", {"input_dim": 5, "output_dim": 2, "embeddings_initializer": "ones"})
RNN_SEQ = Layer("simple_rnn", {"units": 1, "return_sequences": True})
LSTM = Layer("lstm", {"units": 2})
DENSE = Layer("dense", {"units": 1})
FLAT = Layer("flatten")

# (action, layers) -> the fields torch computes by hand, with the idioms
TORCH_CASES = [
    ("loss", (MASKED, RNN_SEQ), {"losses": ["packing", "masked_mean"], "regularization": ["no_reg_term"]}),
    ("loss", (MASKED, DENSE), {"losses": ["masked_mean"], "regularization": ["no_reg_term"]}),
    ("train_step", (MASKED, RNN_SEQ), {"loss": ["packing", "masked_mean"], "after": ["packing", "masked_mean"]}),
    ("forward", (MASKED, LSTM), {"outputs": ["packing"], "sequences": ["packing"]}),
    ("train_step", (L2, FLAT, DENSE), {"after": ["weight_decay"]}),
    ("weights", (EMB, FLAT, DENSE), {f"{f}[2]": ["layout"] for f in ("weights", "shapes", "counts")}),
    ("weights", (EMB, LSTM), {f"{f}[1]": ["layout"] for f in ("weights", "shapes", "counts")}),
    ("fresh_weights", (ONES,), {"matrices": ["initializer"]}),
    ("fresh_weights", (Layer("embedding", {"input_dim": 5, "output_dim": 2, "embeddings_initializer":
                                           {"random_uniform": {"minval": -1.0, "maxval": 1.0}}}),),
     {"matrices": ["initializer_uniform"]}),
    # what PyTorch computes itself: nothing declared
    ("forward", (EMB, FLAT, DENSE), {}),
    ("forward", (MASKED,), {}),
    ("loss", (EMB, DENSE), {"regularization": ["no_reg_term"]}),  # the losses are PyTorch's
    ("summary", (EMB, FLAT, DENSE), {}),
    ("weights", (EMB,), {}),
    ("fresh_weights", (EMB,), {}),
    ("pretrained", (EMB,), {}),
    ("train_step", (EMB, FLAT, DENSE), {}),
]


@pytest.mark.parametrize("action, layers, expected", TORCH_CASES)
def test_torch_declares_what_it_computes_by_hand(action, layers, expected):
    declared = Torch().emulation(action, Model(layers, (3,)), {})
    assert set(declared) == set(expected)
    calls = {"initializer": "nn.init.ones_(layer.weight)",
             "initializer_uniform": "nn.init.uniform_(layer.weight, -1.0, 1.0)"}
    for field, kinds in expected.items():
        assert declared[field] == " + ".join(
            EMULATIONS[k.split("_uniform")[0]].format(call=calls.get(k)) for k in kinds)


@pytest.mark.parametrize("adapter", [KerasJax, TfKeras])
@pytest.mark.parametrize("action, layers, _", TORCH_CASES)
def test_keras_adapters_declare_no_emulation(adapter, action, layers, _):
    assert adapter().emulation(action, Model(layers, (3,)), {}) == {}


@pytest.mark.parametrize("a, b, overlap", [
    ("outputs", "outputs[0]", True), ("outputs[0]", "outputs", True), ("outputs[0]", "outputs[0]", True),
    ("shapes[2]", "shapes[0]", False), ("shapes[2]", "shapes", True), ("after", "after[0][0]", True),
    ("loss", "losses[0]", False), ("after", "before[0][0]", False)])
def test_overlapping_field_paths(a, b, overlap):
    assert _overlaps(a, b) is overlap


def test_only_fields_the_clause_reads_make_it_emulated():
    clauses = {c.id: c for c in load_all()}
    declared = {f"{f}[2]": "layout" for f in ("weights", "shapes", "counts")}
    assert emulated_fields(clauses["dense.weight-shapes-after-flatten"], declared) == {"shapes[2]": "layout"}
    # it reads counts (every layer's), shapes[0] and weights[0][0]: the embedding's are torch's own
    assert emulated_fields(clauses["weights.one-matrix-no-bias"], declared) == {"counts[2]": "layout"}
    assert emulated_fields(clauses["weights.one-matrix-no-bias"], {"shapes[2]": "x", "weights[2]": "x"}) is None
    # train.sgd reads 'after' and 'before'; the L2 translation only touches 'after'
    sgd = clauses["reg.l2-sgd-shrinks-matrix"]
    assert emulated_fields(sgd, {"after": "wd", "loss": "x"}) == {"after": "wd"}
    assert emulated_fields(sgd, None) is None and emulated_fields(sgd, "not a dict") is None


def run(tmp_path, *args):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider",
                           "--json", str(out), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc, json.loads(out.read_text())


def test_an_emulated_conformance_passes_apart_and_an_emulated_divergence_still_fails(tmp_path):
    good, bad = "tests.fake_backends:EmulatedLookup", "tests.fake_backends:EmulatedOffByOne"
    proc, data = run(tmp_path, "--backend", good, "--backend", bad, "-k", "rows-are-matrix or flatten-dense-shapes")
    jsonschema.validate(data, SCHEMA)
    by = {(r["backend"], r["clause"]): r for r in data["results"]}
    emulated = by[(good, "lookup.rows-are-matrix-rows")]
    assert emulated["status"] == "emulated" and emulated["emulation"] == {"outputs": "looked up by hand, matrix[x]"}
    assert by[(good, "model.flatten-dense-shapes")]["status"] == "conform"   # a summary: nothing emulated
    diverged = by[(bad, "lookup.rows-are-matrix-rows")]
    assert diverged["status"] == "diverge" and diverged["emulation"] == emulated["emulation"]
    assert proc.returncode == 1 and "1 failed, 3 passed" in proc.stdout
    assert "1 emulated (the adapter computed it)" in proc.stdout
    assert "the framework plus the adapter's idiom still diverges" in proc.stdout


def test_torch_conforms_only_where_torch_computed_the_value(tmp_path):
    pytest.importorskip("torch")
    emulated = ["init.initializer-argument-honoured", "reg.l2-sgd-shrinks-matrix", "dense.weight-shapes-after-flatten",
                "mask.trailing-padding-final-state", "mask.loss-is-mean-over-unmasked-steps"]
    own = ["lookup.rows-are-matrix-rows", "model.flatten-dense-parameters", "weights.one-matrix-no-bias"]
    proc, data = run(tmp_path, "--backend", "torch", "-k", " or ".join(emulated + own + ["mask.rnn-repeats"]))
    assert proc.returncode == 0, proc.stdout[-3000:]
    status = {r["clause"]: r for r in data["results"]}
    assert {c for c, r in status.items() if r["status"] == "emulated"} == set(emulated)
    assert all(status[c]["status"] == "conform" and status[c]["emulation"] is None for c in own)
    assert "weight_decay=2*f" in status["reg.l2-sgd-shrinks-matrix"]["emulation"]["after"]
    assert "transposed" in status["dense.weight-shapes-after-flatten"]["emulation"]["shapes[2]"]
    assert "(x != 0).sum(1)" in status["mask.trailing-padding-final-state"]["emulation"]["outputs"]
    assert "m.sum()" in status["mask.loss-is-mean-over-unmasked-steps"]["emulation"]["losses"]
    # a registered divergence computed through the idiom stays a known divergence
    known = status["mask.rnn-repeats-hidden-state"]
    assert (known["status"], known["known"]) == ("diverge", True)
    assert "pack_padded_sequence" in known["emulation"]["outputs"]
