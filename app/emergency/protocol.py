"""The messages of `/emergency/ws` (docs/emergency.md, version 1), for both clients: the limits,
the codec, and builders that make what a client sends and refuse what the server would (too
long, wrong values). What the server sends is read by app.emergency.server_messages.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from app.emergency.models import OUTCOMES
from app.emergency.protocol_values import ProtocolError

__all__ = ["ProtocolError"]

VERSION = 1
PATH = "/emergency/ws"
MAX_CLIENT_MESSAGE_BYTES = 16 * 1024  # larger: the server answers too_large
MAX_SERVER_FRAME_BYTES = 1024 * 1024  # a case card with a 20 000 character plan fits easily
MAX_LOCATION_CHARS = 200
MAX_NOTE_CHARS = 2000
MAX_PLAN_CHARS = 20_000
MAX_NAME_CHARS = 64  # as in tokens (app.server.tokens)
MAX_NAMES = 8
MAX_ROOM_CHARS = 128
MAX_TOKEN_CHARS = 4096
MAX_WORDS_CHARS = 1000  # an error's message
MAX_OUTCOME_CHARS = 64
MAX_FOLLOW_UP_S = 7 * 24 * 3600
FATAL_CODES = frozenset({"join_timeout", "version_unsupported"})
ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


# --- what a client sends -------------------------------------------------------------------------


def encode(message: dict[str, Any]) -> str:
    """The text of one frame; ValueError for a message the server would refuse as too large."""
    text = json.dumps(message, separators=(",", ":"))  # ASCII only: bytes == characters
    if len(text) > MAX_CLIENT_MESSAGE_BYTES:
        raise ValueError(f"a message is limited to {MAX_CLIENT_MESSAGE_BYTES} bytes")
    return text


def decode(data: str | bytes) -> dict[str, Any]:
    """One server frame as a JSON object with a string `type` (ProtocolError otherwise)."""
    if len(data) > MAX_SERVER_FRAME_BYTES:
        raise ProtocolError("a server message is too large")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("a server message is not JSON") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ProtocolError("a server message must be an object with a string 'type'")
    return obj


def hello(token: str, side: str) -> dict[str, Any]:
    if side not in ("couple", "oncall"):
        raise ValueError("side is 'couple' or 'oncall'")
    return {"type": "hello", "v": VERSION, "token": token, "as": side}


def ping() -> dict[str, Any]:
    return {"type": "ping"}


def clean_location(location: str | None) -> str | None:
    """The location as sent: trimmed, None when blank; ValueError when longer than allowed."""
    location = (location or "").strip()
    if len(location) > MAX_LOCATION_CHARS:
        raise ValueError(f"the location is limited to {MAX_LOCATION_CHARS} characters")
    return location or None


def emergency(location: str | None) -> dict[str, Any]:
    where = clean_location(location)
    return {"type": "emergency"} if where is None else {"type": "emergency", "location": where}


def cancel(case: str) -> dict[str, Any]:
    return {"type": "cancel", "case_id": case}


def connected(case: str) -> dict[str, Any]:
    """First media in the case's call (either side reports it; the server records it once)."""
    return {"type": "connected", "case_id": case}


def availability(available: bool) -> dict[str, Any]:
    return {"type": "availability", "available": bool(available)}


def accept(case: str) -> dict[str, Any]:
    return {"type": "accept", "case_id": case}


def end(
    case: str, outcome: str, *, follow_up_due: float | None = None, note: str | None = None
) -> dict[str, Any]:
    """`follow_up_due` in unix seconds (the server defaults to 24 h, at most 7 days)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"the outcome is one of {', '.join(OUTCOMES)}")
    message: dict[str, Any] = {"type": "end", "case_id": case, "outcome": outcome}
    if follow_up_due is not None:
        if not math.isfinite(follow_up_due):
            raise ValueError("the follow-up is a time in unix seconds")
        message["follow_up_due"] = follow_up_due
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"the note is limited to {MAX_NOTE_CHARS} characters")
    if note:
        message["note"] = note
    return message
