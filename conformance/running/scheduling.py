"""Under pytest-xdist (``-n N``), every backend's items run on one xdist worker, the costly first.

Why a scheduler of our own: each xdist worker is a pytest process with its own Session, so a backend
whose items are spread over two xdist workers starts its framework's worker process (the import of
TensorFlow, JAX or PyTorch, the first compilations) twice, and ``-n 2`` is no faster than a serial
run. xdist's ``loadgroup`` was meant to keep a group together, but with pytest 9.2 it groups
nothing: xdist's worker marks a grouped item by assigning ``item._nodeid``, and pytest 9.2 computes
``nodeid`` from ``item._id``, so the ``@group`` suffix never reaches the controller.

:class:`BackendScheduling` is xdist's ``LoadScopeScheduling`` with one scope per backend: the
controller recognises a conformance item from its id (``<spec file>::<clause id>[<backend>]``,
checked against the loaded clauses and the selected backends), whatever ``--dist`` says (except
``each``). Other items keep the grouping of the ``--dist`` the user asked for. Whenever an xdist
worker asks for work, it gets the remaining scope with the largest expected cost (longest
processing time first), so the two slowest backends start at once, on different xdist workers.

Expected costs are seconds per item, ``SECONDS_PER_ITEM``, each built-in adapter's declared
``seconds_per_item``: what the backend took here with one item at a time, its framework's start
included (re-measure with ``pytest conformance -n 1 --json`` when the clauses change what they
cost: a serial run hands batches ahead, so there the backends that follow another in a clause look
cheaper than they are). The order changes the wall time only, never a result: a backend's items
run in the same order, in one framework process, as in a serial run.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pytest
from xdist.scheduler import LoadScopeScheduling
from xdist.scheduler.loadfile import LoadFileScheduling
from xdist.scheduler.loadgroup import LoadGroupScheduling

import backends

# Each built-in adapter declares its seconds per item (backends/base.py, Declaration): in a serial
# six-backend run on the 2-core development machine (bench/benchmark.py, 2026-11-25, its "s/item"
# column, pytest conformance -n 1, ci profile: the framework's start and first calls spread over its
# 70 items); only their order matters.
SECONDS_PER_ITEM = {d.name: d.seconds_per_item for d in backends.catalogue()}
UNKNOWN_BACKEND_SECONDS = 0.1   # a third-party adapter: as if it loaded a framework
OTHER_ITEM_SECONDS = 0.05       # an item that is not a conformance item (pytest tests conformance)
GROUPED_DISTS = ("load", "loadscope", "loadfile", "loadgroup", "worksteal")


def item_backends(clause_ids: Iterable[str], backend_names: Iterable[str]) -> dict[str, str]:
    """The name of every conformance item (``<clause id>[<backend>]``) -> its backend."""
    names = list(backend_names)
    return {f"{cid}[{name}]": name for cid in clause_ids for name in names}


def backend_of(nodeid: str, items: Mapping[str, str]) -> str | None:
    """The backend of a conformance item's node id, or None for any other item.

    A ``@group`` suffix (what xdist's loadgroup appends, on pytest versions where it reaches the
    controller) is ignored.
    """
    if "@" in nodeid and nodeid.rfind("@") > nodeid.rfind("]"):
        nodeid = nodeid[:nodeid.rfind("@")]
    _, sep, name = nodeid.rpartition("::")
    return items.get(name) if sep else None


def _fallback_split(dist: str) -> Callable[[str], str]:
    """The scope xdist's own scheduler for ``dist`` gives an item that is not a conformance item."""
    if dist == "loadscope":
        return lambda nodeid: LoadScopeScheduling._split_scope(None, nodeid)
    if dist == "loadfile":
        return lambda nodeid: LoadFileScheduling._split_scope(None, nodeid)
    if dist == "loadgroup":
        return lambda nodeid: LoadGroupScheduling._split_scope(None, nodeid)
    return lambda nodeid: nodeid  # load, worksteal: every item is a unit of its own


class BackendScheduling(LoadScopeScheduling):
    """One work unit per backend; each idle xdist worker takes the costliest unit left."""

    SCOPE_PREFIX = "conformance backend "  # cannot be a node id: those hold "::"

    def __init__(self, config: pytest.Config, log=None, *, items: Mapping[str, str],
                 seconds_per_item: Mapping[str, float] = SECONDS_PER_ITEM,
                 fallback: Callable[[str], str] = lambda n: n):
        super().__init__(config, log)
        self.items, self.fallback, self.seconds_per_item = items, fallback, seconds_per_item

    def _split_scope(self, nodeid: str) -> str:
        backend = backend_of(nodeid, self.items)
        return self.SCOPE_PREFIX + backend if backend is not None else self.fallback(nodeid)

    def expected_seconds(self, scope: str, unit: Mapping[str, bool]) -> float:
        pending = list(unit.values()).count(False)
        if scope.startswith(self.SCOPE_PREFIX):
            backend = scope[len(self.SCOPE_PREFIX):]
            return pending * self.seconds_per_item.get(backend, UNKNOWN_BACKEND_SECONDS)
        return pending * OTHER_ITEM_SECONDS

    def _assign_work_unit(self, node) -> None:
        # Longest processing time first: put the costliest unit at the head of the queue, where
        # LoadScopeScheduling takes it from. max() keeps the first of equals: collection order.
        scope = max(self.workqueue, key=lambda s: self.expected_seconds(s, self.workqueue[s]))
        self.workqueue.move_to_end(scope, last=False)
        super()._assign_work_unit(node)


def make_scheduler(config: pytest.Config, log, clause_ids: Iterable[str], backend_names: Iterable[str]):
    """The scheduler for this run, or None to leave xdist's own (``--dist each``). ``backend_names``
    may map each name to its adapter (adapters.Adapter), whose own declaration then gives its cost."""
    dist = config.getvalue("dist")
    if dist not in GROUPED_DISTS:
        return None
    seconds = dict(SECONDS_PER_ITEM)
    if isinstance(backend_names, Mapping):  # name -> adapter: a third party's declared cost too
        seconds.update({name: adapter.seconds_per_item for name, adapter in backend_names.items()
                        if name not in seconds and adapter.seconds_per_item is not None})
    return BackendScheduling(config, log, items=item_backends(clause_ids, backend_names),
                             seconds_per_item=seconds, fallback=_fallback_split(dist))
