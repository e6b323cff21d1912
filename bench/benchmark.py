"""Benchmark: the full conformance run, serial and under xdist (-n 2), against a floor measured in
the same invocation; the serial run with a cold and a warm compile cache; the thorough profile.

The floor is what no run can avoid: for each backend, a fresh worker process (the suite's own,
``python -m conformance.running.worker NAME``) that imports its framework and answers one embedding lookup
(the clause ``lookup.rows-are-matrix-rows``), one backend after the other, summed. Then
``pytest conformance`` runs on the same backends twice, serial and with ``-n 2``, each timed from
the outside (interpreter start to exit); each is given as a ratio to the floor. The runs use a
compile cache of the benchmark's own (``--compile-cache``, conformance/running/compile_cache.py):
empty for the first serial run (cold: every program compiled), then kept for the second serial
run and the -n 2 run (warm), which the speed-up compares. ``--thorough`` adds one serial run of
the weekly CI's: the thorough profile at the frameworks' own defaults (XLA at its default
optimisation), with a cold cache of its own; slow (many minutes). Per backend, the
serial run's records give examples per second (per record, the document's example plus its drawn
``examples``; one for a record without the field, which the table then says). The runs' records must be
identical but for their durations (the thorough run's draw others); the table says whether they are.

Each run's CPU seconds (the pytest processes and every framework worker, from the kernel's
accounting of finished children) are printed beside its wall time: on 2 cores a run cannot take
less than half its CPU seconds, whatever ``-n`` says. The warm serial run is timed from the inside
too (``CONFORMANCE_TIMINGS``, conformance/running/timings.py): the table "where the time goes" gives
the test process's phases (waiting for the workers to start, drawing examples, the reference,
judging, waiting on workers) and, per backend, its worker's start, run and CPU seconds, by action.

Ratios, not seconds, are what compare between machines; the load average is printed before and
after, as other processes on the machine change every figure. Nothing here is a test: run it by
hand (``make bench``). ``--quick`` runs the reference and torch only, on a third of the clauses
(:data:`QUICK_SELECTION`; a smoke test uses it).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import backends  # noqa: E402
from conformance.judging.replies import Observed  # noqa: E402
from conformance.language.spec import load_all  # noqa: E402
from conformance.running import adapters, timings  # noqa: E402
from conformance.running.session import START_TIMEOUT, make_case  # noqa: E402
from conformance.running.worker import Worker  # noqa: E402

LOOKUP_CLAUSE = "lookup.rows-are-matrix-rows"
QUICK_BACKENDS = ("reference", "torch")
# --quick's clauses: the lookups and the masking, drawn examples and a recurrent layer among them
# (the smoke test checks the benchmark's figures, not the conformance: a third of the spec will do)
QUICK_SELECTION = ("-k", "lookup or mask")
XDIST_WORKERS = 2


def machine() -> dict:
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 2**20, 1)  # kB -> GiB
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gib": memory, "python": sys.version.split()[0]}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def floor_seconds(name: str, case) -> dict:
    """A fresh worker for ``name``: spawn, import, one lookup; the seconds until its answer."""
    adapter = adapters.builtins()[name]  # the environment the run gives its workers
    worker = Worker(name, dict(adapter.env), START_TIMEOUT, START_TIMEOUT, env_defaults=dict(adapter.env_defaults))
    start = time.perf_counter()
    try:
        hello = worker.start()
        if hello[0] != "ready":
            return {"seconds": None, "error": f"unavailable: {hello[1]}"}
        reply = worker.run(case)
        seconds = time.perf_counter() - start
    finally:
        worker.close()
    if not isinstance(reply, Observed):  # Refused (reason) or Failed (text)
        why = getattr(reply, "reason", None) or getattr(reply, "text", "")
        return {"seconds": seconds, "error": f"{type(reply).__name__}: {(why.splitlines() or [''])[-1]}"}
    return {"seconds": seconds, "error": None}


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process and their reaped descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pytest_run(names: list[str], out: Path, *extra: str, timings_dir: Path | None = None) -> dict:
    """One ``pytest conformance`` run: its wall seconds, its CPU seconds (the pytest processes and
    every backend worker), its exit status and records; with ``timings_dir``, where its time went
    (conformance/running/timings.py)."""
    command = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider", "--json", str(out),
               *[arg for name in names for arg in ("--backend", name)], *extra]
    env = {**os.environ, timings.ENV: str(timings_dir)} if timings_dir else None
    cpu, start = children_cpu(), time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
    data = json.loads(out.read_text()) if out.exists() else None
    if data is None:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"benchmark: {' '.join(command[2:])} wrote no results (exit {proc.returncode})")
    run = {"seconds": seconds, "cpu_seconds": cpu, "exit": proc.returncode, "data": data}
    if timings_dir:
        run["timings"] = where_time_goes(timings.load(timings_dir), names, seconds)
    return run


def where_time_goes(rows: list[dict], names: list[str], wall: float) -> dict:
    """The test process's phases, and per backend its worker's start and run time (CPU too), by
    action, and how long the test process waited on it (the part no other work overlapped)."""
    total = timings.summarise(rows)
    pytest_phases = {phase: round(sum(v["wall"] for (p, _, n, _), v in total.items()
                                      if p == "pytest" and n == phase), 3)
                     for phase in ("start", "draw", "reference", "judge", "wait")}
    pytest_phases["rest"] = round(wall - sum(pytest_phases.values()), 3)
    backends_ = {}
    for name in names:
        worker = {k: v for k, v in total.items() if k[0] == "worker" and k[1] == name}
        backends_[name] = {
            "start": round(sum(v["wall"] for k, v in worker.items() if k[2] == "start"), 3),
            "run": round(sum(v["wall"] for k, v in worker.items() if k[2] == "run"), 3),
            "run_cpu": round(sum(v["cpu"] for k, v in worker.items() if k[2] == "run"), 3),
            "cases": sum(v["count"] for k, v in worker.items() if k[2] == "run"),
            "waited": round(total.get(("pytest", name, "wait", ""), {}).get("wall", 0.0), 3),
            "judge": round(total.get(("pytest", name, "judge", ""), {}).get("wall", 0.0), 3),
            "actions": {k[3]: round(v["wall"], 3) for k, v in sorted(worker.items()) if k[2] == "run"}}
    reference = {k[3]: round(v["wall"], 3) for k, v in sorted(total.items())
                 if k[0] == "pytest" and k[2] == "reference"}
    return {"pytest": pytest_phases, "backends": backends_, "reference_actions": reference}


def per_backend(data: dict, names: list[str]) -> dict:
    rows = {}
    for name in names:
        records = [r for r in data["results"] if r["backend"] == name]
        # each record: the document's example, plus its drawn ones (``examples``: null for a clause
        # that draws none, absent from records written before drawn examples)
        drawn = [r.get("examples") or 0 for r in records]
        seconds = sum(r.get("duration") or 0.0 for r in records)
        examples = len(records) + sum(drawn)
        rows[name] = {"items": len(records), "examples": examples, "seconds": round(seconds, 3),
                      "examples_counted": all("examples" in r for r in records),
                      "examples_per_second": round(examples / seconds, 2) if seconds else None,
                      "seconds_per_item": round(seconds / len(records), 4) if records else None}
    return rows


def differences(a: dict, b: dict) -> list[str]:
    """The clause x backend ids whose records differ in anything but their duration."""
    def records(data):
        return {f"{r['clause']}[{r['backend']}]": {k: v for k, v in r.items() if k != "duration"}
                for r in data["results"]}
    ra, rb = records(a), records(b)
    return sorted(k for k in ra.keys() | rb.keys() if ra.get(k) != rb.get(k))


def floor_once(names: list[str], case) -> dict:
    return {name: floor_seconds(name, case) for name in names}


def median_floor(floors: list[dict]) -> dict:
    """Per backend, the median of the repeats (an error from any repeat is kept)."""
    merged = {}
    for name in floors[0]:
        seconds = [f[name]["seconds"] for f in floors if f[name]["seconds"] is not None]
        errors = [f[name]["error"] for f in floors if f[name]["error"]]
        merged[name] = {"seconds": statistics.median(seconds) if seconds else None,
                        "error": errors[0] if errors else None}
    return merged


COLD = "serial, cold cache"
THOROUGH = "thorough"
THOROUGH_ARGS = ("--hypothesis-profile", "thorough", "--framework-defaults")  # the weekly CI run's


def measure(names: list[str], repeat: int = 1, thorough: bool = False, select: tuple = ()) -> dict:
    """Floor, serial run (cold, then warm compile cache), -n 2 run (warm); ``repeat`` times,
    alternating, each figure the median; the thorough run once, if asked. ``select``: pytest
    arguments choosing the clauses (``-k ...``; all of them by default)."""
    summary = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "machine": machine(), "load_before": load(), "backends": names, "repeat": repeat,
               "selection": list(select)}
    case = make_case(next(c for c in load_all() if c.id == LOOKUP_CLAUSE))
    floors, runs = [], {COLD: [], "serial": [], f"-n {XDIST_WORKERS}": []}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        cache = ("--compile-cache", str(Path(tmp) / "compile-cache"), *select)
        for n in range(repeat):
            floors.append(floor_once(names, case))
            shutil.rmtree(cache[1], ignore_errors=True)
            runs[COLD].append(pytest_run(names, Path(tmp) / f"cold-{n}.json", *cache))
            runs["serial"].append(pytest_run(names, Path(tmp) / f"serial-{n}.json", *cache,
                                             timings_dir=Path(tmp) / f"timings-{n}"))
            runs[f"-n {XDIST_WORKERS}"].append(
                pytest_run(names, Path(tmp) / f"parallel-{n}.json", *cache, "-n", str(XDIST_WORKERS)))
        if thorough:
            runs[THOROUGH] = [pytest_run(names, Path(tmp) / "thorough.json", *THOROUGH_ARGS, *select,
                                         "--compile-cache", str(Path(tmp) / "thorough-cache"))]
    summary["floor"] = median_floor(floors)
    floor = sum(f["seconds"] or 0.0 for f in summary["floor"].values())
    summary["floor_seconds"] = round(floor, 3)
    summary["runs"] = {}
    for label, done in runs.items():
        seconds = statistics.median(run["seconds"] for run in done)
        summary["runs"][label] = {
            "seconds": round(seconds, 3), "ratio_to_floor": round(seconds / floor, 2),
            "cpu_seconds": round(statistics.median(run["cpu_seconds"] for run in done), 3),
            "all_seconds": [round(run["seconds"], 3) for run in done],
            "exit": max(run["exit"] for run in done), "complete": all(run["data"].get("complete") for run in done),
            "records": len(done[0]["data"]["results"])}
    serial, parallel = summary["runs"]["serial"], summary["runs"][f"-n {XDIST_WORKERS}"]
    summary["speedup"] = round(serial["seconds"] / parallel["seconds"], 2)
    summary["warm_speedup"] = round(summary["runs"][COLD]["seconds"] / serial["seconds"], 2)
    first = runs["serial"][0]["data"]
    summary["differences"] = sorted({d for label, done in runs.items() if label != THOROUGH for run in done
                                     for d in differences(first, run["data"])})
    rows = [per_backend(run["data"], names) for run in runs["serial"]]
    summary["per_backend"] = {name: {**rows[0][name], **{
        key: statistics.median(r[name][key] for r in rows)
        for key in ("seconds", "examples_per_second", "seconds_per_item") if rows[0][name][key] is not None}}
        for name in names}
    summary["where_time_goes"] = runs["serial"][-1]["timings"]  # the last repeat's
    summary["load_after"] = load()
    return summary


def table(s: dict) -> str:
    m = s["machine"]
    w = max(18, *(len(name) for name in s["backends"]))
    medians = f", medians of {s['repeat']} alternating repeats" if s["repeat"] > 1 else ""
    lines = [f"embedding-conformance benchmark, {s['date']}{medians}",
             f"machine: {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}; "
             f"load average {' '.join(map(str, s['load_before']))} before, "
             f"{' '.join(map(str, s['load_after']))} after",
             *([f"clauses: pytest {' '.join(s['selection'])} only, not the whole spec"] if s.get("selection") else []),
             "",
             "floor: a fresh worker per backend imports its framework and does one embedding lookup",
             f"  {'backend':{w}} {'seconds':>8}"]
    for name, f in s["floor"].items():
        shown = f"{f['seconds']:8.2f}" if f["seconds"] is not None else f"{'-':>8}"
        lines.append(f"  {name:{w}} {shown}" + (f"  ({f['error']})" if f["error"] else ""))
    lines += [f"  {'floor (sum)':{w}} {s['floor_seconds']:8.2f}", "",
              f"  {'run':{w}} {'seconds':>8} {'x floor':>8} {'CPU s':>7}  records"]
    for label, run in s["runs"].items():
        state = "complete" if run["complete"] else "INCOMPLETE"
        each = f"; each: {', '.join(f'{x:.2f}' for x in run['all_seconds'])}" if s["repeat"] > 1 else ""
        lines.append(f"  {label:{w}} {run['seconds']:8.2f} {run['ratio_to_floor']:8.2f} {run['cpu_seconds']:7.1f}  "
                     f"{run['records']} ({state}, pytest exit {run['exit']}{each})")
    lines.append(f"  a warm compile cache makes the serial run {s['warm_speedup']:.2f}x as fast as a cold one")
    if THOROUGH in s["runs"]:
        lines.append(f"  {THOROUGH}: {' '.join(THOROUGH_ARGS)} (the weekly CI run), cold cache of its own")
    lines.append(f"  -n {XDIST_WORKERS} is {s['speedup']:.2f}x as fast as serial; the runs' records "
                 + ("are identical to the serial run's (durations aside)" if not s["differences"]
                    else f"DIFFER from the serial run's for {len(s['differences'])}: "
                         + ", ".join(s["differences"][:10])))
    lines += ["", "per backend, serial run (record durations: the framework's start included)",
              f"  {'backend':{w}} {'items':>6} {'examples':>8} {'seconds':>8} {'examples/s':>10} {'s/item':>7}"]
    for name, row in s["per_backend"].items():
        rate = f"{row['examples_per_second']:10.1f}" if row["examples_per_second"] else f"{'-':>10}"
        per_item = f"{row['seconds_per_item']:7.3f}" if row["seconds_per_item"] is not None else f"{'-':>7}"
        lines.append(f"  {name:{w}} {row['items']:6d} {row['examples']:8d} {row['seconds']:8.2f} {rate} {per_item}")
    if not all(row["examples_counted"] for row in s["per_backend"].values()):
        lines.append("  (some records carry no `examples` count: one example is counted for each)")
    return "\n".join(lines + time_table(s["where_time_goes"], w))


def time_table(t: dict, w: int) -> list[str]:
    """Where the serial run's time went (conformance/running/timings.py): the test process's
    phases, each backend worker's, and the worker's run time by action."""
    p = t["pytest"]
    lines = ["", "where the time goes, serial run (wall seconds; CONFORMANCE_TIMINGS)",
             f"  test process: waiting for workers to start {p['start']:.2f}, drawing examples {p['draw']:.2f}, "
             f"reference {p['reference']:.2f}, judging "
             f"{p['judge']:.2f}, waiting on workers {p['wait']:.2f}, the rest (start, collection, reports, "
             f"records) {p['rest']:.2f}",
             f"  {'backend':{w}} {'start':>6} {'run':>7} {'run CPU':>7} {'cases':>6} {'waited':>7} {'judge':>6}"]
    for name, b in t["backends"].items():
        lines.append(f"  {name:{w}} {b['start']:6.2f} {b['run']:7.2f} {b['run_cpu']:7.2f} {b['cases']:6d} "
                     f"{b['waited']:7.2f} {b['judge']:6.2f}")
    actions = sorted({a for b in t["backends"].values() for a in b["actions"]} | set(t["reference_actions"]))
    short = [name[:10] for name in t["backends"]]
    lines += ["  run seconds by action (worker; the reference: in the test process)",
              f"  {'action':22} " + " ".join(f"{n:>10}" for n in short)]
    for action in actions:
        cells = [t["reference_actions"].get(action) if name == "reference" else b["actions"].get(action)
                 for name, b in t["backends"].items()]
        lines.append(f"  {action:22} " + " ".join(f"{c:10.2f}" if c is not None else f"{'-':>10}" for c in cells))
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", default=[], metavar="NAME",
                        help="backend to measure (repeatable); default: the six built-in backends")
    parser.add_argument("--quick", action="store_true",
                        help=f"only {' and '.join(QUICK_BACKENDS)}, on the clauses {' '.join(QUICK_SELECTION)}")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="measure N times, alternating the runs, and give the medians (default 1)")
    parser.add_argument("--thorough", action="store_true",
                        help="also time one run of the weekly CI's thorough profile (slow: many minutes)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = args.backend or list(QUICK_BACKENDS if args.quick else backends.DEFAULT_ORDER)
    summary = measure(names, args.repeat, args.thorough, QUICK_SELECTION if args.quick else ())
    print(table(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
