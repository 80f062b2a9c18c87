"""What the server sends on `/emergency/ws` (docs/emergency.md), read into typed events.

Each parser raises `ProtocolError` for anything malformed or outside the document's limits, so
a bad server message is a logged protocol problem, never a traceback. Unknown message types and
unknown extra fields are ignored: either side may add optional ones. Names, locations, tokens
and plan text are never put into an error's words.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from app.emergency.events import (
    Accepted,
    AvailabilityChanged,
    CaseAccepted,
    CaseCancelled,
    CaseChanged,
    CaseTaken,
    CaseUpdated,
    Connected,
    CoupleCancelled,
    CoupleEvent,
    Declined,
    Ended,
    Escalated,
    OncallConnected,
    OncallEvent,
    PlanChanged,
    RaisedBy,
    Refused,
    Ring,
    Ringing,
    Unanswered,
)
from app.emergency.models import CASE_STATES, CallTicket, Case, CaseCard, Plan
from app.emergency.protocol import (
    ERROR_CODE,
    FATAL_CODES,
    MAX_LOCATION_CHARS,
    MAX_NAME_CHARS,
    MAX_NAMES,
    MAX_OUTCOME_CHARS,
    MAX_PLAN_CHARS,
    MAX_ROOM_CHARS,
    MAX_TOKEN_CHARS,
    MAX_WORDS_CHARS,
    VERSION,
)
from app.emergency.protocol_values import (
    ProtocolError,
    case_id,
    choice,
    finite,
    integer,
    optional_str,
    text,
)

__all__ = ["ProtocolError"]


# --- objects in server messages ------------------------------------------------------------------


def parse_plan(value: object) -> Plan | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError("a plan must be an object or null")
    return Plan(
        text=text(value, "text", MAX_PLAN_CHARS, empty=True),
        updated_at=finite(value, "updated_at"),
    )


def parse_case(value: object) -> Case:
    if not isinstance(value, dict):
        raise ProtocolError("a case must be an object")
    return Case(
        case_id=case_id(value),
        state=choice(value, "state", CASE_STATES),
        requested_at=finite(value, "requested_at"),
        waited_s=finite(value, "waited_s", minimum=0.0),
        level=integer(value, "level", 0, 3),
        clinician=optional_str(value, "clinician", MAX_NAME_CHARS),
        location=optional_str(value, "location", MAX_LOCATION_CHARS),
    )


def parse_optional_case(value: object) -> Case | None:
    return None if value is None else parse_case(value)


def parse_card(value: object) -> CaseCard:
    if not isinstance(value, dict):
        raise ProtocolError("a case card must be an object")
    couple = value.get("couple")
    names = couple.get("names") if isinstance(couple, dict) else None
    if not isinstance(names, list) or len(names) > MAX_NAMES:
        raise ProtocolError("a case card needs 'couple.names', a short list")
    if not all(isinstance(n, str) and 0 < len(n) <= MAX_NAME_CHARS for n in names):
        raise ProtocolError("the couple's names must be short strings")
    return CaseCard(parse_case(value), tuple(names), parse_plan(value.get("plan")))


def parse_ticket(value: object) -> CallTicket:
    if not isinstance(value, dict):
        raise ProtocolError("a call ticket must be an object")
    server = text(value, "server", 2048)
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise ProtocolError("a call ticket's server must be an http(s) address")
    return CallTicket(
        server=server,
        room=text(value, "room", MAX_ROOM_CHARS),
        token=text(value, "token", MAX_TOKEN_CHARS),
    )


def parse_error(message: dict[str, Any]) -> Refused | Declined:
    """Fatal codes (token_*, join_timeout, version_unsupported) stop the connection."""
    code = text(message, "code", 64)
    if not ERROR_CODE.fullmatch(code):
        raise ProtocolError("an error code is a short lowercase word")
    words = optional_str(message, "message", MAX_WORDS_CHARS) or ""
    fatal = message.get("fatal")
    if not isinstance(fatal, bool):
        fatal = code in FATAL_CODES or code.startswith("token_")
    return Refused(code, words) if fatal else Declined(code, words)


def _ended(message: dict[str, Any]) -> Ended:
    return Ended(
        case_id=case_id(message),
        by=choice(message, "by", frozenset({"clinician", "couple"})),
        outcome=text(message, "outcome", MAX_OUTCOME_CHARS),
    )


def heartbeat(message: dict[str, Any]) -> float:
    return finite(message, "heartbeat_s", minimum=0.05, maximum=300.0)


def _hello_ok_as(message: dict[str, Any], side: str) -> None:
    if message.get("v") != VERSION:
        raise ProtocolError("hello_ok: unsupported version")
    if message.get("as") != side:
        raise ProtocolError(f"hello_ok: expected a {side} connection")


def parse_couple_hello_ok(message: dict[str, Any]) -> tuple[float, Connected]:
    """(heartbeat_s, Connected) from the couple's hello_ok."""
    _hello_ok_as(message, "couple")
    return heartbeat(message), Connected(
        parse_plan(message.get("plan")), parse_optional_case(message.get("case"))
    )


def parse_oncall_hello_ok(message: dict[str, Any]) -> tuple[float, OncallConnected]:
    _hello_ok_as(message, "oncall")
    cases = message.get("cases", [])
    if not isinstance(cases, list) or len(cases) > 1000:
        raise ProtocolError("hello_ok: 'cases' must be a list")
    available = message.get("available", False)
    if not isinstance(available, bool):
        raise ProtocolError("hello_ok: 'available' must be true or false")
    return heartbeat(message), OncallConnected(
        name=text(message, "name", MAX_NAME_CHARS),
        tier=integer(message, "tier", 1, 2),
        available=available,
        cases=tuple(parse_card(c) for c in cases),
    )


# --- pushed messages -----------------------------------------------------------------------------


def couple_event(message: dict[str, Any]) -> CoupleEvent | None:
    """The event for one server message to a couple; None for pong and unknown types."""
    kind = message["type"]
    if kind == "case":
        return CaseChanged(parse_case(message.get("case")))
    if kind == "ringing":
        return Ringing(
            case_id(message), integer(message, "tier", 1, 2), integer(message, "count", 0, 100_000)
        )
    if kind == "escalated":
        return Escalated(case_id(message), integer(message, "level", 1, 3))
    if kind == "accepted":
        return Accepted(
            case_id(message),
            text(message, "clinician", MAX_NAME_CHARS),
            parse_ticket(message.get("ticket")),
        )
    if kind == "unanswered":
        return Unanswered(case_id(message))
    if kind == "ended":
        return _ended(message)
    if kind == "plan":
        plan = parse_plan(message.get("plan"))
        if plan is None:
            raise ProtocolError("'plan' needs a plan")
        return PlanChanged(plan)
    if kind == "raised_by":
        return RaisedBy(case_id(message), text(message, "name", MAX_NAME_CHARS))
    if kind == "error":
        return parse_error(message)
    return None


def oncall_event(message: dict[str, Any], accepting: str | None = None) -> OncallEvent | None:
    """The event for one server message to a clinician; None for pong and unknown types.
    `accepting` is the case our last accept named: a late accept's error names no case."""
    kind = message["type"]
    if kind == "availability":
        available = message.get("available")
        if not isinstance(available, bool):
            raise ProtocolError("'availability' needs 'available', true or false")
        return AvailabilityChanged(available)
    if kind == "ring":
        return Ring(
            case_id(message),
            integer(message, "tier", 1, 2),
            finite(message, "ms_since_request", minimum=0.0),
            parse_card(message.get("case")),
        )
    if kind == "accepted":
        return CaseAccepted(parse_card(message.get("case")), parse_ticket(message.get("ticket")))
    if kind == "case":
        return CaseUpdated(parse_card(message.get("case")))
    if kind == "case_taken":
        return CaseTaken(case_id(message), optional_str(message, "by", MAX_NAME_CHARS))
    if kind == "case_cancelled":
        return CaseCancelled(case_id(message))
    if kind == "couple_cancelled":
        return CoupleCancelled(case_id(message))
    if kind == "ended":
        return _ended(message)
    if kind == "error":
        error = parse_error(message)
        if error.code == "case_taken" and accepting is not None:
            return CaseTaken(accepting, None)
        return error
    return None
