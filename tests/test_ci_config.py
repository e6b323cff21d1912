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
    matrix_jobs = [j for j in jobs.values() if "matrix" in j.get("strategy", {})]
    (job,) = matrix_jobs
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


def test_the_weekly_run_draws_with_the_thorough_profile():
    wf = yaml.safe_load((ROOT / ".github/workflows/conformance.yml").read_text())
    assert "schedule" in wf[True]  # PyYAML reads the key "on" as True
    (job,) = [j for j in wf["jobs"].values() if "matrix" in j.get("strategy", {})]
    (step,) = [s for s in job["steps"] if "tox -e ${{ matrix.backend }}" in s.get("run", "")]
    assert "--hypothesis-profile ${{ github.event_name == 'schedule' && 'thorough' || 'ci' }}" in step["run"]
    assert "{posargs}" in _tox()["testenv"]["commands"]
