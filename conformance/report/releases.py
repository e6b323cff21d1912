"""Several releases of one backend in a report: since which release a state holds, and nightlies.

A merged report may hold a backend at several releases, one column each (load.py). For a clause,
the columns of one backend that ran it, oldest release first, form its *history*; consecutive
releases in the same state (same category, same behaviour for a characterization, same reason
for a divergence or error, same "warns" for the document's code) form one segment. "Since" is
computed from the releases present only: "diverge (known) in every release run (keras 3.0.5,
keras 3.15.1)", or "raises ValueError in keras 3.0.5; warns (UserWarning) from keras 3.15.1 on",
never a claim about releases that were not run.

A nightly (a ``.dev`` release, e.g. keras-nightly 3.16.0.dev2026102704, or a framework on
tf-nightly) is shown in the history, marked, but never decides an erratum while a released
version ran: what a nightly changes relative to the newest release is an early warning, listed
apart with the nightly's version.
"""
from __future__ import annotations

import re

NOT_APPLICABLE = ("skip", "unsupported")
CUT = 60
_NIGHTLY = re.compile(r"\bdev(\d|$|\+)|nightly", re.IGNORECASE)


def is_nightly(version, release) -> bool:
    """A development build: its version (or the release token's part after ``@``, which also names
    the engine underneath, e.g. ``+tensorflow-2.22.0-dev20260905``) is a dev release."""
    texts = [str(version or ""), str(release or "").partition("@")[2]]
    return any(_NIGHTLY.search(t) for t in texts)


def release_label(framework, version, nightly: bool, key: str) -> str:
    """How a "since" text names a release: ``keras 3.0.5``, ``keras 3.16.0.dev2026102704 (nightly)``."""
    text = f"{framework} {version}" if version is not None else key
    return text + (" (nightly)" if nightly else "")


def _ran(cell) -> bool:
    """Installed and recorded (an unsupported API is a state of that release, a skip is not)."""
    return cell["result"] is not None and cell["result"]["status"] != "skip"


def _warns(res) -> bool:
    return bool(res.get("warnings"))


def signature(row, cell) -> tuple:
    """What must stay the same for two releases to be in the same state."""
    res = cell["result"]
    characterization = row["level"] == "characterization"
    reason = res.get("reason") if res["status"] in ("diverge", "error") and not characterization else None
    return (cell["category"], res.get("behaviour") if characterization else None, reason,
            _warns(res) if row["document_code"] else None)


def _raised(observed) -> str | None:
    """"raises ValueError" when a judged observation records an exception, else None."""
    values = observed.values() if isinstance(observed, dict) else [observed]
    for value in values:
        if isinstance(value, str) and value.startswith("raises "):
            return value.split(":", 1)[0]
    return None


def state_text(row, cell) -> str:
    """A release's state in a few words: the behaviour of a characterization, else the cell's
    category, with the exception a divergence raised ("diverge (known): raises ValueError")."""
    res = cell["result"]
    if row["level"] == "characterization" and res.get("behaviour"):
        text = res["behaviour"]
    else:
        text = cell["text"]
        raised = _raised(res.get("observed")) if res["status"] == "diverge" else None
        if raised:
            text += f": {raised}"
    if row["document_code"] and _warns(res) and res["status"] not in ("diverge", "error"):
        text += ", warns"
    return text


def history(row, cols) -> list[dict]:
    """Segments ``{"text", "reason", "columns"}`` of one backend's columns (oldest first) that ran."""
    segments: list[dict] = []
    for col in cols:
        cell = row["cells"][col["key"]]
        if not _ran(cell):
            continue
        sig = signature(row, cell)
        if segments and segments[-1]["signature"] == sig:
            segments[-1]["columns"].append(col)
        else:
            segments.append({"signature": sig, "text": state_text(row, cell),
                             "reason": cell["result"].get("reason"), "columns": [col]})
    return segments


def _cut(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= CUT else text[:CUT - 1] + "\u2026"


def since(row, cols, with_state=False) -> str | None:
    """Since which release the state of one backend's newest release holds, with the states
    before it, over the releases that ran the clause (``cols``: that backend's columns, oldest
    first); None when none ran it. ``with_state``: name the state also when it never changed."""
    segments = history(row, cols)
    if not segments:
        return None
    run = ", ".join(c["release_label"] for s in segments for c in s["columns"])
    if len(segments) == 1:
        every = "in every release run" if len(segments[0]["columns"]) > 1 else "in the one release run"
        return (f"{segments[0]['text']} " if with_state else "") + f"{every} ({run})"
    texts = [s["text"] for s in segments]
    parts = []
    for n, seg in enumerate(segments):
        text = seg["text"]
        if texts.count(text) > 1 and seg["reason"]:  # same words, other reason: say which
            text += f' ("{_cut(seg["reason"])}")'
        first, last = seg["columns"][0]["release_label"], seg["columns"][-1]["release_label"]
        if n == len(segments) - 1:
            span = f"from {first} on"
        else:
            span = f"in {first}" if first == last else f"in {first} to {last}"
        parts.append(f"{text} {span}")
    return "; ".join(parts) + f" (releases run: {run})"


def current(row, cols) -> dict:
    """``{backend name: column}``: per backend, the newest released (not nightly) column with a
    result for this row that is not a skip; a nightly only when no release has one."""
    out: dict = {}
    for name in dict.fromkeys(c["name"] for c in cols):
        mine = [c for c in cols if c["name"] == name and _ran(row["cells"][c["key"]])]
        stable = [c for c in mine if not c["nightly"]]
        chosen = (stable or mine or [None])[-1]
        if chosen is not None and row["cells"][chosen["key"]]["result"]["status"] not in NOT_APPLICABLE:
            out[name] = chosen
    return out


def early_warnings(rows, cols) -> list[dict]:
    """What each nightly column does differently from the newest release of its backend (any
    change of state), or, for a backend run only as a nightly, its new divergences and errors."""
    out = []
    for row in rows:
        entries = []
        for name in dict.fromkeys(c["name"] for c in cols if c["nightly"]):
            mine = [c for c in cols if c["name"] == name]
            stable = [c for c in mine if not c["nightly"] and _ran(row["cells"][c["key"]])]
            before = stable[-1] if stable else None
            for col in (c for c in mine if c["nightly"]):
                cell = row["cells"][col["key"]]
                if not _ran(cell):
                    continue
                if before is not None:
                    old = row["cells"][before["key"]]
                    if signature(row, old) == signature(row, cell):
                        continue
                    was = f"{state_text(row, old)} in {before['release_label']}"
                elif cell["category"] in ("diverge-new", "error"):
                    was = None
                else:
                    continue
                entries.append({"backend": col["label"], "category": cell["category"],
                                "text": state_text(row, cell), "anchor": cell["anchor"],
                                "reason": cell["result"].get("reason"), "was": was})
        if entries:
            out.append({"row": row, "entries": entries})
    return out


def releases_run(cols) -> list[dict]:
    """The backends run at several releases or as a nightly, with their releases (oldest first)."""
    out = []
    for name in dict.fromkeys(c["name"] for c in cols):
        mine = [c for c in cols if c["name"] == name]
        if len(mine) > 1 or any(c["nightly"] for c in mine):
            out.append({"backend": name, "releases": [c["release_label"] for c in mine],
                        "details": [c.get("detail") or c.get("release") or c["key"] for c in mine]})
    return out
