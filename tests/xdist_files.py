"""Under ``pytest tests -n N --dist loadfile`` (``make test``): the costliest test files first.

xdist's loadfile keeps a file on one xdist worker (its module fixtures, such as a shared run, are
made once) and hands out the files with the most tests first. The slowest files hold few tests
(the self-test's verdict, the installed package, the snippet runs): handed out last, one of them
still ran alone on one core at the end while the other core idled. :class:`CostliestFileFirst`
hands out the file expected to take longest first (longest processing time first), from
:data:`SECONDS`; the order changes the wall time only, never what runs.

:data:`SECONDS` holds the files of five seconds or more: what each took in
``pytest tests -n 2 --dist loadfile --junitxml`` (the sum of its tests' times) on the 2-core
development machine, rounded. Re-measure when a file gets much slower or faster; any other file
counts :data:`SECONDS_PER_TEST` per test.
"""
from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

SECONDS = {  # measured 2026-12-02 09:25 to 09:31 on an otherwise idle 2-core machine (load about 2.5)
    "tests/test_snippets_run.py": 185,
    # the self-test's verdict runs two conformance runs at once (selftest jobs=2): twice its 83 s
    # of wall time in CPU, which is what keeps the other xdist worker's core busy meanwhile
    "tests/test_selftest.py": 135,  # at --max-examples 10 since 2026-12-02 (was 165)
    "tests/test_plugin.py": 71,
    "tests/test_drawn.py": 38,
    "tests/test_xdist.py": 20,  # --max-examples 4 since 2026-12-02 (was 30)
    "tests/test_no_silent_loss.py": 22,  # --max-examples 4 in its hostile runs since 2026-12-02
    "tests/test_benchmark.py": 13,  # --quick on a third of the clauses since 16:30
    "tests/test_workers.py": 25,
    "tests/test_install.py": 21,
    "tests/test_export_cache.py": 20,
    "tests/test_compile_cache.py": 12,
    "tests/test_draw_cache.py": 5,
    "tests/test_third_party.py": 12,
    "tests/test_inputs_only_draws.py": 10,
    "tests/test_hostile_input.py": 9,
    "tests/test_releases.py": 9,
    "tests/test_keras_adapters.py": 7,
    "tests/test_drawn_judging.py": 7,
    "tests/test_emulation.py": 6,
    "tests/test_refused_drawn.py": 6,
    "tests/test_scratch.py": 5,
    "tests/test_ci_sizes.py": 5,
}
SECONDS_PER_TEST = 0.1


def expected_seconds(scope: str, tests: int) -> float:
    return SECONDS.get(scope, SECONDS_PER_TEST * tests)


class CostliestFileFirst(LoadFileScheduling):
    """xdist's loadfile, each idle xdist worker taking the costliest file left."""

    def _assign_work_unit(self, node) -> None:
        # LoadScopeScheduling takes the unit at the head of the queue; max() keeps the first of equals
        scope = max(self.workqueue, key=lambda s: expected_seconds(s, len(self.workqueue[s])))
        self.workqueue.move_to_end(scope, last=False)
        super()._assign_work_unit(node)
