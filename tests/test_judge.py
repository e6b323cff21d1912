"""The judge is pure (conformance/judging/outcome.py): a verdict is a function of the clause, the
case, the backend's reply, the reference's reply and the registry entry, judged here with
hand-made replies and no session, worker or process. Replies are typed records
(conformance/judging/replies.py) that refuse anything malformed on the way in; one function
classifies every record (conformance/judging/status.py) for the terminal, the sweep and the report."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends.reference import Reference
from conformance.judging.outcome import judge, unavailable
from conformance.judging.replies import Failed, MalformedReply, Observed, Refused, from_wire, to_wire
from conformance.judging.status import Category, Status, classify, classify_record
from conformance.language.registry import Divergence
from conformance.language.spec import load_all
from conformance.running.actions import run_case
from conformance.running.session import make_case

ROOT = Path(__file__).resolve().parent.parent
CLAUSES = {c.id: c for c in load_all()}
LOOKUP = CLAUSES["lookup.rows-are-matrix-rows"]


@pytest.fixture(scope="module")
def lookup():
    """The clause's case and the reference's observation of it, computed in this process."""
    case = make_case(LOOKUP)
    return case, run_case(Reference(), case)


def _shifted(obs):
    """The observation with output 0 off by one: what a faulty framework would return."""
    return {**obs, "outputs": [obs["outputs"][0] + 1, *obs["outputs"][1:]]}


def _entry(**changes):
    fields = {"backend": "x", "clause": LOOKUP.id, "reason": "off by one upstream", "link": "https://example.org/1",
              "snippet": None, "path": Path("x.yaml")}
    return Divergence(**{**fields, **changes})


# -- the judge from hand-made replies ---------------------------------------------------------------------
def test_the_same_observation_as_the_reference_conforms(lookup):
    case, obs = lookup
    outcome = judge(LOOKUP, "x", case, Observed(obs, "print(1)"), Observed(obs))
    assert (outcome.status, outcome.known, outcome.snippet) == (Status.CONFORM, False, "print(1)")
    assert outcome.record()["status"] == "conform"


def test_another_observation_diverges_and_a_registered_one_is_known(lookup):
    case, obs = lookup
    new = judge(LOOKUP, "x", case, Observed(_shifted(obs)), Observed(obs))
    assert new.status == Status.DIVERGE and not new.known and new.mismatches
    known = judge(LOOKUP, "x", case, Observed(_shifted(obs)), Observed(obs), _entry())
    assert known.status == Status.DIVERGE and known.known
    assert (known.reason, known.link) == ("off by one upstream", "https://example.org/1")
    # an entry whose pinned check no longer holds: diverges, but not as registered
    pinned = {"check": "close", "of": "outputs[0]", "to": "reference", "tolerance": "exact"}
    changed = judge(LOOKUP, "x", case, Observed(_shifted(obs)), Observed(obs), _entry(observed=(pinned,)))
    assert changed.changed and not changed.known and changed.reason.startswith("known divergence changed")


def test_a_refusal_and_a_failure_are_unsupported_and_error(lookup):
    case, obs = lookup
    refused = judge(LOOKUP, "x", case, Refused("no such API", "snippet"), Observed(obs))
    assert (refused.status, refused.reason, refused.snippet) == (Status.UNSUPPORTED, "no such API", "snippet")
    failed = judge(LOOKUP, "x", case, Failed("Traceback:\nValueError: boom"), Observed(obs))
    assert failed.status == Status.ERROR and failed.cause["where"] == "backend"
    assert failed.cause["type"] == "ValueError" and failed.reason == "ValueError: boom"
    reference = judge(LOOKUP, "x", case, Observed(obs), Failed("reference broke"))
    assert reference.status == Status.ERROR and reference.cause["where"] == "reference"
    assert reference.reason == "the reference could not run the clause: reference broke"


def test_what_the_judge_cannot_read_is_an_error_with_its_cause(lookup):
    case, obs = lookup
    outcome = judge(LOOKUP, "x", case, Observed({**obs, "warnings": 5}, "print(1)"), Observed(obs))
    assert outcome.status == Status.ERROR and outcome.cause["where"] == "judging"
    assert outcome.cause["type"] == "TypeError" and outcome.snippet == "print(1)"
    odd = judge(LOOKUP, "x", case, ("ok", obs, None), Observed(obs))  # an untyped reply is no reply
    assert odd.status == Status.ERROR and odd.cause["type"] == "AttributeError"


def test_an_unavailable_backend_is_a_skip_or_when_broken_an_error():
    assert unavailable(LOOKUP, "x", "not installed: x").record()["status"] == "skip"
    broken = unavailable(LOOKUP, "x", "ImportError: no", broken=True)
    assert broken.status == Status.ERROR and "worker could not start" in broken.detail


def test_the_judge_runs_nothing_and_never_imports_the_running_layer():
    code = ("import sys, conformance.judging.outcome, conformance.judging.status, conformance.judging.replies; "
            "print(sorted(m for m in sys.modules if m.startswith('conformance.running')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- replies on the wire --------------------------------------------------------------------------------
@pytest.mark.parametrize("reply", [Observed({"outputs": [np.ones(2)]}, "snippet"), Refused("no API"),
                                   Failed("boom", "snippet")])
def test_a_reply_crosses_the_wire_as_a_plain_tuple_and_back(reply):
    plain = to_wire(reply)
    assert type(plain) is tuple and plain[0] in ("ok", "unsupported", "error")
    assert type(from_wire(plain)) is type(reply) and from_wire(plain).snippet == reply.snippet
    keyed = to_wire(type(reply)(*to_wire(reply)[1:], key=("c", "e1")), with_key=True)
    assert from_wire(keyed, due=("c", "e1")).key == ("c", "e1")


@pytest.mark.parametrize("message, due, error", [
    (["ok", {}, None], None, "not a reply"),
    (("ok", {}, None, ("c", None)), None, "not a reply"),
    (("ok", "an observation must be a dict", None), None, "not a reply"),
    (("fine", {}, None), None, "not a reply"),
    (("unsupported", {"a": 1}, None), None, "not a reply"),
    (("ok", {}, 3), None, "not a reply"),
    (Observed({}), None, "not a reply"),              # a typed record is not what the wire carries
    (("ok", {}, None), ("c", None), "not a reply"),   # a batch answer names its case
    (("ok", {}, None, ("c", "other")), ("c", "e1"), "where .*'e1'.* was due"),
    (("ok", {}, None, np.array([1, 2])), ("c", "e1"), "was due"),
])
def test_a_malformed_or_foreign_reply_is_refused(message, due, error):
    with pytest.raises(MalformedReply, match=error):
        from_wire(message, due=due)


# -- one classification -----------------------------------------------------------------------------------
@pytest.mark.parametrize("args, category, label", [
    (("conform",), "conform", "conform"),
    (("emulated",), "emulated", "emulated (the adapter computed it)"),
    (("diverge", True), "diverge-known", "diverge (known)"),
    (("diverge", False), "diverge-new", "DIVERGE (new)"),
    (("diverge", False, "normative", None, True), "diverge-new", "DIVERGE (known divergence changed)"),
    (("conform", False, "characterization", True), "recorded", "characterized"),
    (("diverge", False, "characterization", False), "differs", "characterized (differs from reference)"),
    (("unsupported", False, "characterization"), "unsupported", "unsupported"),
    (("error", True), "error", "error"),
    (("skip",), "skip", "skip"),
])
def test_one_classification_of_status_known_level_and_agreement(args, category, label):
    verdict = classify(*args)
    assert (verdict.category, verdict.label) == (category, label)


def test_an_unknown_status_is_named():
    with pytest.raises(ValueError, match="status 'passed' is none of conform, emulated"):
        classify("passed")


def test_the_terminal_the_sweep_and_the_report_classify_alike():
    from conformance import plugin
    from conformance.report import matrix
    from conformance.tools import sweep

    assert not hasattr(plugin, "_label") and not hasattr(sweep, "_label")
    assert set(matrix.CATEGORIES) == {c.value for c in Category}
    record = {"status": "diverge", "known": False, "level": "normative", "agrees": None,
              "pinned": [{"ok": False}]}
    assert matrix.category(record) == classify_record(record).category == "diverge-new"
    assert matrix.category(None) == "missing"


def test_a_status_is_written_as_its_plain_string():
    assert json.dumps({"status": Status.EMULATED}) == '{"status": "emulated"}'
    assert [str(s) for s in Status] == ["conform", "emulated", "diverge", "unsupported", "error", "skip"]
