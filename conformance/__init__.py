"""Embedding conformance: engine that turns declarative clauses x backends into test results."""

SCHEMA = "embedding-conformance/1"


def pytest_command(*pytest_args) -> list[str]:
    """The command that runs this package's conformance suite (pytest, with the plugin) from any
    folder, as ``python -m conformance run`` does: conformance/run.ini is its configuration, so no
    configuration file or conftest.py of the current folder or its parents takes part."""
    import sys
    from pathlib import Path

    package = Path(__file__).resolve().parent
    return [sys.executable, "-m", "pytest", "-c", str(package / "run.ini"), "--rootdir", str(package),
            "-p", "conformance.plugin", str(package), *pytest_args]
