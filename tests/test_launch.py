"""A serial run launches every backend's worker at once (Session.launch, Worker.launch): the
frameworks import side by side, and each handshake is read when its backend is first needed."""
import os
import time

from conformance.running import adapters
from conformance.running.session import Session
from conformance.running.worker import Worker

MUTANTS = ["conformance.tools.mutants:OffByOneLookup", "conformance.tools.mutants:BiasInEmbedding"]


def test_launched_workers_run_before_their_first_item_and_answer_their_handshake():
    session = Session(adapters.choose(["reference", *MUTANTS]), {}, 60.0)
    try:
        session.launch(["reference", *MUTANTS])
        assert "reference" not in session._workers  # the reference runs in the test process
        procs = [session._workers[name].proc for name in MUTANTS]
        assert all(p is not None and p.poll() is None for p in procs)  # both alive, no handshake read yet
        assert all(session._workers[name].hello is None for name in MUTANTS)
        assert all(session.availability(name).available for name in MUTANTS)
        assert [session._workers[name].proc for name in MUTANTS] == procs  # the launched ones, not new ones
    finally:
        session.close()
    assert all(p.poll() is not None for p in procs)


def test_a_launched_worker_that_dies_before_its_handshake_is_reported_as_broken(tmp_path):
    worker = Worker("dies", {}, 60.0, 60.0, locator=MUTANTS[0])
    worker.launch()
    os.killpg(worker.proc.pid, 9)
    time.sleep(0.2)
    try:
        worker.start()
    except Exception as exc:  # noqa: BLE001 - WorkerDied, with how it ended
        assert "killed by signal SIGKILL while starting" in str(exc)
    else:
        raise AssertionError("a dead launched worker passed its handshake")
    finally:
        worker.close()
