"""The `/emergency/ws` messages of docs/emergency.md: limits, parsing and the server's replies.

The codec and the `bad_message`/`too_large` rules are the signaling protocol's own
(app/net/signaling_protocol.py); only the limits and the message schemas differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.net.signaling_protocol import MessageError, decode
from app.server.emergency.escalation import OUTCOMES

EMERGENCY_VERSION = 1
MAX_CLIENT_MESSAGE_BYTES = 16 * 1024
# Frames above this are not read at all (the WebSocket layer closes with 1009); between the two
# limits a message is read and refused in words (`too_large`).
MAX_CLIENT_FRAME_BYTES = 64 * 1024
MAX_LOCATION_CHARS = 200
MAX_NOTE_CHARS = 2000
MAX_PLAN_CHARS = 20_000
MAX_CASE_ID_CHARS = 64
SIDES = frozenset({"couple", "oncall"})


@dataclass(frozen=True)
class Hello:
    v: int
    token: str
    side: str  # "couple" or "oncall" (`as` on the wire)


@dataclass(frozen=True)
class Emergency:
    location: str | None


@dataclass(frozen=True)
class Cancel:
    case_id: str


@dataclass(frozen=True)
class Availability:
    available: bool


@dataclass(frozen=True)
class Accept:
    case_id: str


@dataclass(frozen=True)
class End:
    case_id: str
    outcome: str
    follow_up_due: float | None
    note: str


@dataclass(frozen=True)
class Connected:
    case_id: str


@dataclass(frozen=True)
class Ping:
    pass


ClientMessage = Hello | Emergency | Cancel | Availability | Accept | End | Connected | Ping

_Schema = dict[str, tuple[type | tuple[type, ...], bool]]
_SCHEMAS: dict[str, _Schema] = {
    "hello": {"v": (int, True), "token": (str, True), "as": (str, True)},
    "emergency": {"location": (str, False)},
    "cancel": {"case_id": (str, True)},
    "availability": {"available": (bool, True)},
    "accept": {"case_id": (str, True)},
    "end": {
        "case_id": (str, True),
        "outcome": (str, True),
        "follow_up_due": ((int, float), False),
        "note": (str, False),
    },
    "connected": {"case_id": (str, True)},
    "ping": {},
}


def _bad(text: str) -> MessageError:
    return MessageError("bad_message", text)


def _check(obj: dict[str, Any], kind: str) -> None:
    for name, (expected, required) in _SCHEMAS[kind].items():
        if name not in obj or obj[name] is None and not required:
            if required:
                raise _bad(f"{kind}: missing field {name!r}")
            continue
        value = obj[name]
        # bool is an int in Python: accepted only where a bool is asked for.
        if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
            raise _bad(f"{kind}: field {name!r} has the wrong type")


def _limited(obj: dict[str, Any], name: str, limit: int, kind: str) -> str:
    value: str = obj.get(name) or ""
    if len(value) > limit:
        raise _bad(f"{kind}: {name!r} is limited to {limit} characters")
    return value


def _case_id(obj: dict[str, Any], kind: str) -> str:
    value: str = obj["case_id"]
    if not value or len(value) > MAX_CASE_ID_CHARS:
        raise _bad(f"{kind}: 'case_id' is not a case id")
    return value


def parse(text: str | bytes) -> ClientMessage:
    """One client message, checked; raises MessageError (never anything else)."""
    obj = decode(text, MAX_CLIENT_MESSAGE_BYTES)
    kind: str = obj["type"]
    if kind not in _SCHEMAS:
        raise _bad(f"unknown message type {kind[:32]!r}")
    _check(obj, kind)
    if kind == "hello":
        if obj["as"] not in SIDES:
            raise _bad('hello: \'as\' must be "couple" or "oncall"')
        return Hello(v=obj["v"], token=obj["token"], side=obj["as"])
    if kind == "emergency":
        location = _limited(obj, "location", MAX_LOCATION_CHARS, kind).strip()
        return Emergency(location=location or None)
    if kind == "availability":
        return Availability(available=obj["available"])
    if kind == "ping":
        return Ping()
    case_id = _case_id(obj, kind)
    if kind == "cancel":
        return Cancel(case_id)
    if kind == "accept":
        return Accept(case_id)
    if kind == "connected":
        return Connected(case_id)
    if obj["outcome"] not in OUTCOMES:
        raise _bad(f"end: 'outcome' must be one of {', '.join(sorted(OUTCOMES))}")
    due = obj.get("follow_up_due")
    if due is not None and not math.isfinite(due):
        raise _bad("end: 'follow_up_due' must be a time in unix seconds")
    note = _limited(obj, "note", MAX_NOTE_CHARS, kind)
    return End(case_id, obj["outcome"], None if due is None else float(due), note)


def error(code: str, message: str, fatal: bool = False) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "fatal": fatal}
