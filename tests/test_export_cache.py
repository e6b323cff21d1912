"""The exported columns' artifacts kept across runs (backends/_exported.py, ``exported_bytes``): the
run's compile cache (``--compile-cache``) gives each exported column a folder keyed by its framework
and exporter versions; in it, an exporter call's bytes are keyed by the adapter's code and
everything the call depends on, and its warnings come back with them."""
import functools
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from backends import _exported
from backends.base import FrameworkRaised
from backends.torch_onnx import TorchOnnx
from conformance.running import adapters, compile_cache

ROOT = Path(__file__).resolve().parent.parent
EXPORTED = ("torch-onnx", "keras-tensorflow-onnx", "keras-tensorflow-litert")


class _Log:
    """What conformance/running/actions.py's WarningLog gives exported_bytes: two lists, and a
    showwarning bound to the log (warnings.showwarning during a case)."""

    def __init__(self):
        self.clause, self.framework = [], []

    def showwarning(self, message, category, filename, lineno, file=None, line=None):
        self.clause.append(f"{category.__name__}: {message}")


class _Maker:
    def __init__(self, data=b"artifact", warn=None):
        self.calls, self.data, self.warn = 0, data, warn

    def __call__(self):
        self.calls += 1
        if self.warn:
            warnings.warn(self.warn, UserWarning, stacklevel=2)
        return self.data


class _Other(TorchOnnx):
    """An adapter that exports its own way (a mutant, a third party's subclass)."""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(_exported.EXPORT_CACHE, str(tmp_path / "cache"))
    monkeypatch.setattr(_exported, "_USED", {})
    return tmp_path / "cache"


def _in_case(call):
    """``call()`` as inside a worker's case: warnings shown to a fresh log, every one of them."""
    log = _Log()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = log.showwarning
        return call(), log


def test_without_the_cache_every_call_exports_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(_exported.EXPORT_CACHE, raising=False)
    make = _Maker()
    assert _exported.exported_bytes(TorchOnnx(), ("m", 1), make) == b"artifact"
    assert _exported.exported_bytes(TorchOnnx(), ("m", 1), make) == b"artifact"
    assert make.calls == 2 and list(tmp_path.iterdir()) == []


def test_the_same_call_is_read_back_and_any_other_exports(cache):
    make = _Maker()
    assert _exported.exported_bytes(TorchOnnx(), ("model", "int32", (2, 3), "w0"), make) == b"artifact"
    assert make.calls == 1 and len(list(cache.rglob("*.bin"))) == 1
    assert _exported.exported_bytes(TorchOnnx(), ("model", "int32", (2, 3), "w0"), make) == b"artifact"
    assert make.calls == 1  # read back
    for parts in (("model", "int64", (2, 3), "w0"), ("model", "int32", (2, 4), "w0"), ("model", "int32", (2, 3), "w1")):
        _exported.exported_bytes(TorchOnnx(), parts, make)
    assert make.calls == 4
    _exported.exported_bytes(_Other(), ("model", "int32", (2, 3), "w0"), make)
    assert make.calls == 5  # another adapter class never reads this one's artifacts


def test_other_adapter_code_is_another_folder_and_only_the_latest_few_are_kept(cache, monkeypatch):
    make = _Maker()
    _exported.exported_bytes(TorchOnnx(), ("m",), make)
    folders = []
    for version in range(_exported.KEPT_CODE_VERSIONS + 2):
        digest = f"{version:x}" * 64                                   # another version of backends/
        monkeypatch.setattr(_exported, "_SOURCE", [digest])
        monkeypatch.setattr(_exported, "_USED", {})                     # as in a new process
        _exported.exported_bytes(TorchOnnx(), ("m",), make)
        folders.append(cache / digest[:16])
    assert make.calls == 1 + _exported.KEPT_CODE_VERSIONS + 2  # no version reads another's artifacts
    kept = sorted(p for p in cache.iterdir() if p.is_dir())
    assert kept == sorted(folders[-_exported.KEPT_CODE_VERSIONS:])  # the most recently used ones


def test_an_adapter_error_is_raised_and_never_kept(cache):
    def broken():
        raise RuntimeError("a bug of the adapter's")  # raised here, not by the framework

    for _ in range(2):
        with pytest.raises(RuntimeError, match="a bug"):
            _exported.exported_bytes(TorchOnnx(), ("m",), broken)
    assert [p for p in cache.rglob("*") if p.is_file()] == []


def test_the_exporters_refusal_is_kept_and_raised_again_as_the_framework_answer(cache):
    calls = []

    def refuse():
        calls.append(1)
        warnings.warn("tracing", UserWarning, stacklevel=2)
        try:
            raise ValueError("unsupported op: aten::_pack_padded_sequence")
        except ValueError as exc:
            raise FrameworkRaised(exc) from exc  # as the framework's answer

    first = second = None
    for attempt in range(2):
        log = _Log()
        with warnings.catch_warnings(), pytest.raises(FrameworkRaised) as raised:
            warnings.simplefilter("always")
            warnings.showwarning = log.showwarning
            _exported.exported_bytes(TorchOnnx(), ("m",), refuse)
        first, second = (raised.value, log) if attempt == 0 else (first, (raised.value, log))
    assert len(calls) == 1  # the second time, read back
    again, log = second
    assert again.type_name == "ValueError" and str(again) == "unsupported op: aten::_pack_padded_sequence"
    assert log.clause == ["UserWarning: tracing"]


def test_the_exporters_warnings_come_back_with_its_bytes(cache):
    make = _Maker(warn="the exporter says so")
    (_, cold) = _in_case(lambda: _exported.exported_bytes(TorchOnnx(), ("m",), make))
    (data, warm) = _in_case(lambda: _exported.exported_bytes(TorchOnnx(), ("m",), make))
    assert make.calls == 1 and data == b"artifact"
    assert cold.clause == warm.clause == ["UserWarning: the exporter says so"] and warm.framework == []


def test_an_artifact_without_its_warnings_file_is_made_again(cache):
    make = _Maker(warn="said once")
    _in_case(lambda: _exported.exported_bytes(TorchOnnx(), ("m",), make))
    for said in cache.rglob("*.json"):
        said.unlink()
    (_, log) = _in_case(lambda: _exported.exported_bytes(TorchOnnx(), ("m",), make))
    assert make.calls == 2 and log.clause == ["UserWarning: said once"]
    assert json.loads(next(cache.rglob("*.json")).read_text())["clause"] == ["UserWarning: said once"]


def test_the_class_digest_reads_every_inherited_module():
    assert _exported.class_digest(TorchOnnx) != _exported.class_digest(_Other)
    assert _exported.class_digest(TorchOnnx) == _exported.class_digest(TorchOnnx)


@pytest.mark.parametrize("name", EXPORTED)
def test_each_exported_column_keys_its_folder_by_framework_and_exporter(name, tmp_path, monkeypatch):
    adapter = adapters.builtins()[name]
    cache = adapter.compile_cache
    assert cache is not None and cache.folder_env == _exported.EXPORT_CACHE
    framework = "torch" if name == "torch-onnx" else "keras"
    exporter = {"torch-onnx": "onnxscript", "keras-tensorflow-onnx": "tf2onnx",
                "keras-tensorflow-litert": "tensorflow-cpu"}[name]
    assert {framework, exporter} <= set(cache.distributions)
    versions = {d: "1.0" for d in cache.distributions}
    monkeypatch.setattr(importlib.metadata, "version", lambda d: versions[d])
    before = compile_cache.folder(adapter, tmp_path, {})
    versions[exporter] = "2.0"
    assert compile_cache.folder(adapter, tmp_path, {}) != before


CLAUSES = "lookup.rows-are-matrix-rows or rnn.gru-matches-reference"


def _run(tmp_path, name, cache) -> tuple[Path, str]:
    out = tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "--backend", "torch-onnx", "-k", CLAUSES,
                           "--compile-cache", cache, "--json", str(out), "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True)
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    return out, proc.stdout


@pytest.mark.slow
def test_records_are_the_same_exported_anew_or_read_back(tmp_path):
    """The cold run exports everything, as a run without the cache does (the unit tests above show
    that without it every call exports); the warm one exports nothing."""
    if any(importlib.util.find_spec(m) is None for m in adapters.builtins()["torch-onnx"].requires):
        pytest.skip("torch-onnx is not installed")
    cache = tmp_path / "cache"
    cold, cold_out = _run(tmp_path, "cold", str(cache))
    kept = sorted(p.name for p in cache.rglob("*.bin"))
    assert kept, "the cold run kept no artifact"
    warm, warm_out = _run(tmp_path, "warm", str(cache))
    assert sorted(p.name for p in cache.rglob("*.bin")) == kept  # the warm run exported nothing new
    assert "compile cache: torch-onnx" in cold_out and "(0 files" in cold_out
    header = next(line for line in warm_out.splitlines() if line.startswith("compile cache: torch-onnx"))
    assert "(0 files" not in header
    assert len(json.loads(cold.read_text())["results"]) == 2
    same = subprocess.run([sys.executable, "-m", "conformance", "same", str(cold), str(warm)],
                          cwd=ROOT, capture_output=True, text=True)
    assert same.returncode == 0, same.stdout + same.stderr


@pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("torch", "onnxscript", "onnx")),
                    reason="torch.onnx's dynamo exporter needs torch, onnxscript and onnx")
def test_torch_onnx_builds_its_op_registry_once_and_exports_the_same_bytes(monkeypatch):
    """backends/torch_onnx.py:build_registry_once: one registry build for every later export of
    the process, each export given a registry of its own, and the same exported bytes."""
    import torch
    from torch.onnx._internal.exporter._registration import ONNXRegistry

    from backends.torch_onnx import build_registry_once

    builds, build = [], ONNXRegistry.__dict__["from_torchlib"].__func__

    @functools.wraps(build)  # its signature is the original's
    def counted(cls, *args, **kwargs):
        builds.append((args, kwargs))
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(ONNXRegistry, "from_torchlib", classmethod(counted))  # undone after the test
    model = torch.nn.Sequential(torch.nn.Embedding(5, 2), torch.nn.Flatten(), torch.nn.Linear(6, 1)).eval()
    x = torch.zeros((2, 3), dtype=torch.int64)

    def export() -> bytes:
        program = torch.onnx.export(model, (x,), dynamo=True, optimize=False, verbose=False)
        return program.model_proto.SerializeToString()

    export()  # a process's first export names some values its own way: compared from the second on
    plain = export()
    assert len(builds) == 2
    assert build_registry_once() and build_registry_once()  # a second call changes nothing
    assert export() == plain and export() == plain
    assert len(builds) == 3, "the registry was built again for an export"
    opset = builds[-1][1]["opset_version"]  # the exports' own, by name or by position alike
    one, other = ONNXRegistry.from_torchlib(opset_version=opset), ONNXRegistry.from_torchlib(opset)
    assert len(builds) == 3 and one is not other
    ONNXRegistry.from_torchlib(opset - 1)
    assert len(builds) == 4, "another opset's registry is another build"
    target = next(iter(one.functions))
    one.functions[target].clear()  # what register_op would change in one export's registry
    assert other.functions[target] and ONNXRegistry.from_torchlib(opset).functions[target]
