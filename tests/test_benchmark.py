"""bench/benchmark.py --quick prints every figure it promises, in the same invocation, without
timing anything in the test: no assertion depends on how fast the machine is."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_prints_floor_both_runs_ratios_and_rates(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "bench/benchmark.py", "--quick", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    summary = json.loads(out.read_text())
    assert summary["backends"] == ["reference", "torch"]
    assert summary["selection"] == ["-k", "lookup or mask"]
    assert "clauses: pytest -k lookup or mask only, not the whole spec" in text
    number = r"\d+\.\d\d"
    for name in ("reference", "torch"):
        assert summary["floor"][name]["error"] is None and summary["floor"][name]["seconds"] > 0
        assert re.search(rf"^  {name} +{number}$", text, re.M), text
        row = summary["per_backend"][name]
        assert row["examples"] >= row["items"] > 0
        # every record of a current run says how many drawn examples it ran (null: none)
        assert row["examples_counted"] and row["examples"] > row["items"]
        assert re.search(rf"^  {name} +{row['items']} +{row['examples']} +{number} +\d+\.\d +\d\.\d{{3}}$", text,
                         re.M), text
    floor = summary["floor_seconds"]
    assert floor == round(sum(f["seconds"] for f in summary["floor"].values()), 3)
    assert re.search(rf"^  floor \(sum\) +{floor:.2f}$", text, re.M), text
    for label in ("serial, cold cache", "serial", "-n 2"):
        run = summary["runs"][label]
        assert run["complete"] is True and run["records"] == summary["per_backend"]["torch"]["items"] * 2
        # the summary divides unrounded figures; the JSON's are rounded to 3 places
        assert abs(run["ratio_to_floor"] - run["seconds"] / floor) <= 0.01
        assert re.search(rf"^  {re.escape(label)} +{run['seconds']:.2f} +{run['ratio_to_floor']:.2f} +"
                         rf"{run['cpu_seconds']:.1f}  ", text, re.M), text
        assert run["cpu_seconds"] > 0
    assert summary["differences"] == []
    assert "identical to the serial run's" in text and "as fast as serial" in text
    cold, warm = summary["runs"]["serial, cold cache"]["seconds"], summary["runs"]["serial"]["seconds"]
    assert summary["warm_speedup"] == round(cold / warm, 2)
    assert f"makes the serial run {summary['warm_speedup']:.2f}x as fast as a cold one" in text
    assert "thorough" not in summary["runs"]  # only with --thorough (slow)
    # where the serial run's time went, from inside its processes (CONFORMANCE_TIMINGS)
    where = summary["where_time_goes"]
    assert where["pytest"]["draw"] > 0 and where["pytest"]["judge"] > 0 and where["pytest"]["reference"] > 0
    torch = where["backends"]["torch"]
    assert torch["cases"] >= summary["per_backend"]["torch"]["items"] and torch["start"] > 0
    assert torch["run"] > 0 and "forward" in torch["actions"] and where["reference_actions"]["forward"] > 0
    assert "where the time goes" in text
    assert re.search(rf"^  torch +{torch['start']:.2f} +{torch['run']:.2f} +{torch['run_cpu']:.2f} +{torch['cases']} ",
                     text, re.M), text
    counted = all(row["examples_counted"] for row in summary["per_backend"].values())
    assert counted and "one example is counted for each" not in text


def test_the_thorough_run_is_timed_with_the_weekly_ci_run_arguments():
    import yaml

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import benchmark
    finally:
        sys.path.remove(str(ROOT / "bench"))
    wf = yaml.safe_load((ROOT / ".github/workflows/conformance.yml").read_text())
    (step,) = [s for j in wf["jobs"].values() for s in j.get("steps", [])
               if "tox -e ${{ matrix.backend }}" in s.get("run", "")]
    weekly = step["run"].replace("${{ github.event_name == 'schedule' && 'thorough' || 'ci' }}", "thorough")
    weekly = weekly.replace("${{ github.event_name == 'schedule' && ' --framework-defaults' || '' }}",
                            " --framework-defaults")
    assert weekly.split(" -- ", 1)[1].split() == list(benchmark.THOROUGH_ARGS)
