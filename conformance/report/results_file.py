"""The results JSON of one run: where it goes, what it holds, and whether the run was complete.

* The path is checked before anything runs (:func:`prepare`): a directory, an empty name or a
  place nobody can write is a usage error naming ``--json``, so no run is lost at the end. The
  file a previous run left there is removed at once: whatever happens next, nothing downstream
  can read the old run as the new one.
* :class:`Tally` counts what was collected and what ended in a record, and why a run stopped
  early (Ctrl-C, a collection error, ``-x``, an internal error). ``complete`` is true only when
  every collected item ran to a record and nothing interrupted the run.
* :func:`write_atomic` writes a temporary file next to the target and renames it over the
  target, so a reader sees the old file or the new one, never half of one. Only the process
  that owns the run writes (the xdist controller, never its workers).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def prepare(raw: str | None) -> Path | None:
    """The absolute path ``--json`` names, checked writable, with any previous file removed.

    Raises pytest.UsageError naming --json when the path cannot take the results."""
    if raw is None:
        return None
    if not raw.strip():
        raise pytest.UsageError("--json: empty path; name the results file, e.g. --json results.json")
    path = Path(raw).expanduser().absolute()
    if path.is_dir():
        raise pytest.UsageError(f"--json {raw}: is a directory; name a file inside it, "
                                f"e.g. --json {Path(raw) / 'results.json'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise pytest.UsageError(f"--json {raw}: cannot write in {path.parent}: "
                                f"{exc.strerror or exc}") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise pytest.UsageError(f"--json {raw}: the existing file is not writable")
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise pytest.UsageError(f"--json {raw}: cannot replace the previous results: "
                                f"{exc.strerror or exc}") from None
    return path


def write_atomic(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=1, default=str) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Tally:
    """What one run collected, what ended in a record, and what stopped it."""

    collected: dict = field(default_factory=dict)    # nodeid -> True, in collection order
    recorded: dict = field(default_factory=dict)     # nodeid -> its record
    backends: dict = field(default_factory=dict)     # backend name -> info from a record
    collection_errors: list = field(default_factory=list)
    reasons: list = field(default_factory=list)      # why the run stopped early

    def add_collected(self, nodeids) -> None:
        for nodeid in nodeids:
            self.collected[nodeid] = True

    def add_record(self, nodeid: str, record: dict) -> None:
        self.backends[record["backend"]] = record.pop("backend_info", None)
        self.recorded[nodeid] = record

    def add_collection_error(self, nodeid: str, text: str) -> None:
        first = next((line for line in reversed(str(text).splitlines()) if line.strip()), "")
        self.collection_errors.append(f"{nodeid or '(session)'}: {first.strip()[:300]}")

    def stopped(self, reason: str) -> None:
        if reason and reason not in self.reasons:
            self.reasons.append(reason)

    @property
    def missing(self) -> list[str]:
        return [nodeid for nodeid in self.collected if nodeid not in self.recorded]

    def interrupted(self) -> str | None:
        reasons = list(self.reasons)
        if self.collection_errors:
            reasons.insert(0, f"{len(self.collection_errors)} error(s) during collection: "
                              + "; ".join(self.collection_errors))
        return "; ".join(reasons) or None

    def completeness(self) -> dict:
        """The fields of the results JSON that say whether it holds the whole run."""
        missing = self.missing
        interrupted = self.interrupted()
        return {"complete": not missing and interrupted is None, "collected": len(self.collected),
                "recorded": len(self.recorded), "interrupted": interrupted, "missing": missing}


def stop_reason(exitstatus, session, keyboard_interrupt: BaseException | None) -> str | None:
    """Why pytest stopped before running everything, in words (None: it did not)."""
    if keyboard_interrupt is not None:
        if type(keyboard_interrupt) is KeyboardInterrupt:
            return "interrupted by the user (KeyboardInterrupt, e.g. Ctrl-C)"
        name = type(keyboard_interrupt).__name__
        text = getattr(keyboard_interrupt, "msg", None) or str(keyboard_interrupt)
        return f"{name}: {text}" if text else name
    for attr in ("shouldfail", "shouldstop"):
        value = getattr(session, attr, False)
        if value:
            return f"stopped early: {value}"
    if int(exitstatus) == int(pytest.ExitCode.INTERNAL_ERROR):
        return "pytest internal error (see INTERNALERROR above)"
    if int(exitstatus) == int(pytest.ExitCode.INTERRUPTED):
        return "interrupted"
    return None
