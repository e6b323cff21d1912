"""The release sweep (conformance/tools/sweep.py) with a fake pip and venv: no network, no framework.

The fake runner records every command; "pip install" of a requirement named in ``refuse`` fails the
way pip does, and "pytest" writes a small results file as the plugin would.
"""
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import backends
from conformance.__main__ import main
from conformance.tools import sweep

ROOT = Path(__file__).resolve().parent.parent

RELEASES = """\
backends:
  keras-jax:
    - {release: "3.0", role: oldest, requirements: [keras==3.0.5, jax==0.4.23, numpy<2]}
    - {release: "3.15", role: pinned, requirements: [keras==3.15.1, jax==0.10.2]}
    - {release: nightly, role: nightly, pre: true, requirements: [keras-nightly, jax==0.10.2]}
  tf-keras:
    - {release: "2.21", role: pinned, requirements: [tensorflow-cpu==2.21.0], no_deps: [tf-keras==2.21.0]}
"""


class FakeRunner:
    def __init__(self, refuse=(), pytest_exit=0, timeout_on=None, unimportable=False):
        self.calls, self.refuse, self.pytest_exit, self.timeout_on = [], set(refuse), pytest_exit, timeout_on
        self.unimportable = unimportable  # the framework installs but does not import: every clause skips

    def __call__(self, cmd, *, timeout, env=None, cwd=None):
        self.calls.append(cmd)
        if self.timeout_on and self.timeout_on in cmd:
            raise subprocess.TimeoutExpired(cmd, timeout)
        if cmd[1:3] == ["-m", "venv"]:
            Path(cmd[-1]).mkdir(parents=True, exist_ok=True)
            return subprocess.CompletedProcess(cmd, 0, "", "")
        if cmd[1:4] == ["-m", "pip", "install"]:
            refused = [r for r in cmd if r in self.refuse]
            if refused:
                err = (f"ERROR: Could not find a version that satisfies the requirement {refused[0]}\n"
                       f"ERROR: No matching distribution found for {refused[0]}\n")
                return subprocess.CompletedProcess(cmd, 1, "Collecting things\n", err)
            return subprocess.CompletedProcess(cmd, 0, "Successfully installed\n", "")
        if cmd[1:3] == ["-m", "pytest"]:
            out = Path(cmd[cmd.index("--json") + 1])
            backend = cmd[cmd.index("--backend") + 1]
            if self.unimportable:
                out.write_text(json.dumps({
                    "backends": {backend: {"framework": "keras", "version": None, "available": False,
                                           "reason": "not installed: jax"}},
                    "results": [{"status": "skip", "known": False, "level": "normative"}] * 3}))
                return subprocess.CompletedProcess(cmd, 0, "3 skipped\n", "")
            out.write_text(json.dumps({
                "backends": {backend: {"framework": "keras", "version": "3.0.5", "release": f"{backend}@3.0.5"}},
                "results": [{"status": "conform", "known": False, "level": "normative"},
                            {"status": "diverge", "known": True, "level": "normative"},
                            {"status": "diverge", "known": True, "level": "normative"},
                            {"status": "diverge", "known": False, "level": "normative"},
                            {"status": "diverge", "known": False, "level": "characterization", "agrees": False}]}))
            return subprocess.CompletedProcess(cmd, self.pytest_exit, "3 passed\n", "")
        raise AssertionError(f"unexpected command {cmd}")


@pytest.fixture
def releases(tmp_path):
    path = tmp_path / "releases.yaml"
    path.write_text(RELEASES)
    return path


def _sweep(tmp_path, releases, runner, monkeypatch, *args):
    monkeypatch.setattr(sweep, "_run", runner)
    code = main(["sweep", "--releases-file", str(releases), "--cache", str(tmp_path / "cache"),
                 "--output", str(tmp_path / "out"), "--python", "python3.11", *args])
    summary = tmp_path / "out" / "sweep.json"
    return code, (json.loads(summary.read_text()) if summary.exists() else None)


# -- the plan ----------------------------------------------------------------------------------------
def test_every_framework_backend_declares_its_oldest_and_pinned_release():
    targets = sweep.load()
    frameworks = [d.name for d in backends.catalogue() if d.requires]  # all but the reference
    assert frameworks and {t.backend for t in targets} == set(frameworks)
    # an exported column (Declaration group "export") sweeps its pinned release only, so far: its
    # exporter and runtime releases are not yet a matrix of their own (issue 19, left open)
    exported = {d.name for d in backends.catalogue() if d.group == "export"}
    assert exported == {"torch-onnx", "keras-tensorflow-onnx", "keras-tensorflow-litert"}
    for backend in frameworks:
        roles = {t.role for t in targets if t.backend == backend}
        assert ({"pinned"} if backend in exported else {"oldest", "pinned"}) <= roles, backend
    nightlies = {t.backend: t for t in targets if t.role == "nightly"}
    assert "keras-nightly" in nightlies["keras-tensorflow"].requirements
    assert "tf-nightly-cpu" in nightlies["keras-tensorflow"].requirements
    assert not any(t.pre for t in nightlies.values())  # pip takes a nightly without --pre


def test_the_pinned_releases_are_the_pins_of_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    for target in sweep.load():
        if target.role == "pinned":
            for requirement in target.requirements + target.no_deps:
                assert f'"{requirement}"' in text or requirement.startswith("tf-keras=="), (target.label, requirement)


def test_select_by_backend_and_by_release_or_role(releases):
    targets = sweep.load(releases)
    assert [t.label for t in sweep.select(targets, ["keras-jax"], ["oldest", "nightly"])] == [
        "keras-jax@3.0", "keras-jax@nightly"]
    assert [t.label for t in sweep.select(targets, (), ["2.21"])] == ["tf-keras@2.21"]
    with pytest.raises(sweep.SweepError, match="'torch'"):
        sweep.select(targets, ["torch"])
    with pytest.raises(sweep.SweepError, match="9.9"):
        sweep.select(targets, ["keras-jax"], ["9.9"])


def test_a_malformed_releases_file_names_file_and_entry(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("backends:\n  keras-jax:\n    - {release: '3.0', role: oldest}\n")
    with pytest.raises(sweep.SweepError, match=r"bad.yaml: keras-jax #1: .*requirements"):
        sweep.load(bad)
    bad.write_text("backends:\n  keras-jax:\n    - {release: '3.0', role: ancient, requirements: [keras]}\n")
    with pytest.raises(sweep.SweepError, match="role"):
        sweep.load(bad)


def test_list_prints_the_plan_and_runs_nothing(tmp_path, releases, monkeypatch, capsys):
    runner = FakeRunner()
    code, summary = _sweep(tmp_path, releases, runner, monkeypatch, "--list")
    out = capsys.readouterr().out
    assert code == 0 and runner.calls == [] and summary is None
    assert "| keras-jax | nightly | nightly (pre) | keras-nightly jax==0.10.2 |" in out
    assert "(--no-deps tf-keras==2.21.0)" in out


def test_dry_run_prints_every_command_and_runs_nothing(tmp_path, releases, monkeypatch, capsys):
    runner = FakeRunner()
    code, summary = _sweep(tmp_path, releases, runner, monkeypatch, "--dry-run", "--backend", "tf-keras")
    out = capsys.readouterr().out
    assert code == 0 and runner.calls == [] and summary is None
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()
    assert "python3.11 -m venv --clear" in out and "tf-keras@2.21" in out
    assert "--no-deps tf-keras==2.21.0" in out
    assert f"--backend tf-keras --json {tmp_path / 'out' / 'tf-keras@2.21.json'}" in out


# -- running -----------------------------------------------------------------------------------------
def test_each_release_gets_its_own_venv_install_and_run(tmp_path, releases, monkeypatch):
    runner = FakeRunner()
    code, summary = _sweep(tmp_path, releases, runner, monkeypatch)
    assert code == 0
    venvs = [c[-1] for c in runner.calls if c[1:3] == ["-m", "venv"]]
    assert venvs == [str(tmp_path / "cache" / "venvs" / label) for label in
                     ("keras-jax@3.0", "keras-jax@3.15", "keras-jax@nightly", "tf-keras@2.21")]
    installs = [c for c in runner.calls if c[1:4] == ["-m", "pip", "install"]]
    oldest = installs[0]
    assert oldest[0] == str(tmp_path / "cache" / "venvs" / "keras-jax@3.0" / "bin" / "python")
    assert {"keras==3.0.5", "jax==0.4.23", "numpy<2", "pytest", "scipy"} <= set(oldest)
    assert "--pre" not in oldest and "--pre" in installs[2]  # the nightly
    assert installs[-1][-2:] == ["--no-deps", "tf-keras==2.21.0"]
    runs = [c for c in runner.calls if c[1:3] == ["-m", "pytest"]]
    assert runs[0][-4:] == ["--backend", "keras-jax", "--json", str(tmp_path / "out" / "keras-jax@3.0.json")]
    rows = {(r["backend"], r["release"]): r for r in summary["releases"]}
    assert rows["keras-jax", "3.0"]["status"] == "ran"
    assert rows["keras-jax", "3.0"]["counts"] == {"conform": 1, "diverge (known)": 2, "DIVERGE (new)": 1,
                                                  "characterized (differs from reference)": 1}
    assert rows["keras-jax", "3.0"]["installed"]["release"] == "keras-jax@3.0.5"
    assert rows["keras-jax", "3.0"]["results"] == str(tmp_path / "out" / "keras-jax@3.0.json")


def test_what_cannot_be_installed_is_recorded_with_pips_reason_and_the_sweep_goes_on(
        tmp_path, releases, monkeypatch):
    runner = FakeRunner(refuse={"keras-nightly"})
    code, summary = _sweep(tmp_path, releases, runner, monkeypatch, "--backend", "keras-jax")
    assert code == 0  # a release this machine cannot install is a finding, not a failure
    rows = {r["release"]: r for r in summary["releases"]}
    assert rows["nightly"]["status"] == "not-installed"
    assert "No matching distribution found for keras-nightly" in rows["nightly"]["reason"]
    assert rows["nightly"]["reason"].startswith("install:")
    assert rows["nightly"]["results"] is None
    assert rows["3.0"]["status"] == rows["3.15"]["status"] == "ran"
    ran = [c[c.index("--json") + 1] for c in runner.calls if c[1:3] == ["-m", "pytest"]]
    assert [Path(p).name for p in ran] == ["keras-jax@3.0.json", "keras-jax@3.15.json"]  # not the nightly


def test_a_hanging_install_is_recorded_as_not_installed(tmp_path, releases, monkeypatch):
    runner = FakeRunner(timeout_on="tensorflow-cpu==2.21.0")
    code, summary = _sweep(tmp_path, releases, runner, monkeypatch, "--backend", "tf-keras")
    (row,) = summary["releases"]
    assert code == 0 and row["status"] == "not-installed" and "no answer within" in row["reason"]


def test_a_crashed_run_fails_the_sweep_and_new_divergences_do_not(tmp_path, releases, monkeypatch):
    code, summary = _sweep(tmp_path, releases, FakeRunner(pytest_exit=1), monkeypatch, "--release", "3.15")
    assert code == 0 and summary["releases"][0]["status"] == "ran" and summary["releases"][0]["exit_code"] == 1
    code, summary = _sweep(tmp_path, releases, FakeRunner(pytest_exit=3), monkeypatch, "--release", "3.15")
    assert code == 1 and summary["releases"][0]["status"] == "failed"
    assert "pytest exit code 3" in summary["releases"][0]["reason"]


def test_a_built_environment_is_reused_while_its_requirements_stay(tmp_path, releases, monkeypatch):
    first = FakeRunner()
    _sweep(tmp_path, releases, first, monkeypatch, "--release", "3.15")
    again = FakeRunner()
    _sweep(tmp_path, releases, again, monkeypatch, "--release", "3.15")
    assert [c[1:3] for c in again.calls] == [["-m", "pytest"]]  # no venv, no pip
    changed = tmp_path / "changed.yaml"
    pinned = "jax==0.10.2]}\n    - {release: nightly"
    changed.write_text(RELEASES.replace(pinned, pinned.replace("0.10.2", "0.10.1")))
    rebuilt = FakeRunner()
    _sweep(tmp_path, changed, rebuilt, monkeypatch, "--release", "3.15")
    assert ["-m", "venv"] in [c[1:3] for c in rebuilt.calls]


def test_an_unknown_backend_is_a_usage_error(tmp_path, releases, monkeypatch, capsys):
    code, _ = _sweep(tmp_path, releases, FakeRunner(), monkeypatch, "--backend", "mxnet")
    assert code == 2 and "'mxnet'" in capsys.readouterr().err


def test_the_sweep_directory_is_ignored_by_git():
    proc = subprocess.run(["git", "check-ignore", "-q", ".sweep/venvs/x/bin/python"], cwd=ROOT)
    assert proc.returncode == 0


def test_sweep_is_a_subcommand():
    proc = subprocess.run([sys.executable, "-m", "conformance", "sweep", "--list", "--backend", "torch"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "| torch | 2.13 | pinned | torch==2.13.0 |" in proc.stdout


# -- issue 20: the sweep touches only what it owns, and reads its releases strictly ----------------------
@pytest.mark.parametrize("entry, message", [
    # "../.." made venv --clear empty a folder outside the cache, exit 0
    ("{release: ../../victim, role: oldest, requirements: [keras]}", "release '../../victim' must be a plain name"),
    ("{release: a/b, role: oldest, requirements: [keras]}", "must be a plain name"),
    ("{release: '..', role: oldest, requirements: [keras]}", "must be a plain name"),
    ("{release: 3.10, role: oldest, requirements: [keras]}", "release 3.1 must be text: quote it"),
    ("{release: '3.0', role: oldest, requirements: keras==3.0.5}", "requirements must be a list of pip requirements"),
    ("{release: '3.0', role: oldest, requirements: [keras], no_deps: tf-keras}", "no_deps must be a list"),
    ("{release: '3.0', role: oldest, requirements: [keras, 5]}", "requirements must be a list"),
    ("{release: '3.0', role: oldest, requirements: [keras], pre: 'false'}", "pre must be true or false, not 'false'"),
])
def test_a_bad_release_is_refused_in_one_line_naming_file_and_entry(tmp_path, monkeypatch, capsys, entry, message):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    bad = tmp_path / "cache" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text(f"backends:\n  keras-jax:\n    - {entry}\n")
    runner = FakeRunner()
    code, summary = _sweep(tmp_path, bad, runner, monkeypatch)
    err = capsys.readouterr().err.strip()
    assert code == 2 and runner.calls == [] and summary is None
    assert err.startswith(f"error: {bad}: keras-jax #1: ") and message in err and "\n" not in err, err
    assert (victim / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("text, message", [
    ("backends:\n  keras-jax: 5\n", "keras-jax: a list of releases, not 5"),
    ("backends:\n  keras-jax:\n    - {release: '3.10', role: oldest, requirements: [k]}\n"
     "    - {release: '3.10', role: middle, requirements: [k]}\n", "keras-jax@3.10 listed twice"),
])
def test_a_malformed_releases_list_is_one_line(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(sweep.SweepError, match=message):
        sweep.load(bad)


def test_a_declared_release_is_checked_too():
    # a third-party adapter declares releases too (backends/base.py Release): the sweep checks each
    with pytest.raises(sweep.SweepError, match="must be a plain name"):
        sweep.Target("keras-jax", "../x", "oldest", ("keras",))
    with pytest.raises(sweep.SweepError, match="requirements must be a list"):
        sweep.Target("keras-jax", "3.0", "oldest", "keras==3.0.5")
    assert sweep.Target("keras-jax", "3.0", "oldest", ["keras"]).requirements == ("keras",)


def test_a_path_that_leaves_the_cache_is_refused(tmp_path):
    cache = tmp_path / "cache"
    (cache / "venvs").mkdir(parents=True)
    (cache / "venvs" / "keras-jax@3.0").symlink_to(tmp_path)  # a link planted in the cache
    target = sweep.Target("keras-jax", "3.0", "oldest", ("keras",))
    with pytest.raises(sweep.SweepError, match="is not inside"):
        sweep.run_target(target, cache, tmp_path / "out", "python3")


def test_a_framework_that_does_not_import_fails_the_sweep(tmp_path, releases, monkeypatch):
    # it was "ran {'skip': N}", exit 0
    code, summary = _sweep(tmp_path, releases, FakeRunner(unimportable=True), monkeypatch, "--release", "3.15")
    line = summary["releases"][0]
    assert code == 1 and line["status"] == "failed"
    assert line["reason"] == "keras-jax is not available in its environment: not installed: jax"


def test_jobs_run_releases_at_once_with_a_progress_line_each(tmp_path, releases, monkeypatch, capsys):
    runner, both = FakeRunner(), threading.Barrier(2, timeout=20)

    def at_once(cmd, **kwargs):
        if cmd[1:3] == ["-m", "pytest"] and Path(cmd[-1]).name in ("keras-jax@3.0.json", "keras-jax@3.15.json"):
            both.wait()  # the first two releases run together, or this breaks (one at a time)
        return runner(cmd, **kwargs)

    code, summary = _sweep(tmp_path, releases, at_once, monkeypatch, "--jobs", "2")
    assert code == 0 and not both.broken
    assert [(r["backend"], r["release"]) for r in summary["releases"]] == [  # the plan's order
        ("keras-jax", "3.0"), ("keras-jax", "3.15"), ("keras-jax", "nightly"), ("tf-keras", "2.21")]
    out = capsys.readouterr().out
    ended = [line for line in out.splitlines() if line.startswith("[")]
    assert sorted(line.split("]")[0] for line in ended) == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert {line.split()[1] for line in ended} == {"keras-jax@3.0:", "keras-jax@3.15:", "keras-jax@nightly:",
                                                    "tf-keras@2.21:"}


def test_jobs_below_one_is_a_usage_error(tmp_path, releases, monkeypatch, capsys):
    code, _ = _sweep(tmp_path, releases, FakeRunner(), monkeypatch, "--jobs", "0")
    assert code == 2 and "--jobs 0" in capsys.readouterr().err
