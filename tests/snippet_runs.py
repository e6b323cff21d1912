"""Runs every reproduction snippet a report shows for one backend, and what the run records.

``python -m tests.snippet_runs BACKEND OUT.json`` (tests/test_snippets_run.py starts it in a
subprocess with the backend's worker environment). Two kinds of snippet:

* the adapter's own (``Backend.snippet``), shown with each record of the clause's document case:
  the case runs as the worker runs it (``run_case``, the record's observation), then the
  snippet runs from a file of its own with its standard output captured;
* the registry's (``specs/divergences/*.yaml``) for this backend's pinned release: the
  snippet runs; the entry's ``raises`` pin, if any, is what it must raise (a check's own
  ``raises``, e.g. first_steps's, too: the exception the snippet shows last).

Each snippet runs in a fresh namespace (``runpy.run_path``), as a user pasting it would, in this
one process per backend (a framework's import costs seconds; a process per snippet would take
minutes). The result per snippet: what it printed, what it raised, and the observation's
values the test compares the printed text with.
"""
from __future__ import annotations

import contextlib
import io
import json
import runpy
import sys
import tempfile
from pathlib import Path

import numpy as np


def run_snippet(code: str, folder: Path, n: int) -> dict:
    path = folder / f"snippet_{n}.py"
    path.write_text(code)
    out = io.StringIO()
    raised = None
    # in the scratch folder, so the files a snippet writes (an exported model) go there
    with contextlib.redirect_stdout(out), contextlib.chdir(folder):
        try:
            runpy.run_path(str(path), run_name="__main__")
        except Exception as exc:  # noqa: BLE001 - what the snippet raised is the result
            raised = type(exc).__name__
    return {"printed": out.getvalue(), "raised": raised}


def _plain(obs: dict) -> dict:
    """The observation's fields the test compares printed text with, as JSON values."""
    keep = {}
    for key in ("raised", "output", "outputs", "params", "config", "accepted"):
        if key in obs:
            value = obs[key]
            if key == "outputs":
                value = [np.asarray(v).tolist() for v in value]
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            keep[key] = value
    return keep


def adapter_snippets(backend, folder: Path) -> list[dict]:
    from backends.base import Unsupported
    from conformance.language.spec import load_all
    from conformance.running.actions import run_case
    from conformance.running.session import make_case

    results = []
    for clause in load_all():
        case = make_case(clause)
        snippet = backend.snippet(case.model, case.action, case.args)
        if not snippet:
            continue
        try:
            obs = run_case(backend, case)
        except Unsupported:
            continue  # the report shows the snippet, but the adapter has no mapping to check it by
        result = run_snippet(snippet, folder, len(results))
        results.append({"source": "adapter", "clause": clause.id, "action": case.action,
                        "name": case.args.get("name"), "snippet": snippet, "observed": _plain(obs),
                        **result})
    return results


def registry_snippets(backend, folder: Path, start: int) -> list[dict]:
    from conformance.language.registry import load

    version = backend.version()
    results = []
    for (name, clause, *_), entry in sorted(load().items(), key=lambda kv: str(kv[0])):
        if name != backend.name or not entry.snippet or not entry.applies_to(version):
            continue
        # a raises check's type, or the type a check allows in place of its value (first_steps:
        # the exception a shorter input raises), which the snippet may end on
        raises = [c["to"] if c.get("check") == "raises" else c["raises"] for c in entry.observed
                  if c.get("check") == "raises" or c.get("raises")]
        raises = [r for names in raises for r in ([names] if isinstance(names, str) else names)]
        result = run_snippet(entry.snippet, folder, start + len(results))
        results.append({"source": "registry", "clause": clause, "snippet": entry.snippet,
                        "observed": {"raised": raises[0]} if raises else {}, **result})
    return results


def main(argv: list[str]) -> int:
    from backends import builtin
    from conformance.running.worker import settle

    name, out = argv
    backend = builtin()[name]()
    settle(backend)  # as its worker starts it
    with tempfile.TemporaryDirectory() as tmp:
        results = adapter_snippets(backend, Path(tmp))
        results += registry_snippets(backend, Path(tmp), len(results))
    Path(out).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
