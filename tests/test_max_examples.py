"""``--max-examples N``: drawn examples per clause and backend in place of the Hypothesis profile's
(the array-api-tests knob). The run says so wherever it says how it drew: the results header,
every drawn record, the summary's replay line and the report's; its examples are kept apart from
the profile's own in the compile cache, so neither run reads the other's."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.running.properties import PROFILES, RunConfig

ROOT = Path(__file__).resolve().parent.parent
# drawn clauses of both kinds of sizes, a few seconds on the reference
SELECT = "lookup.rows-are-matrix-rows or mask.rnn-repeats-hidden-state"


def _run(tmp_path, name, *args):
    out = tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-q",
                           "--backend", "reference", "-k", SELECT, "--json", str(out),
                           "--compile-cache", str(tmp_path / "cache"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc, json.loads(out.read_text())


def test_fewer_examples_are_drawn_said_and_kept_apart_from_the_profiles(tmp_path):
    _, full = _run(tmp_path, "full")   # the ci profile's, kept in the cache first
    proc, few = _run(tmp_path, "few", "--max-examples", "2")
    assert full["hypothesis"] == {"profile": "ci", "seed": 0}
    assert few["hypothesis"] == {"profile": "ci", "seed": 0, "max_examples": 2}
    by_clause = {r["clause"]: r for r in full["results"]}
    drawn = [r for r in few["results"] if r["examples"] is not None]
    assert {r["clause"] for r in drawn} == set(SELECT.split(" or "))
    for r in drawn:
        # one Hypothesis run per set of sizes, each with its share rounded up: at most one per set
        assert 1 <= r["examples"] < by_clause[r["clause"]]["examples"], r["clause"]
        assert r["examples"] <= 2 * 3 and r["max_examples"] == 2
    assert all("max_examples" not in r for r in full["results"])
    assert "--hypothesis-seed 0 --hypothesis-profile ci --max-examples 2" in proc.stdout
    # and the profile's own run again reads its own examples back, not the two
    _, again = _run(tmp_path, "again")
    assert [r["examples"] for r in again["results"]] == [r["examples"] for r in full["results"]]


def test_the_report_replays_with_the_same_number(tmp_path):
    from conformance.report import matrix

    records = [{"backend": "reference", "clause": "c", "examples": 3, "profile": "ci", "seed": 0, "max_examples": 2},
               {"backend": "reference", "clause": "d", "examples": 20, "profile": "ci", "seed": 0}]
    runs = matrix.drawing(records)
    assert [(r["max_examples"], r["examples"]) for r in runs] == [(2, 3), (None, 20)]


@pytest.mark.parametrize("given, message", [
    ("0", "'0': at least 1 drawn example per clause and backend"),
    ("two", "'two' is not a whole number"),
])
def test_a_bad_number_is_a_usage_error_naming_the_option(given, message):
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider",
                           "--backend", "reference", "--max-examples", given],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4 and "argument --max-examples" in proc.stderr and message in proc.stderr


def test_the_run_config_draws_the_number_given_and_replays_it():
    run = RunConfig.make("ci", None, 5)
    assert (run.examples, run.draws) == (5, "ci-x5")
    assert run.replay == "--hypothesis-seed 0 --hypothesis-profile ci --max-examples 5"
    plain = RunConfig.make("ci", None)
    assert (plain.examples, plain.draws) == (PROFILES["ci"].examples, "ci")
    assert plain.replay == "--hypothesis-seed 0 --hypothesis-profile ci"
    with pytest.raises(ValueError, match="--max-examples 0"):
        RunConfig.make("ci", None, 0)
