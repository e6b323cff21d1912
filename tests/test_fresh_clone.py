"""The README's two commands work on a fresh clone: nothing tracked sits where they write, and CI
runs exactly those two commands, with no clean-up a user could not know to do."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What `make test`, `make conformance` and tox create: each must be free for them to create.
SETUP_WRITES = (".venv", "report", ".tox", ".cache")  # .cache: the compile cache (--compile-cache)


def _tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing is tracked")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands on a fresh machine", 1)
    assert len(section) == 2, "README has no 'Two commands on a fresh machine' section"
    block = re.search(r"```sh\n(.*?)```", section[1], re.S)
    assert block, "the 'Two commands on a fresh machine' section has no ```sh block"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [c for c in commands if c]


def ci_commands() -> list[str]:
    """The make invocations of .ci/run, as written."""
    lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    return [line for line in lines if re.match(r"^make(\s|$)", line)]


def test_nothing_is_tracked_where_the_setup_writes():
    clashes = [p for p in _tracked() for w in SETUP_WRITES if p == w or p.startswith(w + "/")]
    assert not clashes, f"tracked where `make`/tox write, so a fresh clone cannot create them: {clashes}"


def test_nothing_tracked_is_what_gitignore_keeps_out():
    """A file .gitignore names (an exported model a snippet wrote, a cache) that is tracked anyway
    came in by accident, e.g. with ``git add -A`` while a run was writing: 8ce9ed7 committed six
    ``*.onnx.data`` files and a folder of profiles that way."""
    _tracked()  # skips outside a git checkout
    out = subprocess.run(["git", "ls-files", "-ci", "--exclude-standard"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [], f"tracked, though .gitignore keeps them out: {out}"


def test_setup_paths_are_ignored_as_files_and_folders():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in SETUP_WRITES + tuple(w + "/x" for w in SETUP_WRITES):
        ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)
        assert ignored.returncode == 0, f".gitignore does not ignore {path!r}"


def test_setup_paths_are_free_in_this_checkout():
    for name in SETUP_WRITES:
        path = ROOT / name
        assert not path.exists() or path.is_dir(), f"{name} is a file: `python -m venv`/mkdir cannot create it"


def test_readme_has_exactly_two_commands():
    assert readme_commands() == ["make test", "make conformance"]


def test_ci_runs_the_readme_commands_exactly_as_written():
    assert ci_commands() == readme_commands(), (
        ".ci/run must run the README's two commands exactly as written, in the same order")


def test_ci_cleans_nothing_before_the_commands():
    script = (ROOT / ".ci/run").read_text()
    before = script.split(readme_commands()[0], 1)[0]
    for pattern in (r"\brm\s", r"git\s+clean", r"make\s+clean", r"\bmv\s"):
        code = [line for line in before.splitlines() if not line.lstrip().startswith("#")]
        hits = [line for line in code if re.search(pattern, line)]
        assert not hits, f".ci/run cleans up before the README's commands: {hits}"
