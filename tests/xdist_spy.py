"""A pytest plugin for tests/test_no_silent_loss.py (``-p tests.xdist_spy``): in xdist workers only,
it notes that it is active and reports every attempt to write or rename onto the --json path,
each as a marker file next to it."""
import builtins
import os
from pathlib import Path


def pytest_configure(config):
    if not hasattr(config, "workerinput") or not config.getoption("json"):
        return
    target = Path(config.getoption("json")).absolute()
    worker = config.workerinput["workerid"]
    Path(f"{target}.spy-active-{worker}").write_text("")

    def note(path, how):
        if Path(path).absolute() == target:
            Path(f"{target}.written-by-{worker}-{how}").write_text("")

    real_open, real_replace, real_rename = builtins.open, os.replace, os.rename

    def spy_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+"):
            note(file, "open")
        return real_open(file, mode, *args, **kwargs)

    def spy_replace(src, dst, *args, **kwargs):
        note(dst, "replace")
        return real_replace(src, dst, *args, **kwargs)

    def spy_rename(src, dst, *args, **kwargs):
        note(dst, "rename")
        return real_rename(src, dst, *args, **kwargs)

    builtins.open, os.replace, os.rename = spy_open, spy_replace, spy_rename
