"""Every way a spec file can be wrong stops the run with a message naming the file and clause."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backends import DEFAULT_ORDER
from conformance.language import limits, registry, vocabulary
from conformance.language.cases import resolve_model, resolve_value
from conformance.language.spec import SPEC_DIR, SpecError, load_all, load_file

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
  - id: lookup.sample
    level: normative
    quote: given an input number i, it outputs the i-th row
    claim: Index i gives row i of the matrix.
    params: {voc_size: 5, vec_dim: 2}
    model:
      layers: [{embedding: {input_dim: voc_size, output_dim: vec_dim}}]
    action: forward
    with: {inputs: [[[0, 1]]]}
    expect:
      - {check: close, of: "outputs[0]", to: reference}
"""


def write(tmp_path, body, name="01-test.yaml", section="Introduction"):
    path = tmp_path / name
    path.write_text(f"section: {section}\nclauses:\n" + textwrap.dedent(body).strip("\n").replace("\n", "\n") + "\n")
    return path


def clause(**overrides):
    """The GOOD clause with some lines replaced; overrides map a key to its new YAML line."""
    lines = GOOD.strip("\n").splitlines()
    out = []
    for line in lines:
        key = line.strip().lstrip("- ").split(":")[0]
        if key in overrides and line.startswith(("  - ", "    ")) and not line.startswith("      "):
            replacement = overrides.pop(key)
            if replacement is not None:
                prefix = "  - " if line.startswith("  - ") else "    "
                out.append(prefix + replacement)
            continue
        out.append(line)
    out += ["    " + extra for extra in overrides.values() if extra]
    return "\n".join(out) + "\n"


def error_of(tmp_path, body):
    with pytest.raises(SpecError) as info:
        load_file(write(tmp_path, body))
    return str(info.value)


def test_the_good_clause_loads(tmp_path):
    (c,) = load_file(write(tmp_path, GOOD))
    assert c.id == "lookup.sample" and c.section == "Introduction" and c.normative


def test_malformed_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("section: x\nclauses: [\n  - {id: a\n")
    with pytest.raises(SpecError, match=r"bad\.yaml: not valid YAML"):
        load_file(path)


def test_the_fast_loader_reads_every_spec_and_registry_file_as_pure_python_does():
    """SAFE_LOADER (libyaml's safe loader, every PyYAML wheel has it) gives the data PyYAML's own
    safe loader gives, for every file the suite ships."""
    import yaml

    from conformance.language.spec import SAFE_LOADER, safe_load

    assert SAFE_LOADER is yaml.CSafeLoader
    files = sorted(SPEC_DIR.glob("*.yaml")) + sorted((SPEC_DIR / "divergences").glob("*.yaml"))
    assert len(files) > 5
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert safe_load(text) == yaml.safe_load(text), path.name


def test_bad_yaml_is_worded_by_the_pure_python_parser(tmp_path):
    # libyaml says "found character that cannot start any token"; PyYAML names the tab
    path = tmp_path / "bad.yaml"
    path.write_text("section: x\nclauses:\n\t- id: a\n")
    with pytest.raises(SpecError, match=r"bad\.yaml: not valid YAML at line 3, column 1: .*'\\t' that cannot"):
        load_file(path)


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, GOOD)
    path.write_text(path.read_text() + "extra: 1\n")
    with pytest.raises(SpecError, match=r"01-test\.yaml: top level: Additional properties.*'extra'"):
        load_file(path)


def test_unknown_clause_key(tmp_path):
    msg = error_of(tmp_path, clause(claim="claim: Index i gives row i of the matrix.\n    colour: red"))
    assert "01-test.yaml: clause 'lookup.sample'" in msg and "'colour'" in msg


def test_unknown_layer(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("{embedding: {input_dim: voc_size, output_dim: vec_dim}}",
                                          "{conv2d: {filters: 3}}"))
    assert "clause 'lookup.sample'" in msg and "model/layers/0" in msg and "conv2d" in msg


def test_unknown_layer_argument(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("output_dim: vec_dim}", "output_dim: vec_dim, sparse: true}"))
    assert "clause 'lookup.sample'" in msg and "sparse" in msg


def test_unknown_action(tmp_path):
    msg = error_of(tmp_path, clause(action="action: predict_and_pray"))
    assert "clause 'lookup.sample'" in msg and "action" in msg and "predict_and_pray" in msg


def test_unknown_check(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("check: close", "check: roughly"))
    assert "clause 'lookup.sample'" in msg and "expect/0/check" in msg


def test_duplicate_id_across_files(tmp_path):
    write(tmp_path, GOOD, "01-a.yaml")
    write(tmp_path, GOOD, "02-b.yaml")
    expected = r"02-b\.yaml: clause 'lookup\.sample': duplicate id, first defined in .*01-a\.yaml"
    with pytest.raises(SpecError, match=expected):
        load_all(tmp_path)


@pytest.mark.parametrize("formula, fragment", [
    ("__import__('os').getcwd()", "Call"),
    ("voc_size.__class__", "Attribute"),
    ("voc_size * nonsense", "unknown name 'nonsense'"),
])
def test_formula_that_is_not_arithmetic_on_known_names(tmp_path, formula, fragment):
    msg = error_of(tmp_path, GOOD.replace("input_dim: voc_size", f'input_dim: "{formula}"'))
    assert "clause 'lookup.sample'" in msg and fragment in msg


def test_formula_in_an_expectation_is_checked_too(tmp_path):
    body = GOOD.replace('{check: close, of: "outputs[0]", to: reference}',
                        '{check: shape, of: "outputs[0]", to: [1, 2, "open(1)"]}')
    assert "Call" in error_of(tmp_path, body)


def test_missing_action_arguments(tmp_path):
    msg = error_of(tmp_path, clause(**{"with": "with: {}"}))
    assert "clause 'lookup.sample'" in msg and "needs 'with' keys ['inputs']" in msg


def test_unknown_action_arguments(tmp_path):
    msg = error_of(tmp_path, clause(**{"with": "with: {inputs: [[[0]]], batch: 3}"}))
    assert "unknown 'with' keys ['batch']" in msg


def test_normative_clause_without_expectations(tmp_path):
    body = GOOD.split("    expect:")[0]
    assert "needs at least one 'expect' check" in error_of(tmp_path, body)


def test_normative_clause_quotes_the_document_and_an_extension_need_not(tmp_path):
    msg = error_of(tmp_path, clause(quote=None))
    assert "clause 'lookup.sample'" in msg and "a normative clause quotes the document" in msg
    (c,) = load_file(write(tmp_path, clause(quote=None, level="level: extension")))
    assert c.level == "extension" and c.judged and not c.normative and c.quote == []
    assert "an extension clause needs at least one 'expect'" in error_of(
        tmp_path, clause(quote=None, level="level: extension").split("    expect:")[0])


def test_quotes_are_one_string_or_a_list_and_whitespace_is_normalised(tmp_path):
    (c,) = load_file(write(tmp_path, clause(quote="quote: [\"given an input   number i,\\n it outputs\", "
                                                  "\"the i-th row of the matrix\"]")))
    assert c.quote == ["given an input number i, it outputs", "the i-th row of the matrix"]
    assert c.meta()["quote"] == c.quote
    assert "quote" in error_of(tmp_path, clause(quote="quote: short"))  # under 10 characters


def test_characterization_needs_a_known_describer(tmp_path):
    body = GOOD.split("    expect:")[0].replace("level: normative", "level: characterization")
    assert "needs 'characterize'" in error_of(tmp_path, body)
    body += "    characterize: {describe: vibes}\n"
    assert "unknown describer 'vibes'" in error_of(tmp_path, body)


def test_registry_entry_errors_name_file_and_clause(tmp_path):
    (tmp_path / "torch.yaml").write_text("backend: torch\ndivergences:\n  - clause: a.b\n    reson: typo\n")
    with pytest.raises(SpecError, match=r"torch\.yaml:3: clause 'a\.b': unknown keys \['reson'\]"):
        registry.load(tmp_path)
    (tmp_path / "torch.yaml").write_text("backend: torch\ndivergences:\n  - clause: a.b\n")
    with pytest.raises(SpecError, match="needs 'clause' and 'reason'"):
        registry.load(tmp_path)


def test_shipped_specs_and_registries_are_valid_and_consistent():
    clauses = load_all()
    ids = [c.id for c in clauses]
    assert len(ids) == len(set(ids)) >= 55
    entries = registry.load()
    assert not registry.stale(entries, ids), "registry entries that match no clause"
    assert {e.backend for e in entries.values()} <= set(DEFAULT_ORDER) - {"reference"}
    sections = {c.section for c in clauses}
    assert sections == {"Introduction", "Embedding in Keras", "Vector matrix",
                        "Regularization and constraints", "Interaction with Dense and RNN",
                        "Input masking"}


def test_a_malformed_spec_stops_the_run_before_any_test(tmp_path):
    write(tmp_path, GOOD, "01-good.yaml")
    write(tmp_path, GOOD.replace("lookup.sample", "lookup.other").replace("check: close", "check: roughly"),
          "02-bad.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "--backend", "reference", "-p", "no:cacheprovider",
         "--spec-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4  # a usage error, raised while configuring
    assert "spec error: " in proc.stderr and "02-bad.yaml: clause 'lookup.other'" in proc.stderr
    assert " passed" not in proc.stdout  # nothing ran


def test_spec_dir_default_is_the_repository_specs():
    assert SPEC_DIR == ROOT / "specs"


def test_a_malformed_field_path(tmp_path):
    msg = error_of(tmp_path, GOOD.replace('of: "outputs[0]"', 'of: "outputs[zero]"'))
    assert "clause 'lookup.sample'" in msg and "bad field path 'outputs[zero]'" in msg


def test_an_id_must_match_its_pattern_exactly(tmp_path):
    # JSON Schema's '$' also matches before a final newline
    msg = error_of(tmp_path, clause(id='id: "lookup.sample\\n"'))
    assert "clause 'lookup.sample\\n': id 'lookup.sample\\n' does not match" in msg


def test_no_spec_files_is_an_error(tmp_path):
    with pytest.raises(SpecError, match="no spec files"):
        load_all(tmp_path)


# -- resource limits (conformance/language/limits.py, docs/RELIABILITY.md "Resource limits") ---------------------------
def test_a_runaway_formula_in_a_spec_is_refused(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("input_dim: voc_size", 'input_dim: "(((9**64)**64)**64)**64"'))
    assert "01-test.yaml: clause 'lookup.sample': formula '(((9**64)**64)**64)**64' reaches" in msg


@pytest.mark.parametrize("old, new, fragment", [
    ("{check: close, of: \"outputs[0]\", to: reference}", "{check: shape, of: \"outputs[0]\", to: [1, \"2/0\"]}",
     "formula '2/0' divides by zero"),
    ("params: {voc_size: 5, vec_dim: 2}", "params: {voc_size: 36893488147419103232, vec_dim: 2}",
     "params: voc_size: number reaches 36893488147419103232"),
])
def test_formulas_are_evaluated_at_load(tmp_path, old, new, fragment):
    assert fragment in error_of(tmp_path, GOOD.replace(old, new))


@pytest.mark.parametrize("old, new, largest", [
    ("voc_size: 5,", "voc_size: 1000000000,", "layer 1 embedding matrix 1000000000 x 2"),
    ("voc_size: 5,", "voc_size: 1.0e+9,", "layer 1 embedding matrix 1000000000 x 2"),
    ("inputs: [[[0, 1]]]", "inputs: [{ints: [100000, 1000], high: voc_size}]",
     "layer outputs for the inputs array of shape [100000, 1000]"),
    ("inputs: [[[0, 1]]]", "inputs: [{ones: 20000000}]",  # 20M inputs, 40M outputs, 10 weights
     "layer outputs for the inputs array of shape [20000000], 40,000,000 elements"),
    ("{embedding: {input_dim: voc_size, output_dim: vec_dim}}",
     "{embedding: {input_dim: voc_size, output_dim: vec_dim}}, {dense: {units: 4000}}, {lstm: {units: 1000}}",
     "layer 3 lstm weights (4000 inputs, 1000 units)"),
])
def test_a_clause_over_the_element_budget_is_refused(tmp_path, old, new, largest):
    body = GOOD.replace(old, new)
    assert body != GOOD
    msg = error_of(tmp_path, body)
    assert "01-test.yaml: clause 'lookup.sample': needs about" in msg and "\n" not in msg
    assert f"over the limit of {limits.MAX_ELEMENTS:,} per clause (largest: {largest}" in msg


def test_the_budget_counts_construct_and_document_matrices(tmp_path):
    construct = GOOD.split("    model:")[0] + ("    action: construct\n"
                                                "    with: {kwargs: {input_dim: 100000000, output_dim: 2}}\n"
                                                "    expect:\n      - {check: is_true, of: accepted}\n")
    assert "largest: embedding matrix 100000000 x 2" in error_of(tmp_path, construct)
    document = construct.replace("voc_size: 5", "voc_size: 10000000").replace(
        "action: construct", "action: document").replace(
        "with: {kwargs: {input_dim: 100000000, output_dim: 2}}", "with: {name: get_weights}")
    assert "largest: embedding matrix voc_size x vec_dim = 10000000 x 2" in error_of(tmp_path, document)


def test_steps_and_model_counts_are_bounded(tmp_path):
    rnn = GOOD.replace("{embedding: {input_dim: voc_size, output_dim: vec_dim}}",
                       "{embedding: {input_dim: voc_size, output_dim: vec_dim}}, {simple_rnn: {units: 1}}").replace(
        "inputs: [[[0, 1]]]", "inputs: [{ints: [1, 20000], high: voc_size}]")
    assert f"simple_rnn layer would run 20,000 time steps (limit {limits.MAX_STEPS:,})" in error_of(tmp_path, rnn)
    fresh = GOOD.replace("action: forward", "action: fresh_weights").replace(
        "with: {inputs: [[[0, 1]]]}", "with: {count: 1000}")
    assert f"fresh_weights builds 1,000 models (limit {limits.MAX_COUNT})" in error_of(tmp_path, fresh)


def test_the_shipped_specs_are_well_inside_the_budget():
    for c in load_all():
        model = resolve_model(c) if c.model else None
        args = {k: v if k in ("data", *vocabulary.NAMES) else resolve_value(v, c.params) for k, v in c.args.items()}
        sizes = [size for _, size in limits.weights(model)] if model else [0]
        assert max(sizes) < limits.MAX_ELEMENTS // 100, c.id
        limits.check(c.action, model, args, c.params)


LAUGHS = "[" + ", ".join(["*l1"] * 10) + "]"


@pytest.mark.parametrize("inputs", [
    # 10**9 values in a few lines: walking them took minutes before the node limit
    "&l1 [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n" + "".join(
        f"      - &l{n + 1} " + LAUGHS.replace("l1", f"l{n}") + "\n" for n in range(1, 9)) + "      - *l9",
    "&loop [*loop]",  # a recursive alias
])
def test_yaml_aliases_cannot_multiply_a_file(tmp_path, inputs):
    body = GOOD.replace("with: {inputs: [[[0, 1]]]}", "with:\n      inputs:\n      - " + inputs
                        if inputs.startswith("&l1") else f"with: {{inputs: {inputs}}}")
    assert "01-test.yaml: more than 100,000 values once its aliases are expanded" in error_of(tmp_path, body)


@pytest.mark.parametrize("extra, fragment", [
    ("weights: {rescale_rows: [{row: 5, norm: 1.0e-4}]}", "row 5 is not a row of the embedding matrix of 5 rows"),
    ("weights: {rescale_rows: [{row: -1, norm: 1.0e-4}]}", "row -1 is not a row"),
    ("weights: {rescale_rows: [{row: 1, norm: 0}]}", "rescale_rows"),  # the schema: a norm above 0
])
def test_rescaled_rows_are_rows_of_the_matrix(tmp_path, extra, fragment):
    load_file(write(tmp_path, clause(weights="weights: {rescale_rows: [{row: 4, norm: 1.0e-4}]}")))
    message = error_of(tmp_path, clause(weights=extra))
    assert "01-test.yaml" in message and "lookup.sample" in message and fragment in message, message


def test_rescaled_rows_fit_the_smallest_drawn_vocabulary(tmp_path):
    body = clause(weights="weights: {rescale_rows: [{row: 4, norm: 1.0e-4}]}") + (
        "    draw:\n      params: {voc_size: [3, 100]}\n")
    message = error_of(tmp_path, body)
    assert "row 4 is not a row of the embedding matrix of 3 rows" in message, message
