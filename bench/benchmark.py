"""Benchmark: how long each backend takes to run every clause, as a ratio to a floor measured
in the same run (the NumPy reference running the same cases in-process).

Ratios, not seconds, are what to compare between machines and runs. Timed tests would be flaky;
this script is run by hand (`make bench`) and prints a table:

    backend           start s   pass s (median of N)   ratio to floor
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import backends  # noqa: E402
from backends.reference import Reference  # noqa: E402
from conformance.actions import run_case  # noqa: E402
from conformance.session import make_case  # noqa: E402
from conformance.spec import load_all  # noqa: E402
from conformance.worker import Worker  # noqa: E402


def one_pass_in_process(cases):
    start = time.perf_counter()
    for case in cases:
        try:
            run_case(Reference(), case)
        except Exception:  # noqa: BLE001 - unsupported cases cost time too
            pass
    return time.perf_counter() - start


def one_pass_in_worker(worker, cases):
    start = time.perf_counter()
    for case in cases:
        worker.run(case)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    cases = [make_case(c) for c in load_all()]
    floor = statistics.median(one_pass_in_process(cases) for _ in range(args.repeat))
    print(f"{len(cases)} clauses; floor (reference, in-process): {floor * 1000:.1f} ms per pass")
    print(f"{'backend':18} {'start s':>8} {'pass s':>8} {'ratio':>9}")
    names = args.backend or [n for n in backends.DEFAULT_ORDER if n != "reference"]
    for name in names:
        cls = backends.resolve(name)
        worker = Worker(name, dict(cls.env), 600, 300)
        start = time.perf_counter()
        hello = worker.start()
        started = time.perf_counter() - start
        if hello[0] != "ready":
            print(f"{name:18} unavailable: {hello[1]}")
            worker.close()
            continue
        one_pass_in_worker(worker, cases)  # warm-up: first builds, compilation caches
        passes = [one_pass_in_worker(worker, cases) for _ in range(args.repeat)]
        worker.close()
        median = statistics.median(passes)
        print(f"{name:18} {started:8.2f} {median:8.2f} {median / floor:8.0f}x")


if __name__ == "__main__":
    main()
