"""The CI workflow and tox.ini stay in line with the backends the suite knows."""
import configparser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = {"keras-tensorflow", "keras-jax", "keras-torch", "tf-keras", "torch"}
ENVS = ["reference", "keras-tensorflow", "keras-jax", "keras-torch", "tf-keras", "torch",
        "report", "tests", "lint"]


def _tox():
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tox.ini")
    return cfg


def test_workflow_matrix_holds_the_framework_backends():
    wf = yaml.safe_load((ROOT / ".github/workflows/conformance.yml").read_text())
    jobs = wf["jobs"]
    job = jobs["backend"]
    assert job["strategy"]["fail-fast"] is False
    assert FRAMEWORKS <= set(job["strategy"]["matrix"]["backend"])
    assert any("tox -e ${{ matrix.backend }}" in s.get("run", "") for s in job["steps"])
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in job["steps"])
    steps = [s for j in jobs.values() for s in j["steps"]]
    assert any("python -m conformance report" in s.get("run", "") for s in steps)
    assert any(s.get("uses", "").startswith("actions/download-artifact") for s in steps)
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in steps)


def test_tox_env_list():
    envs = [e.strip() for e in _tox()["tox"]["env_list"].replace("\n", ",").split(",")]
    assert [e for e in envs if e] == ENVS


def test_tox_backend_envs_pin_only_their_framework():
    cfg = _tox()
    deps = {e: cfg.get(f"testenv:{e}", "deps", fallback="").split() for e in ENVS[:6]}
    assert deps["reference"] == []
    assert sorted(deps["keras-tensorflow"]) == ["keras==3.15.1", "tensorflow-cpu==2.21.0"]
    assert sorted(deps["keras-jax"]) == ["jax==0.10.2", "jaxlib==0.10.2", "keras==3.15.1"]
    assert sorted(deps["keras-torch"]) == ["keras==3.15.1", "torch==2.13.0"]
    assert deps["tf-keras"] == ["tensorflow-cpu==2.21.0"]
    assert "--no-deps tf-keras==2.21.0" in cfg["testenv:tf-keras"]["commands_pre"]
    assert deps["torch"] == ["torch==2.13.0"]
    assert "--backend {envname}" in cfg["testenv"]["commands"]
    assert "--json {toxworkdir}/results/{envname}.json" in cfg["testenv"]["commands"]


def test_tox_report_depends_on_every_backend():
    depends = _tox()["testenv:report"]["depends"].replace(",", " ").split()
    assert sorted(depends) == sorted(ENVS[:6])


# -- other releases: tox envs on demand, the weekly nightly canary ------------------------------------
RELEASE_ENVS = {  # tox env -> (backend, release in conformance/releases.yaml)
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
