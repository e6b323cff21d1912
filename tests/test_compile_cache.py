"""The frameworks' caches of compiled programs (conformance/running/compile_cache.py,
``--compile-cache``): a folder per release and compiler flags, and the same records with or without."""
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends import _xla_flags
from backends.base import CompileCache
from conformance.running import adapters, compile_cache
from conformance.running.compile_cache import Setting

ROOT = Path(__file__).resolve().parent.parent
JAX = adapters.builtins()["keras-jax"]


def _installed(versions: dict):
    """importlib.metadata.version as if these distributions had these versions."""
    def version(name):
        if name in versions:
            return versions[name]
        raise importlib.metadata.PackageNotFoundError(name)
    return version


def test_keras_on_jax_declares_jax_persistent_cache_keyed_by_its_versions_and_xla_flags():
    cache = JAX.compile_cache
    assert cache.folder_env == "JAX_COMPILATION_CACHE_DIR"
    assert set(cache.distributions) == {"keras", "jax", "jaxlib"} and cache.key_env == ("XLA_FLAGS",)
    for name in ("keras-tensorflow", "keras-torch", "tf-keras", "torch", "reference"):
        assert adapters.builtins()[name].compile_cache is None  # nothing compiled a cache could keep


@pytest.mark.parametrize("changed", ["keras", "jax", "jaxlib"])
def test_another_release_of_any_keyed_distribution_gets_another_folder(monkeypatch, tmp_path, changed):
    pinned = {"keras": "3.15.1", "jax": "0.10.2", "jaxlib": "0.10.2"}
    environ = {"XLA_FLAGS": "--xla_backend_optimization_level=0"}
    monkeypatch.setattr(importlib.metadata, "version", _installed(pinned))
    before = compile_cache.folder(JAX, tmp_path, environ)
    monkeypatch.setattr(importlib.metadata, "version", _installed({**pinned, changed: "0.4.38"}))
    after = compile_cache.folder(JAX, tmp_path, environ)
    assert before != after and before.parent == after.parent == tmp_path / "keras-jax"
    assert f"{changed}-0.4.38" in after.name and f"{changed}-0.4.38" not in before.name
    monkeypatch.setattr(importlib.metadata, "version", _installed(pinned))
    assert compile_cache.folder(JAX, tmp_path, environ) == before  # the same release finds its own


def test_other_xla_flags_get_another_folder(tmp_path):
    o0 = compile_cache.folder(JAX, tmp_path, {"XLA_FLAGS": "--xla_backend_optimization_level=0"})
    default = compile_cache.folder(JAX, tmp_path, {"XLA_FLAGS": ""})
    unset = compile_cache.folder(JAX, tmp_path, {})
    assert o0 != default and default == unset


def test_a_distribution_not_installed_keys_as_none(monkeypatch, tmp_path):
    monkeypatch.setattr(importlib.metadata, "version", _installed({"keras": "3.15.1", "jax": "0.10.2"}))
    assert "jaxlib-none" in compile_cache.folder(JAX, tmp_path, {}).name


def test_the_worker_environment_names_the_folder_and_makes_every_program_count(tmp_path, monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    env = compile_cache.env(JAX, tmp_path)
    folder = Path(env["JAX_COMPILATION_CACHE_DIR"])
    assert folder.is_dir() and folder.parent == tmp_path / "keras-jax"
    # the key is that of the worker's environment: the declaration's -O0 default, the caller's unset
    assert folder == compile_cache.folder(JAX, tmp_path, {"XLA_FLAGS": JAX.env_defaults["XLA_FLAGS"]})
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    monkeypatch.setenv("XLA_FLAGS", "")
    assert Path(compile_cache.env(JAX, tmp_path)["JAX_COMPILATION_CACHE_DIR"]) != folder  # the caller's win
    assert compile_cache.env(JAX, None) == {} and compile_cache.env(adapters.builtins()["torch"], tmp_path) == {}


def test_settings_that_need_a_module_come_only_with_it(tmp_path, monkeypatch):
    class Fake:
        name, env, env_defaults = "fake", {}, {}
        compile_cache = CompileCache("FAKE_DIR", ("numpy",), settings={"A": "1"},
                                     settings_with={"no_such_module_xyz": {"B": "2"}, "json": {"C": "3"}})
    env = compile_cache.env(Fake, tmp_path)
    assert env["A"] == "1" and env["C"] == "3" and "B" not in env


def test_a_cache_needs_distributions_to_key_it():
    with pytest.raises(ValueError, match="FAKE_DIR"):
        CompileCache("FAKE_DIR", ())


def test_clear_removes_the_backends_folders_only(tmp_path):
    (tmp_path / "keras-jax" / "k").mkdir(parents=True)
    (tmp_path / "keras-jax" / "k" / "entry-cache").write_bytes(b"x")
    (tmp_path / "mine.txt").write_text("the caller's own")
    assert compile_cache.clear(tmp_path, [JAX, adapters.builtins()["torch"]]) == [tmp_path / "keras-jax"]
    assert not (tmp_path / "keras-jax").exists() and (tmp_path / "mine.txt").exists()


def test_the_option_reads_on_off_clear_and_a_folder(tmp_path):
    assert Setting.parse("off") == Setting(None)
    assert Setting.parse("on") == Setting(compile_cache.default_root())
    assert Setting.parse("clear") == Setting(compile_cache.default_root(), clear=True)
    assert Setting.parse(str(tmp_path)) == Setting(tmp_path)
    assert compile_cache.default_root() == ROOT / ".cache" / "compile"  # a source tree keeps it inside
    with pytest.raises(ValueError, match="--compile-cache"):
        Setting.parse(" ")


def test_an_empty_option_is_a_usage_error_naming_it():
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "--backend", "reference",
                           "--compile-cache", "", "--collect-only", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 4 and "--compile-cache" in proc.stderr


CLAUSES = "lookup.output-is-float32 or ctor.input-length-accepted or rnn.lstm-takes-embedding-directly"


def _run(tmp_path, name, cache, *more, xla_flags=None) -> tuple[Path, str]:
    out = tmp_path / f"{name}.json"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # the adapter's default
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags  # the caller's, which wins
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "--backend", "keras-jax", "-k", CLAUSES,
                           "--compile-cache", cache, "--json", str(out), *more],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    assert out.exists() or "--collect-only" in more, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out, proc.stdout


def test_the_header_says_when_the_cache_is_off(tmp_path):
    _, out = _run(tmp_path, "off", "off", "--collect-only")
    assert "compile cache: off" in out and "JAX_COMPILATION_CACHE_DIR" not in out


@pytest.mark.slow
def test_records_are_the_same_whether_compiled_anew_or_read_from_the_cache(tmp_path):
    """A cold cache compiles every program (as a run without the cache does); a warm one
    compiles none: what the worker runs then was read from disk."""
    if any(importlib.util.find_spec(m) is None for m in JAX.requires):
        pytest.skip("keras-jax is not installed")
    cache = tmp_path / "cache"
    cold, cold_out = _run(tmp_path, "cold", str(cache))
    entries = [f for f in (cache / "keras-jax").rglob("*-cache")]
    assert entries, "the cold run kept no compiled program"
    warm, warm_out = _run(tmp_path, "warm", str(cache))
    assert f"compile cache: keras-jax: {cache / 'keras-jax'}" in cold_out and "(0 files" in cold_out
    warm_header = [line for line in warm_out.splitlines() if line.startswith("compile cache: keras-jax")]
    assert warm_header and "(0 files" not in warm_header[0]
    assert sorted(f.name for f in (cache / "keras-jax").rglob("*-cache")) == sorted(f.name for f in entries)
    assert len(json.loads(cold.read_text())["results"]) == 3
    same = subprocess.run([sys.executable, "-m", "conformance", "same", str(cold), str(warm)],
                          cwd=ROOT, capture_output=True, text=True)
    assert same.returncode == 0, same.stdout + same.stderr
    # the flags beside -O0 are code generation only: with -O0 alone, the records are the same
    # (against XLA's default optimisation a float may move in its last place: backends/_xla_flags.py)
    o0, _ = _run(tmp_path, "o0", str(cache), xla_flags=_xla_flags.O0)
    same = subprocess.run([sys.executable, "-m", "conformance", "same", str(cold), str(o0)],
                          cwd=ROOT, capture_output=True, text=True)
    assert same.returncode == 0, same.stdout + same.stderr


def test_xla_gets_only_the_flags_its_release_was_checked_to_know():
    """XLA aborts a process on a flag it does not know: jaxlib 0.4.23 knows none of the newer
    two, 0.4.38 the split count but not the emitters flag (both aborted with it, checked in a venv
    of their own), and a release after the checked ones gets -O0 alone."""
    o0, split, emitters = ("--xla_backend_optimization_level=0", "--xla_cpu_parallel_codegen_split_count=1",
                           "--xla_cpu_use_fusion_emitters=false")
    assert _xla_flags.fast_flags("0.10.2").split() == [o0, split, emitters]
    assert _xla_flags.fast_flags("0.4.38").split() == [o0, split]
    assert _xla_flags.fast_flags("0.4.23").split() == [o0]
    for unchecked in ("0.11.0", "0.11.0.dev20270101", "1.0", None, "not a version"):
        assert _xla_flags.fast_flags(unchecked) == o0, unchecked
    assert _xla_flags.release("0.10.2rc1") == (0, 10, 2) and _xla_flags.release("0.10") == (0, 10, 0)


def test_the_pinned_jaxlib_is_one_the_speed_flags_were_checked_on():
    """A new jaxlib pin must be checked (the flags run, the records stay the same) and
    CHECKED_THROUGH moved, or its runs lose the faster compile without a word."""
    from backends.keras3 import KerasJax

    (pin,) = [p for p in KerasJax.declaration.pins if p.startswith("jaxlib==")]
    assert _xla_flags.release(pin.split("==")[1])[:2] <= _xla_flags.CHECKED_THROUGH, pin


def test_framework_defaults_drop_the_speed_settings_and_key_their_own_folder(tmp_path, monkeypatch):
    from conformance.running.session import Session

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    fast = Session({"keras-jax": JAX}, {}, 60.0, compile_root=tmp_path)
    users = Session({"keras-jax": JAX}, {}, 60.0, compile_root=tmp_path, framework_defaults=True)
    assert fast.env_defaults("keras-jax") == {"XLA_FLAGS": _xla_flags.fast_flags(_xla_flags.installed_jaxlib())}
    assert fast.env_defaults("keras-jax")["XLA_FLAGS"].startswith("--xla_backend_optimization_level=0")
    assert users.env_defaults("keras-jax") == {}
    o0 = compile_cache.env(JAX, tmp_path, fast.env_defaults("keras-jax"))["JAX_COMPILATION_CACHE_DIR"]
    default = compile_cache.env(JAX, tmp_path, users.env_defaults("keras-jax"))["JAX_COMPILATION_CACHE_DIR"]
    assert o0 != default  # XLA's default optimisation never reads the -O0 executables


def test_the_header_names_the_worker_settings(tmp_path):
    _, fast = _run(tmp_path, "fast", "off", "--collect-only")
    _, users = _run(tmp_path, "users", "off", "--collect-only", "--framework-defaults")
    assert f"worker settings: keras-jax: XLA_FLAGS={JAX.env_defaults['XLA_FLAGS']}" in fast
    assert "worker settings: keras-jax: the framework's own defaults (--framework-defaults)" in users
