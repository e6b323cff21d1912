"""The CI workflow, tox.ini, pyproject.toml, the Makefile and the README stay in line with the
backends the adapters declare (backends/base.py, Declaration; conformance/tools/catalogue.py)."""
import configparser
import shutil
from pathlib import Path

import pytest
import yaml

import backends
from backends.base import Declaration
from conformance.tools import catalogue

ROOT = Path(__file__).resolve().parent.parent
DECLARED = backends.catalogue()
NAMES = [d.name for d in DECLARED]
FRAMEWORKS = {d.name for d in DECLARED if d.requires}  # every backend but the reference
ENVS = NAMES + ["report", "tests", "lint"]


def _tox():
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tox.ini")
    return cfg


def test_the_generated_blocks_hold_what_the_adapters_declare():
    problems = catalogue.stale()
    assert not problems, "\n".join(problems)


def test_a_stale_block_is_named_with_its_file_and_the_command_that_mends_it(tmp_path):
    for block in catalogue.BLOCKS:
        (tmp_path / block.file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / block.file, tmp_path / block.file)
    assert catalogue.stale(tmp_path) == []
    tox = tmp_path / "tox.ini"
    tox.write_text(tox.read_text().replace("    torch==2.13.0\n", "    torch==2.12.0\n", 1))
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("<!-- backend-table:end -->", ""))
    problems = catalogue.stale(tmp_path)
    assert len(problems) == 2, problems
    assert problems[0].startswith("tox.ini: the backend-envs block differs") and catalogue.COMMAND in problems[0]
    assert problems[1].startswith("README.md: ") and "backend-table:end" in problems[1]
    readme.write_text(readme.read_text().replace("<!-- backend-table:start", "<!-- backend-table:end -->\n"
                                                 "<!-- backend-table:start"))  # markers out of order
    with pytest.raises(ValueError, match="README.md: no <!-- backend-table:start"):
        catalogue.write(tmp_path)


def test_write_mends_a_stale_block(tmp_path):
    for block in catalogue.BLOCKS:
        (tmp_path / block.file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / block.file, tmp_path / block.file)
    workflow = tmp_path / ".github/workflows/conformance.yml"
    workflow.write_text(workflow.read_text().replace(", tf-keras,", ",", 1))
    assert catalogue.write(tmp_path) == [".github/workflows/conformance.yml"]
    assert catalogue.stale(tmp_path) == []
    assert workflow.read_text() == (ROOT / ".github/workflows/conformance.yml").read_text()


def _declared(name, pins, **kwargs):
    return Declaration(name=name, framework=name, display=name, order=1, seconds_per_item=1.0,
                       pins=pins, pinned_release="1", **kwargs)


def test_pins_are_exact_and_agree_across_backends():
    catalogue.check_pins(DECLARED)
    with pytest.raises(ValueError, match="'b' pins 'Keras==3.1.0' but 'a' pins 'keras==3.15.1'"):
        catalogue.check_pins([_declared("a", ("keras==3.15.1",)), _declared("b", ("Keras==3.1.0",))])
    catalogue.check_pins([_declared("a", ("keras==3.15.1",)), _declared("b", ("keras==3.15.1",))])
    with pytest.raises(ValueError, match="'a'.*'keras>=3' is not an exact pin"):
        catalogue.check_pins([_declared("a", ("keras>=3",))])
    with pytest.raises(ValueError, match="no_deps needs no_deps_why"):
        _declared("a", ("x==1",), no_deps=("y==1",))


def test_workflow_matrix_holds_the_framework_backends():
    wf = yaml.safe_load((ROOT / ".github/workflows/conformance.yml").read_text())
    jobs = wf["jobs"]
    job = jobs["backend"]
    assert job["strategy"]["fail-fast"] is False
    assert job["strategy"]["matrix"]["backend"] == NAMES
    assert FRAMEWORKS < set(NAMES)
    assert any("tox -e ${{ matrix.backend }}" in s.get("run", "") for s in job["steps"])
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in job["steps"])
    steps = [s for j in jobs.values() for s in j["steps"]]
    assert any("python -m conformance report" in s.get("run", "") for s in steps)
    assert any(s.get("uses", "").startswith("actions/download-artifact") for s in steps)
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in steps)


def test_tox_env_list():
    envs = [e.strip() for e in _tox()["tox"]["env_list"].replace("\n", ",").split(",")]
    assert [e for e in envs if e] == ENVS


@pytest.mark.parametrize("declared", DECLARED, ids=NAMES)
def test_tox_backend_envs_pin_only_their_framework(declared):
    cfg = _tox()
    deps = cfg.get(f"testenv:{declared.name}", "deps", fallback="").split()
    assert sorted(deps) == sorted(declared.pins)
    commands_pre = cfg.get(f"testenv:{declared.name}", "commands_pre", fallback="")
    if declared.no_deps:
        assert f"--no-deps {' '.join(declared.no_deps)}" in commands_pre
        assert "{[testenv]commands_pre}" in commands_pre  # the results folder is still made
    else:
        assert not commands_pre
    assert "--backend {envname}" in cfg["testenv"]["commands"]
    assert "--json {toxworkdir}/results/{envname}.json" in cfg["testenv"]["commands"]


def test_the_extras_and_the_makefile_install_every_pin():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for d in DECLARED:
        assert extras.get(d.name, []) == list(d.pins), d.name
        assert set(d.pins) <= set(extras["all"]), d.name
    makefile = (ROOT / "Makefile").read_text()
    assert '-m pip install --quiet -e ".[all,dev]"' in makefile
    for d in DECLARED:
        for requirement in d.no_deps:
            assert f"--no-deps {requirement}" in makefile, d.name


def test_a_group_extra_installs_every_pin_of_its_backends():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    groups = {d.group for d in DECLARED if d.group}
    assert "export" in groups  # pip install '.[export]': the exported columns, part of [all]
    for group in groups:
        members = [d for d in DECLARED if d.group == group]
        assert {d.name for d in members} >= {"torch-onnx", "keras-tensorflow-onnx", "keras-tensorflow-litert"} \
            or group != "export"
        assert extras[group] == list(dict.fromkeys(p for d in members for p in d.pins)), group
        assert set(extras[group]) <= set(extras["all"]), group


def test_tox_report_depends_on_every_backend():
    depends = _tox()["testenv:report"]["depends"].replace(",", " ").split()
    assert depends == NAMES


# -- other releases: tox envs on demand, the weekly nightly canary ------------------------------------
RELEASE_ENVS = {  # tox env -> (backend, release its adapter declares for the sweep)
    "keras-tensorflow-3.0": ("keras-tensorflow", "3.0"),
    "keras-nightly": ("keras-jax", "nightly"),
    "tf-nightly": ("keras-tensorflow", "nightly"),
}


def test_release_envs_run_their_backend_into_a_release_named_results_file():
    cfg = _tox()
    envs = [e.strip() for e in cfg["tox"]["env_list"].replace("\n", ",").split(",")]
    for env, (backend, release) in RELEASE_ENVS.items():
        assert env not in envs  # on demand: `tox` alone runs the pinned releases only
        commands = cfg[f"testenv:{env}"]["commands"]
        assert f"--backend {backend} " in commands
        assert f"--json {{toxworkdir}}/results/{backend}@{release}.json" in commands


def test_release_envs_install_what_the_sweep_installs():
    from conformance.tools import sweep

    cfg = _tox()
    targets = {(t.backend, t.release): t for t in sweep.load()}
    for env, key in RELEASE_ENVS.items():
        deps = set(cfg[f"testenv:{env}"]["deps"].split())
        assert set(targets[key].requirements) <= deps, env
        if cfg.getboolean(f"testenv:{env}", "skip_install", fallback=False):
            # the project (and its numpy 2 pin) is not installed: the suite's own deps are listed
            assert set(sweep.SUITE_DEPS) - {"numpy"} <= deps, env


def test_weekly_nightly_canary_is_non_blocking_and_feeds_the_report():
    wf = yaml.safe_load((ROOT / ".github/workflows/conformance.yml").read_text())
    jobs = wf["jobs"]
    canary = jobs["nightly"]
    assert canary["continue-on-error"] is True
    assert "schedule" in canary["if"]
    assert any("cron" in entry for entry in wf[True]["schedule"])  # YAML reads the key `on` as True
    assert set(canary["strategy"]["matrix"]["env"]) == {"keras-nightly", "tf-nightly"}
    assert any("tox -e ${{ matrix.env }}" in s.get("run", "") for s in canary["steps"])
    upload = next(s for s in canary["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["name"].startswith("results-")  # the report job downloads results-*
    assert upload["if"] == "${{ !cancelled() }}"
    report = jobs["report"]
    assert "nightly" in report["needs"] and report["if"] == "${{ !cancelled() }}"


def test_the_weekly_run_draws_with_the_thorough_profile():
    wf = yaml.safe_load((ROOT / ".github/workflows/conformance.yml").read_text())
    assert "schedule" in wf[True]  # PyYAML reads the key "on" as True
    (step,) = [s for j in wf["jobs"].values() for s in j.get("steps", [])
               if "tox -e ${{ matrix.backend }}" in s.get("run", "")]
    assert "--hypothesis-profile ${{ github.event_name == 'schedule' && 'thorough' || 'ci' }}" in step["run"]
    assert "{posargs}" in _tox()["testenv"]["commands"]


def test_the_weekly_run_runs_the_frameworks_with_their_own_defaults():
    """Users run XLA at its default optimisation: the weekly thorough run drops the -O0 speed
    setting (--framework-defaults); pushes keep it."""
    wf = yaml.safe_load((ROOT / ".github/workflows/conformance.yml").read_text())
    (step,) = [s for j in wf["jobs"].values() for s in j.get("steps", [])
               if "tox -e ${{ matrix.backend }}" in s.get("run", "")]
    assert "${{ github.event_name == 'schedule' && ' --framework-defaults' || '' }}" in step["run"]
    assert step["run"].count("--framework-defaults") == 1
