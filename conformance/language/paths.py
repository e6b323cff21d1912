"""Field paths into an observation: ``outputs[0]``, ``after[0][0]``, ``losses[1]``."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]|\.")
_PATH = re.compile(r"[A-Za-z_]\w*(\[-?\d+\])*(\.[A-Za-z_]\w*(\[-?\d+\])*)*")


class Missing(LookupError):
    """The observation has no such field (e.g. the action raised instead)."""


def validate(path: str) -> None:
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ValueError(f"bad field path {path!r} (expected e.g. outputs[0] or after[0][0])")


def get(obs: dict, path: str):
    validate(path)
    value = obs
    pos = 0
    for match in _TOKEN.finditer(path):
        if match.start() != pos:
            raise ValueError(f"bad field path {path!r}")
        pos = match.end()
        name, index = match.groups()
        try:
            if name is not None:
                value = value[name]
            elif index is not None:
                value = value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise Missing(path) from None
    if pos != len(path):
        raise ValueError(f"bad field path {path!r}")
    return value
