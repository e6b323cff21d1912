"""Badges: normative clauses only (extensions apart); skip/unsupported leave the denominator; colours."""
import json

import pytest

from conformance.report.badges import badge_data, colour, write_badges
from tests.report_fixtures import document, result, scenario


def _run(conform, total, backend="keras-jax"):
    results = [result(f"c.{i}", backend, "conform" if i < conform else "diverge")
               for i in range(total)]
    return document(results)


@pytest.mark.parametrize("conform, total, expected", [
    (41, 41, "green"), (38, 41, "yellow"), (4, 5, "yellow"), (79, 100, "red"), (3, 4, "red"),
    (0, 3, "red"), (0, 0, "lightgrey")])
def test_colour_thresholds(conform, total, expected):
    assert colour(conform, total) == expected


def test_svg_and_endpoint_json(tmp_path):
    write_badges(_run(38, 41), ["keras-jax"], tmp_path)
    svg = (tmp_path / "badge-keras-jax.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "keras-jax" in svg and "38/41 conform" in svg
    endpoint = json.loads((tmp_path / "badge-keras-jax.json").read_text())
    assert endpoint == {"schemaVersion": 1, "label": "keras-jax", "message": "38/41 conform",
                        "color": "yellow"}


def test_counts_exclude_characterization_skip_and_unsupported():
    # hand count for torch in the scenario: lookup.rows conform, shape.output diverge,
    # doc.dense-example unsupported, mask.zero-reserved skip; two characterization clauses
    data = badge_data("torch", scenario()["results"])
    assert data["message"] == "1/2 conform"
    assert data["color"] == "red"
    assert badge_data("reference", scenario()["results"])["message"] == "4/4 conform"
    assert badge_data("reference", scenario()["results"])["color"] == "green"
    assert badge_data("keras-tensorflow", scenario()["results"])["message"] == "3/4 conform"


def test_error_counts_against_conformance():
    doc = document([result("a", "tf-keras"), result("b", "tf-keras", "error")])
    assert badge_data("tf-keras", doc["results"])["message"] == "1/2 conform"


def test_one_badge_pair_per_backend(tmp_path):
    backends = ["reference", "keras-jax", "my.adapter:Thing"]
    write_badges(document([result("a", b) for b in backends]), backends, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    stems = ["badge-reference", "badge-keras-jax", "badge-my.adapter_Thing"]
    assert names == sorted(f"{stem}{level}.{ext}" for stem in stems for level in ("", "-extension")
                           for ext in ("svg", "json"))
    label = json.loads((tmp_path / "badge-my.adapter_Thing.json").read_text())["label"]
    assert label == "my.adapter:Thing"


def test_emulated_results_count_against_conformance_and_are_named():
    doc = document([result("a", "torch"), result("b", "torch", "emulated"), result("c", "torch", "emulated"),
                    result("d", "torch", "emulated", level="extension")])
    assert badge_data("torch", doc["results"]) == {"schemaVersion": 1, "label": "torch",
                                                   "message": "1/3 conform, 2 emulated", "color": "red"}
    assert badge_data("torch", doc["results"], "extension")["message"] == "0/1 conform, 1 emulated"
