"""Conformance runs that several test files only read, made once per ``pytest tests`` session.

Under xdist each test file may land on another xdist worker (another process), so a module fixture
or an ``functools.cache`` would run the same ``pytest conformance ...`` once per worker. Here the
first worker to ask runs it, under a file lock in the session's temporary folder that every xdist
worker shares (the parent of each worker's own ``popen-gwN`` folder), and writes its exit status,
output and results file there; the others wait for the lock and read them. A run is keyed by its
exact arguments, so two tests share a run only when they would have started the same command.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Run:
    """What a ``subprocess.run`` of the command gave: the fields the tests read."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    json_path: Path


def session_folder(tmp_path_factory) -> Path:
    """The folder every xdist worker of this session shares (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


def conformance_run(tmp_path_factory, *args: str, timeout: float = 600) -> tuple[Run, dict | None]:
    """``pytest conformance -p no:cacheprovider --json FILE *args`` run once per session: the
    completed process and the results file's data (None when the run wrote none)."""
    key = hashlib.sha256(json.dumps(args).encode()).hexdigest()[:16]
    folder = session_folder(tmp_path_factory) / "shared-runs"
    folder.mkdir(exist_ok=True)
    out, done = folder / f"{key}.json", folder / f"{key}.run.json"
    with FileLock(str(folder / f"{key}.lock")):
        if not done.exists():
            command = [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider",
                       "--json", str(out), *args]
            proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
            done.write_text(json.dumps({"args": command, "returncode": proc.returncode,
                                        "stdout": proc.stdout, "stderr": proc.stderr}))
    kept = json.loads(done.read_text())
    run = Run(kept["args"], kept["returncode"], kept["stdout"], kept["stderr"], out)
    return run, (json.loads(out.read_text()) if out.exists() else None)
