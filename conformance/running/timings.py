"""Where a run's time goes, when asked: ``CONFORMANCE_TIMINGS=DIR`` makes the test process and every
backend worker add up, per phase, the wall-clock and CPU seconds they spend, and write them to
``DIR/<pid>.json`` when they stop.

Phases of the test process (``process: "pytest"``): ``start`` (waiting for a backend's worker to
answer its handshake), ``draw`` (Hypothesis drawing a clause's examples
and resolving them into cases), ``reference`` (the reference's observations, by action), ``judge``
(the pure judge), ``wait`` (blocked on a backend's worker, by backend: time its answers were not
ready yet). Phases of a worker (``process: "worker"``): ``run`` by action (the adapter's work on one
case, the framework's compilations included) and ``start`` (importing the framework). Nothing is
timed unless the variable is set (``bench/benchmark.py`` sets it for one serial run and prints the
table); the records of a run never change.

``CONFORMANCE_PROFILE=DIR`` profiles each backend worker's cases with cProfile (the framework's
import excluded) and writes ``DIR/<backend>-<pid>.prof`` when it stops (read it with ``pstats`` or
``python -m conformance.running.timings DIR``); for finding where a worker's CPU goes, never in
a timed run.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

ENV = "CONFORMANCE_TIMINGS"
PROFILE_ENV = "CONFORMANCE_PROFILE"

_totals: dict[tuple, list] = {}   # (process, backend, phase, action) -> [count, wall s, cpu s]


def enabled() -> bool:
    return bool(os.environ.get(ENV))


@contextmanager
def phase(process: str, backend: str, name: str, action: str = ""):
    """Add the block's wall and CPU seconds to (process, backend, name, action), if enabled."""
    if not enabled():
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        total = _totals.setdefault((process, backend, name, action), [0, 0.0, 0.0])
        total[0] += 1
        total[1] += time.perf_counter() - wall
        total[2] += time.process_time() - cpu


def flush() -> None:
    """Write this process's totals to ``$CONFORMANCE_TIMINGS/<pid>.json`` (appending to what it
    wrote before) and start again from zero."""
    folder = os.environ.get(ENV)
    if not folder or not _totals:
        return
    rows = [{"process": p, "backend": b, "phase": n, "action": a, "count": c, "wall": w, "cpu": u}
            for (p, b, n, a), (c, w, u) in _totals.items()]
    path = Path(folder) / f"{os.getpid()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(old + rows))
    _totals.clear()


def load(folder: str | Path) -> list[dict]:
    """Every row the processes of a run wrote to ``folder``."""
    return [row for path in sorted(Path(folder).glob("*.json")) for row in json.loads(path.read_text())]


def summarise(rows: list[dict]) -> dict:
    """(process, backend, phase, action) -> {"count", "wall", "cpu"}, summed over processes."""
    out: dict[tuple, dict] = {}
    for row in rows:
        key = (row["process"], row["backend"], row["phase"], row["action"])
        total = out.setdefault(key, {"count": 0, "wall": 0.0, "cpu": 0.0})
        for field in ("count", "wall", "cpu"):
            total[field] += row[field]
    return out


def profiled(name: str, function, *args):
    """``function(*args)``, under cProfile if ``CONFORMANCE_PROFILE`` names a folder: the
    statistics go to ``<folder>/<name>-<pid>.prof`` when it returns or raises."""
    folder = os.environ.get(PROFILE_ENV)
    if not folder:
        return function(*args)
    import cProfile

    profile = cProfile.Profile()
    try:
        return profile.runcall(function, *args)
    finally:
        Path(folder).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(str(Path(folder) / f"{name.replace(':', '_').replace('/', '_')}-{os.getpid()}.prof"))


if __name__ == "__main__":  # python -m conformance.running.timings DIR [N]: each profile's top costs
    import pstats
    import sys

    for path in sorted(Path(sys.argv[1]).glob("*.prof")):
        print(f"== {path.name}")
        pstats.Stats(str(path)).sort_stats("cumulative").print_stats(int(sys.argv[2]) if len(sys.argv) > 2 else 40)
