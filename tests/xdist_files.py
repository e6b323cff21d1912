"""Under ``pytest tests -n N --dist loadfile`` (``make test``): the costliest test files first.

xdist's loadfile keeps a file on one xdist worker (its module fixtures, such as a shared run, are
made once) and hands out the files with the most tests first. The slowest files hold few tests
(the self-test's verdict, the installed package, the snippet runs): handed out last, one of them
still ran alone on one core at the end while the other core idled. :class:`CostliestFileFirst`
hands out the file expected to take longest first (longest processing time first), from
:data:`SECONDS`; the order changes the wall time only, never what runs.

:data:`SECONDS` holds the files of more than about ten seconds: what each took in
``pytest tests -n 2 --dist loadfile --junitxml`` (the sum of its tests' times) on the 2-core
development machine, rounded. Re-measure when a file gets much slower or faster; any other file
counts :data:`SECONDS_PER_TEST` per test.
"""
from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

SECONDS = {}
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
