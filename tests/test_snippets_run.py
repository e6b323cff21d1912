"""Every reproduction snippet the report shows runs on the pinned frameworks and shows what its
record says (issue 16, item 11).

For each backend, tests/snippet_runs.py runs in a subprocess with the backend's worker
environment: it runs each clause's document case as the worker does (the record's observation)
and the adapter's snippet for it, then every registry snippet of the backend's pinned release.
Checked here:

* a snippet raises exactly when its record says the framework raised, the same exception type
  (a registry snippet: the type its entry pins with ``raises``, or nothing);
* where a snippet prints values the record holds: the output of the document's own calls
  (``m.predict`` with the document's matrix: the last values printed are the record's output),
  and the parameter counts of ``summary`` (each count the record holds is printed).

The adapters' forward snippets build the model with the framework's own initial weights, not the
reference's seeded ones, so the values they print are not compared.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends import builtin

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = [name for name in builtin() if name != "reference"]
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(m) for m in NUMBER.findall(text)]


def _results(name: str, tmp_path: Path) -> list[dict]:
    cls = builtin()[name]
    missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
    if missing:  # the framework is imported only in the subprocess, under the backend's environment
        pytest.skip(f"{name}: {', '.join(missing)} not installed")
    env = {**os.environ, **cls.env_defaults, **cls.env, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "snippets.json"
    proc = subprocess.run([sys.executable, "-m", "tests.snippet_runs", name, str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def _printed_values_wrong(result: dict) -> str | None:
    observed, printed = result["observed"], result["printed"]
    if "raised" in observed or result["raised"]:
        return None
    if result.get("action") == "document" and "output" in observed:
        want = np.asarray(observed["output"], dtype=float).ravel()
        got = np.asarray(_numbers(printed)[-want.size:] if want.size else [], dtype=float)
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6):
            return f"prints {got.tolist()}, the record's output is {want.tolist()}"
    if result.get("action") == "summary" and "params" in observed:
        shown = set(_numbers(printed.replace(",", "")))
        missing = [p for p in observed["params"] if isinstance(p, int) and float(p) not in shown]
        if missing:
            return f"does not print the parameter counts {missing} of the record"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("name", FRAMEWORKS)
def test_every_snippet_runs_and_shows_its_record(name, tmp_path):
    results = _results(name, tmp_path)
    assert any(r["source"] == "adapter" for r in results), f"{name}: no adapter snippet was run"
    problems = []
    for r in results:
        want = r["observed"].get("raised")
        where = f"{r['source']} snippet of {r['clause']}"
        if r["raised"] != want:
            problems.append(f"{where}: raises {r['raised']}, its record says {want or 'nothing'}"
                            f"\n{r['snippet']}\n--- printed:\n{r['printed'][-800:]}")
            continue
        wrong = _printed_values_wrong(r)
        if wrong:
            problems.append(f"{where}: {wrong}\n{r['snippet']}")
    assert not problems, f"{name}: {len(problems)} snippet(s) do not show their record:\n\n" + "\n\n".join(problems)


def test_printed_values_are_compared():
    """The comparison above can fail: a wrong printed output and a missing count are caught."""
    doc = {"action": "document", "raised": None, "observed": {"output": [[[0.01, 0.025]]]}}
    assert _printed_values_wrong({**doc, "printed": "1/1 [===] 0s 3ms/step\n[[[0.01  0.025]]]\n"}) is None
    assert _printed_values_wrong({**doc, "printed": "[[[0.035 0.012]]]\n"})
    summary = {"action": "summary", "raised": None, "observed": {"params": [10, 0, 7]}}
    assert _printed_values_wrong({**summary, "printed": "embedding 10\nflatten 0\ndense 7\n"}) is None
    assert _printed_values_wrong({**summary, "printed": "embedding 10\nflatten 0\ndense 6\n"})


def test_an_action_without_a_mapping_has_no_snippet_and_the_others_keep_theirs():
    # export_defaults is the exported columns' action: the framework adapters render no snippet
    # for it, and still render one for every action they map (fresh_weights, construct, ...)
    from backends.pytorch import Torch
    from conformance.language.spec import load_all
    from conformance.running.session import make_case

    torch = Torch()
    for clause in load_all():
        case = make_case(clause)
        snippet = torch.snippet(case.model, case.action, case.args)
        if case.action in ("export_defaults", "document", "mask"):
            assert snippet is None, clause.id
        else:
            assert snippet and "snippet unavailable" not in snippet, clause.id
