"""What a backend (or the reference) answered for one case: three small typed records.

* :class:`Observed` -- the case ran; ``observation`` is the dict the checks read;
* :class:`Refused` -- the adapter raised ``Unsupported`` (the release lacks the API);
* :class:`Failed` -- the adapter, the framework's worker or the reference could not run it.

Each carries the reproduction ``snippet`` (or None) and, in a batch, the ``key`` of the case it
answers, ``(clause id, drawn example key or None)``, so an answer is never taken for another
case's. The worker side builds them, the judge reads them (conformance/judging/outcome.py): both
import this module, which imports nothing of the engine.

On the channel between processes (conformance/running/channel.py carries plain values only) a
reply travels as the plain tuple ``(kind, payload, snippet)``, or ``(kind, payload, snippet,
key)`` in a batch; :func:`from_wire` turns such a tuple back into a record and refuses anything
else with :class:`MalformedReply`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Observed:
    observation: dict
    snippet: str | None = None
    key: tuple | None = None


@dataclass(frozen=True)
class Refused:
    reason: str
    snippet: str | None = None
    key: tuple | None = None


@dataclass(frozen=True)
class Failed:
    text: str
    snippet: str | None = None
    key: tuple | None = None


Reply = Observed | Refused | Failed

# the wire's kind word -> (record type, the type its payload must have)
_KINDS = {"ok": (Observed, dict), "unsupported": (Refused, str), "error": (Failed, str)}
_WIRE_KIND = {record: kind for kind, (record, _) in _KINDS.items()}


class MalformedReply(ValueError):
    """A message that is not a reply the worker's own code sends."""


def payload(reply: Reply):
    """The observation, the reason or the error text."""
    if isinstance(reply, Observed):
        return reply.observation
    return reply.reason if isinstance(reply, Refused) else reply.text


def to_wire(reply: Reply, with_key: bool = False) -> tuple:
    """The plain tuple a reply crosses the channel as (with its case's key, in a batch)."""
    plain = (_WIRE_KIND[type(reply)], payload(reply), reply.snippet)
    return plain + (reply.key,) if with_key else plain


def from_wire(message, due: tuple | None = None) -> Reply:
    """The reply a plain ``message`` encodes. With ``due`` (a case's key), the message must be a
    batch answer naming that very case. Raises :class:`MalformedReply` for anything else."""
    size = 3 if due is None else 4
    if not (type(message) is tuple and len(message) == size):
        raise MalformedReply(f"not a reply: {_short(message)}")
    kind, body, snippet = message[:3]
    key = None
    if due is not None:
        key = message[3]
        if not (type(key) is tuple and len(key) == 2 and all(type(k) in (str, type(None)) for k in key)
                and key == due):  # plain values only: an array would not even compare
            raise MalformedReply(f"an answer for {_short(key)} where {due!r} was due")
    if type(kind) is str and kind in _KINDS and (snippet is None or type(snippet) is str):
        record, body_type = _KINDS[kind]
        if type(body) is body_type:
            return record(body, snippet, key)
    raise MalformedReply(f"not a reply: {_short(message[:3])}")


def _short(obj, limit=200) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."
