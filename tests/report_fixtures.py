"""Hand-written results documents for the report/diff tests (no framework needed)."""
from __future__ import annotations

import copy
import json

SCHEMA = "embedding-conformance/1"
FRAMEWORKS = ("keras-tensorflow", "keras-jax", "keras-torch", "tf-keras", "torch")


def result(clause, backend, status="conform", *, section="Vector matrix", level="normative",
           known=False, expected=1, observed=1, reason=None, **extra):
    rec = {"clause": clause, "section": section, "level": level, "backend": backend,
           "status": status, "known": known, "expected": expected, "observed": observed,
           "reason": reason}
    rec.update(extra)
    return rec


def backend_info(name, version="1.0"):
    """A built-in backend's info says its declared framework (the errata read it: only the
    document's own frameworks, Keras, make an erratum); another's, the last part of its name."""
    import backends

    declared = backends.builtin().get(name)
    framework = declared.declaration.framework if declared else name.split("-")[-1]
    return {"framework": framework, "version": version, "available": True}


def document(results, backends=None, clauses=None, generated="2025-01-01T00:00:00Z"):
    names = backends if backends is not None else sorted({r["backend"] for r in results})
    doc = {"schema": SCHEMA, "generated": generated, "complete": True, "collected": len(results),
           "recorded": len(results), "interrupted": None,
           "backends": {n: backend_info(n) for n in names}, "results": list(results)}
    if clauses is not None:
        doc["clauses"] = clauses
    return doc


def write(path, doc):
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def scenario():
    """A small but complete run over all six backends.

    * ``lookup.rows``          normative, conforms everywhere
    * ``shape.output``         normative, keras-torch known divergence, torch new divergence
    * ``doc.dense-example``    normative, document code, tf-keras errors, torch unsupported
    * ``mask.zero-reserved``   normative, every framework diverges (torch skips): an erratum
    * ``oob.index``            characterization, backends disagree
    * ``dtype.float-input``    characterization, all backends behave alike
    """
    results = []
    for b in ("reference", *FRAMEWORKS):
        results.append(result("lookup.rows", b, section="Embedding in Keras",
                              claim="Row i of the output is row i of the matrix."))
        st = {"keras-torch": "diverge", "torch": "diverge"}.get(b, "conform")
        bad = st != "conform"
        results.append(result("shape.output", b, st, section="Vector matrix",
                              known=(b == "keras-torch"), observed=[2, 3] if bad else 1,
                              reason="output has an extra axis" if bad else None,
                              link="https://github.com/example/issues/1" if bad else None,
                              snippet="import torch\nprint(torch.nn.Embedding(3, 2)(x).shape)"
                              if bad else None))
        st = {"tf-keras": "error", "torch": "unsupported"}.get(b, "conform")
        results.append(result("doc.dense-example", b, st,
                              section="Interaction with Dense and RNN", document_code=True,
                              reason={"tf-keras": "TypeError: input_length removed",
                                      "torch": "no Sequential Dense"}.get(b)))
        st = "conform" if b == "reference" else ("skip" if b == "torch" else "diverge")
        results.append(result("mask.zero-reserved", b, st, section="Input masking",
                              known=b == "keras-jax",
                              reason=None if st == "conform" else "index 0 is a normal row"))
        beh = {"torch": "raises IndexError", "keras-jax": "clips to last row"}.get(
            b, "raises InvalidArgumentError")
        results.append(result("oob.index", b, "conform" if b == "reference" else "diverge",
                              section="Vector matrix", level="characterization",
                              behaviour=beh, agrees=None if b == "reference" else False))
        results.append(result("dtype.float-input", b, section="Embedding in Keras",
                              level="characterization", behaviour="casts to int",
                              agrees=True if b != "reference" else None))
    clauses = {
        "lookup.rows": {"section": "Embedding in Keras", "level": "normative",
                        "claim": "Row i of the output is row i of the matrix."},
        "shape.output": {"section": "Vector matrix", "level": "normative",
                         "claim": "Output shape is (batch, length, output_dim)."},
        "doc.dense-example": {"section": "Interaction with Dense and RNN", "level": "normative",
                              "claim": "The tutorial's Dense example trains.",
                              "document_code": True},
        "mask.zero-reserved": {"section": "Input masking", "level": "normative",
                               "claim": "With mask_zero, index 0 cannot be used."},
        "oob.index": {"section": "Vector matrix", "level": "characterization",
                      "claim": "An index >= input_dim."},
        "dtype.float-input": {"section": "Embedding in Keras", "level": "characterization",
                              "claim": "Float indices."},
    }
    return document(results, clauses=clauses)


def split_by_backend(doc):
    """One document per backend, as tox would write them (one env, one backend)."""
    out = {}
    for r in doc["results"]:
        part = out.setdefault(r["backend"], {
            "schema": doc["schema"], "generated": doc["generated"], "complete": True,
            "interrupted": None, "backends": {r["backend"]: copy.deepcopy(doc["backends"][r["backend"]])},
            "clauses": copy.deepcopy(doc.get("clauses", {})), "results": []})
        part["results"].append(copy.deepcopy(r))
        part["collected"] = part["recorded"] = len(part["results"])
    return out
