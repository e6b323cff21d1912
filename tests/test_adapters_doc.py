"""docs/ADAPTERS.md: its generated part (conformance/tools/adapters_doc.py) is current, and what the
generator reads off the engine's source is right (checked against hand-picked facts and the
vocabulary, not against its own output)."""
from __future__ import annotations

import subprocess
import sys

from conformance.language import vocabulary
from conformance.running import actions
from conformance.tools import adapters_doc, blocks


def test_the_generated_part_is_current():
    assert not adapters_doc.stale(), "docs/ADAPTERS.md is stale: run python -m conformance adapters --write"


def test_check_command_fails_on_a_stale_page(tmp_path, monkeypatch):
    page = tmp_path / "ADAPTERS.md"
    page.write_text(f"intro\n{adapters_doc.START}\nold text\n{adapters_doc.END}\n", encoding="utf-8")
    monkeypatch.setattr(adapters_doc, "DOC_PATH", page)
    assert adapters_doc.stale()
    assert adapters_doc.write()
    assert not adapters_doc.stale()
    assert page.read_text(encoding="utf-8").startswith("intro\n")


def test_check_command_exit_status():
    done = subprocess.run([sys.executable, "-m", "conformance", "adapters", "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_callers_read_from_the_source():
    by_action = adapters_doc.methods_by_action()
    # facts read by hand off conformance/running/actions.py
    assert "seed" in by_action["fresh_weights"] and "set_weights" not in by_action["fresh_weights"]
    assert {"build", "set_weights", "reuse", "forward"} <= by_action["forward"]     # through _build
    assert {"get_weights", "forward"} <= by_action["pretrained"]
    assert by_action["document"] == {"document_call", "emulation"}
    assert {"construct", "layer_config"} <= by_action["construct"] and "build" not in by_action["construct"]
    assert all("emulation" in methods for methods in by_action.values())           # run_case, every action
    assert {"version", "describe", "release", "snippet"} <= adapters_doc.worker_methods()


def test_feeds_name_real_callers_and_fields():
    by_action = adapters_doc.methods_by_action()
    writes = {word.name: set(word.writes) for word in vocabulary.ACTIONS.values()}
    for method, per_action in adapters_doc.FEEDS.items():
        callers = {a for a in actions.ACTIONS if method in by_action[a]}
        assert set(per_action) == callers, f"FEEDS[{method!r}] names {sorted(per_action)}, the source {sorted(callers)}"
        for action, fields in per_action.items():
            assert set(fields) <= writes[action], f"{method} on {action}: {set(fields) - writes[action]} not written"


def test_every_method_named_exists_and_the_page_covers_it():
    from backends.base import Backend
    body = blocks.current(adapters_doc.DOC_PATH, adapters_doc.START, adapters_doc.END)
    for method in adapters_doc.METHODS:
        assert callable(getattr(Backend, method)), method
        assert f"### `{method}`" in body
    # every public method an adapter overrides is on the page
    public = {n for n, v in vars(Backend).items() if callable(v) and not n.startswith("_")}
    assert public - set(adapters_doc.METHODS) == {"take_api_notes"}
