"""State shared by the items of one pytest session: backends, workers, cases, reference results."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from backends.base import Layer, Model, Unsupported
from backends.reference import Reference, seeded_weights, semantics_for
from conformance.judging.replies import Failed, Observed, Refused, Reply
from conformance.language.cases import make_input, resolve_model, resolve_value
from conformance.language.spec import Clause
from conformance.running import adapters, compile_cache, timings
from conformance.running.actions import AdapterError, Case, run_case
from conformance.running.worker import Worker, batch_message, case_key

MAX_MESSAGES = 4        # pickled batches kept: the clause at hand and those handed ahead
START_TIMEOUT = 600.0  # importing TensorFlow on a busy 2-core machine can take a while


@dataclass
class Availability:
    available: bool
    version: str | None = None
    detail: str | None = None
    reason: str | None = None
    release: str | None = None   # e.g. "keras-tensorflow@3.0.5+tensorflow-2.16.2"
    broken: bool = False         # installed, but its worker could not start or refused the handshake


class Session:
    def __init__(self, backends: dict, known: dict, case_timeout: float, compile_root=None,
                 framework_defaults: bool = False, start_timeout: float = START_TIMEOUT):
        self.backends = backends          # name -> adapters.Adapter (plain values, never the class)
        self.known = known                # (backend, clause) -> Divergence
        self.homes: dict[str, str] = {}   # backend -> where its new divergences are registered
        self.case_timeout, self.start_timeout = case_timeout, start_timeout
        self.compile_root = compile_root  # the frameworks' compile caches' root (compile_cache.py), None: off
        # True: the workers get none of the adapters' env_defaults (their speed settings, e.g. XLA
        # at -O0): the frameworks run as a user's program would (the weekly thorough run)
        self.framework_defaults = framework_defaults
        self.clauses: dict[str, Clause] = {}
        self._workers: dict[str, Worker] = {}
        self._availability: dict[str, Availability] = {}
        self._cases: dict[str, Case] = {}
        self._reference: dict[tuple, Reply] = {}
        self._drawn_clause: str | None = None
        # properties.py: (clause, backend) of an item -> that of the next one; drawn examples
        self.following: dict[tuple, tuple] | None = None
        self.next_item: tuple | None = None  # (clause, backend) of the item pytest runs next (plugin.py)
        self.drawn: dict[tuple, tuple] = {}  # (clause id, kind of draws) -> (examples, cases)
        self._messages: dict[tuple, bytes] = {}  # pickled batches, by their cases' keys
        # under xdist: the run's folder of drawn examples and reference replies (shared_draws.py)
        self.shared_draws: str | None = None
        # the drawn examples kept across runs (draw_cache.py), None: drawn anew
        self.kept_draws = None

    def add_clauses(self, clauses):
        for clause in clauses:
            self.clauses[clause.id] = clause

    # -- backends -----------------------------------------------------------------------------
    def availability(self, name: str) -> Availability:
        if name not in self._availability:
            self._availability[name] = self._probe(name)
        return self._availability[name]

    def _probe(self, name) -> Availability:
        missing = adapters.missing(self.backends[name])
        if missing:
            return Availability(False, reason=f"not installed: {', '.join(missing)} "
                                              f"(pip install the '{name}' extra or use tox -e {name})")
        if name == "reference":
            ref = Reference()
            return Availability(True, ref.version(), ref.describe(), release=ref.release())
        worker = self._worker(name)
        # Installed but unable to start (an import that crashes, a version() that raises): not a
        # skip, which would let a broken framework pass a run in silence, but an error per clause.
        try:
            hello = worker.start()
        except Exception as exc:  # noqa: BLE001 - a broken framework is an error on its own clauses
            return Availability(False, reason=f"{type(exc).__name__}: {exc}", broken=True)
        if hello[0] != "ready":
            return Availability(False, reason=hello[1], broken=True)
        return Availability(True, hello[1]["version"], hello[1]["describe"], release=hello[1].get("release"))

    def _worker(self, name: str) -> Worker:
        if name not in self._workers:
            adapter, defaults = self.backends[name], self.env_defaults(name)
            env = {**adapter.env, **compile_cache.env(adapter, self.compile_root, defaults)}
            self._workers[name] = Worker(name, env, self.start_timeout, self.case_timeout, env_defaults=defaults,
                                         locator=adapter.locator, declared=adapter.declared)
        return self._workers[name]

    def launch(self, names) -> None:
        """Start these backends' workers now, all at once, without waiting for them: their
        frameworks import side by side (and beside the test process's own work) instead of one
        after the other as each backend's first item comes. A backend not installed is left to
        availability(), which says so."""
        for name in names:
            if name == "reference" or name in self._availability or adapters.missing(self.backends[name]):
                continue
            try:
                self._worker(name).launch()
            except OSError:  # e.g. no process left: availability() starts it again and reports
                pass

    def env_defaults(self, name: str) -> dict:
        """The variables a backend's worker gets unless the caller set them."""
        return {} if self.framework_defaults else dict(self.backends[name].env_defaults)

    def drawn_limit(self, name: str) -> str:
        """Why backend ``name`` refuses drawn examples whose document example it runs, as its
        adapter declares it (``drawn_limit``, backends/base.py); "" when it declares none. A value
        that is not a str is a ValueError naming the backend (every item of it is then an error)."""
        if name == "reference":
            return ""
        limit = getattr(self.backends[name], "drawn_limit", "")
        if type(limit) is not str:
            raise ValueError(f"backend {name!r}: drawn_limit says why in words (a str), not {limit!r}")
        return limit

    def info(self, name: str, probe: bool = True) -> dict:
        """What the results JSON says of a backend. Without ``probe``, no worker is started: a
        backend none of whose clauses ran is only checked for being installed."""
        if probe or name in self._availability:
            a = self.availability(name)
        else:
            missing = adapters.missing(self.backends[name])
            a = Availability(not missing, reason=f"not installed: {', '.join(missing)}" if missing
                             else "no clause ran on this backend")
        return {"framework": self.backends[name].framework, "version": a.version, "detail": a.detail,
                "release": a.release, "available": a.available, "reason": a.reason}

    def run(self, name: str, case: Case) -> Reply:
        """The backend's reply to one case: Observed, Refused or Failed (conformance/judging/replies.py)."""
        if name == "reference":
            return self.reference(case)
        worker = self._workers[name]
        if worker.pending and _keys(worker._batch) == [case_key(case)]:
            # handed ahead as a batch of one: its answer, unless the worker failed on it (then it
            # runs again here, so that a crash is reported as a single case's always was)
            (reply,) = worker.collect()
            if not isinstance(reply, Failed):
                return replace(reply, key=None)
        return worker.run(case)

    def run_many(self, name: str, cases: list[Case]) -> list[Reply]:
        """One reply per case, all cases in one message to the backend's worker (the answers to
        the same batch submitted before, if it was)."""
        if name == "reference":
            return [self.reference(case) for case in cases]
        worker = self._workers[name]
        if worker.pending:
            if _keys(worker._batch) == _keys(cases):
                return worker.collect()
            worker.collect()  # another batch, submitted for an item that did not run
        worker.submit(cases, self._message(cases))
        return worker.collect()

    def submit(self, name: str, cases: list[Case]) -> None:
        """Hand a backend's worker its batch now and collect the answers later (run_many): the
        workers of the next items compute while this one is judged, on the machine's other cores."""
        if name != "reference" and self.availability(name).available and not self._workers[name].pending:
            self._workers[name].submit(cases, self._message(cases))

    def _message(self, cases: list[Case]) -> bytes:
        """A batch pickled once for every backend of its clause (a clause's batch goes to five
        frameworks; pickling its arrays, megabytes at the larger sizes, cost seconds per run)."""
        key = tuple(_keys(cases))
        if key not in self._messages:
            self._messages[key] = batch_message(cases)
            while len(self._messages) > MAX_MESSAGES:
                self._messages.pop(next(iter(self._messages)))
        return self._messages[key]

    def set_plan(self, items) -> None:
        """The (clause id, backend) of every item, in the order they run."""
        items = list(items)
        self.following = dict(zip(items, items[1:]))

    def reference(self, case: Case) -> Reply:
        key = (case.clause, case.example)
        if case.example is not None and case.clause != self._drawn_clause:
            self._forget_drawn(case.clause)
        if key not in self._reference:
            try:
                with timings.phase("pytest", "reference", "reference", case.action):
                    observation = reference_observation(case)
                self._reference[key] = Observed(observation)
            except Unsupported as exc:
                self._reference[key] = Refused(str(exc))
            except AdapterError as exc:
                self._reference[key] = Failed(str(exc))
        return self._reference[key]


    def _forget_drawn(self, clause_id: str) -> None:
        # items run clause by clause: the reference's observations of the previous clause's
        # drawn examples (weights before and after training included) are done with
        self._reference = {k: v for k, v in self._reference.items() if k[1] is None}
        self._drawn_clause = clause_id

    def prime_reference(self, clause_id: str, replies: dict) -> None:
        """The reference's replies to a clause's cases, by (clause, example key), computed by
        another process of the run (shared_draws.py)."""
        if clause_id != self._drawn_clause:
            self._forget_drawn(clause_id)
        for key, reply in replies.items():
            self._reference.setdefault(key, reply)

    def close(self):
        # every idle worker is asked to stop first, so their interpreters shut down (a second or
        # more for a framework) at the same time instead of one after the other
        for worker in self._workers.values():
            worker.request_stop()
        for worker in self._workers.values():
            worker.close()
        timings.flush()

    # -- cases --------------------------------------------------------------------------------
    def case(self, clause: Clause) -> Case:
        if clause.id not in self._cases:
            self._cases[clause.id] = make_case(clause)
        return self._cases[clause.id]


def reference_observation(case: Case) -> dict:
    """The reference's observation of ``case``, and in ``under`` its observation under each
    alternative semantics that changes it (backends/reference.py, ``semantics_for``): what a
    registered divergence's ``to: {reference: NAME}`` compares with."""
    obs = run_case(Reference(), case)
    names = semantics_for(case.action, case.model)
    if names:
        obs["under"] = {name: run_case(Reference(semantics=name), case) for name in names}
    return obs


def _keys(cases) -> list:
    return [case_key(case) for case in cases]


_SEEDED: OrderedDict = OrderedDict()
MAX_SEEDED = 32


def _seeded(model: Model, seed: int) -> list:
    """The reference's seeded weights, computed once per model and seed (drawn examples share a
    few seeds): fresh lists around the same arrays, so a batch's message carries each array once.
    Nothing changes these arrays in place (every adapter copies what it is given)."""
    key = (repr(model), seed)
    if key not in _SEEDED:
        _SEEDED[key] = seeded_weights(model, seed)
        while len(_SEEDED) > MAX_SEEDED:
            _SEEDED.popitem(last=False)
    _SEEDED.move_to_end(key)
    return [list(ws) for ws in _SEEDED[key]]


def _rescaled(matrix: np.ndarray, rows: list, params: dict) -> np.ndarray:
    """A copy of ``matrix`` whose listed rows keep their direction and get the given norm (e.g. a
    row of norm 1e-6, within reach of a framework's epsilon; spec.py checks the rows at load)."""
    out = matrix.copy()
    for item in rows:
        row = int(resolve_value(item["row"], params))
        out[row] = out[row] * np.float32(resolve_value(item["norm"], params) / np.linalg.norm(out[row]))
    return out


def make_case(clause: Clause, example: str | None = None) -> Case:
    """Resolve a clause: formulas to numbers, input generators to arrays, seeded weights. A drawn
    example (properties.py) comes as a clause with its drawn params and arrays, and its key."""
    params = clause.params
    model = resolve_model(clause) if clause.model else None
    dtype = model.input_dtype if model else "int32"
    raw = clause.args
    args: dict = {}
    if "inputs" in raw:
        args["inputs"] = [make_input(spec, params, dtype) for spec in raw["inputs"]]
    if "x" in raw:
        args["x"] = make_input(raw["x"], params, dtype)
    if "y" in raw:
        args["y"] = make_input(raw["y"], params, "float32")
    if "targets" in raw:
        args["targets"] = [make_input(t, params, "float32") for t in raw["targets"]]
    for key in ("lr", "count", "seed", "shape", "kwargs", "sequences", "separately", "predict", "config",
                "matrix_shape", "freeze_between_steps"):
        if key in raw:
            args[key] = resolve_value(raw[key], params)
    for key in ("name", "matrix_dtype"):  # names, kept as written
        if key in raw:
            args[key] = raw[key]
    if "data" in raw:
        args["data"] = raw["data"]  # the document's own Python literal, passed as written

    weights = pretrained = None
    policy = clause.weights
    if model is not None and policy != "fresh":
        seed = policy.get("seed", 0) if isinstance(policy, dict) else 0
        weights = _seeded(model, seed)
        for layer, ws in zip(model.layers, weights):
            if isinstance(policy, dict) and layer.kind in policy.get("zero", []):
                ws[:] = [np.zeros_like(w) for w in ws]
            if isinstance(policy, dict) and layer.kind == "embedding" and policy.get("rescale_rows"):
                ws[0] = _rescaled(ws[0], policy["rescale_rows"], params)  # a copy: the cached arrays stay
        if any(layer.get("pretrained") for layer in model.layers) or clause.action == "pretrained":
            pretrained = weights[0][0]
        if clause.action == "pretrained":
            weights = None
    if clause.action == "document":
        args.update(params)
        if "voc_size" in params and "vec_dim" in params:
            emb = Model((Layer("embedding", {"input_dim": params["voc_size"],
                                             "output_dim": params["vec_dim"]}),))
            args["matrix"] = seeded_weights(emb, policy.get("seed", 0) if isinstance(policy, dict) else 0)[0][0]
        if "matrix" in raw:  # a matrix the clause gives (the document's printed one), as float32
            args["matrix"] = np.asarray(resolve_value(raw["matrix"], params), np.float32)
    return Case(clause.id, clause.action, model, args, weights, pretrained, example)
