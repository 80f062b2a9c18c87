"""The /emergency/ws messages: what the clients send (protocol), and every server message
checked (server_messages)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from app.emergency import protocol, server_messages
from app.emergency.events import (
    Accepted,
    AvailabilityChanged,
    CaseAccepted,
    CaseCancelled,
    CaseChanged,
    CaseTaken,
    CaseUpdated,
    CoupleCancelled,
    Declined,
    Ended,
    Escalated,
    PlanChanged,
    RaisedBy,
    Refused,
    Ring,
    Ringing,
    Unanswered,
)
from app.emergency.protocol import ProtocolError

CASE: dict[str, Any] = {
    "case_id": "AbC_12-xyz0123456",
    "state": "ringing",
    "requested_at": 1_700_000_000.5,
    "waited_s": 1.25,
    "level": 0,
    "clinician": None,
    "location": "kitchen",
}
CARD = {**CASE, "couple": {"names": ["Alex", "Sam"]}, "plan": None}
TICKET = {"server": "https://clinic.example:8443", "room": "emergency-x", "token": "t.s"}
PLAN = {"text": "Breathe", "updated_at": 1.0}


# --- builders ----------------------------------------------------------------------------------


def test_hello_names_the_side_and_version() -> None:
    assert protocol.hello("tok", "couple") == {
        "type": "hello",
        "v": 1,
        "token": "tok",
        "as": "couple",
    }
    with pytest.raises(ValueError):
        protocol.hello("tok", "therapist")


def test_the_location_is_trimmed_dropped_when_blank_and_limited() -> None:
    assert protocol.emergency("  on the porch ") == {
        "type": "emergency",
        "location": "on the porch",
    }
    assert protocol.emergency("   ") == {"type": "emergency"}
    assert protocol.emergency(None) == {"type": "emergency"}
    assert protocol.emergency("x" * 200)["location"] == "x" * 200
    with pytest.raises(ValueError, match="200"):
        protocol.emergency("x" * 201)


def test_end_checks_outcome_note_and_follow_up() -> None:
    assert protocol.end("c1", "safe") == {"type": "end", "case_id": "c1", "outcome": "safe"}
    full = protocol.end("c1", "referred", follow_up_due=5.0, note=" called back ")
    assert full["follow_up_due"] == 5.0 and full["note"] == "called back"
    with pytest.raises(ValueError, match="outcome"):
        protocol.end("c1", "fine")
    with pytest.raises(ValueError, match="2000"):
        protocol.end("c1", "safe", note="x" * 2001)
    with pytest.raises(ValueError):
        protocol.end("c1", "safe", follow_up_due=math.nan)


def test_other_builders() -> None:
    assert protocol.cancel("c1") == {"type": "cancel", "case_id": "c1"}
    assert protocol.accept("c1") == {"type": "accept", "case_id": "c1"}
    assert protocol.availability(True) == {"type": "availability", "available": True}
    assert protocol.connected("c1") == {"type": "connected", "case_id": "c1"}
    assert protocol.ping() == {"type": "ping"}


def test_a_message_over_16_kib_is_not_sent() -> None:
    assert len(protocol.encode({"type": "x", "a": "y" * 16_000})) <= 16 * 1024
    with pytest.raises(ValueError, match="16384"):
        protocol.encode({"type": "x", "a": "y" * 16_400})
    # Non-ASCII is escaped, so characters are bytes and the limit holds on the wire.
    assert protocol.encode({"type": "x", "a": "é"}) == '{"type":"x","a":"\\u00e9"}'


# --- decoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["not json", "[1]", '{"no": "type"}', '{"type": 3}', b"\xff\xfe", "x" * (1024 * 1024 + 1)],
)
def test_decode_refuses_what_is_not_a_typed_object(raw: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(raw)


# --- hello_ok ------------------------------------------------------------------------------------


def test_couple_hello_ok() -> None:
    message = {
        "type": "hello_ok",
        "v": 1,
        "heartbeat_s": 1.0,
        "as": "couple",
        "case": CASE,
        "plan": PLAN,
        "extra": "ignored",
    }
    heartbeat, connected = server_messages.parse_couple_hello_ok(message)
    assert heartbeat == 1.0
    assert connected.case is not None and connected.case.location == "kitchen"
    assert connected.plan is not None and connected.plan.text == "Breathe"
    _, empty = server_messages.parse_couple_hello_ok({**message, "case": None, "plan": None})
    assert empty.case is None and empty.plan is None


@pytest.mark.parametrize(
    "change",
    [
        {"v": 2},
        {"as": "oncall"},
        {"heartbeat_s": 0},
        {"heartbeat_s": "1"},
        {"heartbeat_s": math.inf},
        {"heartbeat_s": True},
        {"case": "x"},
        {"plan": {"text": "x" * 20_001, "updated_at": 1.0}},
        {"plan": {"text": "x"}},
    ],
)
def test_couple_hello_ok_refused(change: dict[str, Any]) -> None:
    message = {"type": "hello_ok", "v": 1, "heartbeat_s": 1.0, "as": "couple", "case": None}
    with pytest.raises(ProtocolError):
        server_messages.parse_couple_hello_ok({**message, **change})


def test_oncall_hello_ok() -> None:
    message = {
        "type": "hello_ok",
        "v": 1,
        "heartbeat_s": 1.0,
        "as": "oncall",
        "name": "Dr Lee",
        "tier": 2,
        "available": False,
        "cases": [CARD],
    }
    _, connected = server_messages.parse_oncall_hello_ok(message)
    assert connected.name == "Dr Lee" and connected.tier == 2 and not connected.available
    assert connected.cases[0].couple_names == ("Alex", "Sam")
    changes: list[dict[str, Any]] = [
        {"tier": 3},
        {"name": ""},
        {"available": "no"},
        {"cases": {}},
        {"cases": [{**CARD, "couple": {"names": [""]}}]},
        {"cases": [{**CARD, "couple": {"names": ["a"] * 9}}]},
    ]
    for change in changes:
        with pytest.raises(ProtocolError):
            server_messages.parse_oncall_hello_ok({**message, **change})


# --- the couple's messages -----------------------------------------------------------------------


def test_every_couple_message_becomes_its_event() -> None:
    cid = CASE["case_id"]
    assert isinstance(server_messages.couple_event({"type": "case", "case": CASE}), CaseChanged)
    assert server_messages.couple_event(
        {"type": "ringing", "case_id": cid, "tier": 1, "count": 3}
    ) == (Ringing(cid, 1, 3))
    assert server_messages.couple_event({"type": "escalated", "case_id": cid, "level": 2}) == (
        Escalated(cid, 2)
    )
    accepted = server_messages.couple_event(
        {"type": "accepted", "case_id": cid, "clinician": "Dr Lee", "ticket": TICKET}
    )
    assert isinstance(accepted, Accepted) and accepted.ticket.token == "t.s"
    assert "t.s" not in repr(accepted)
    assert server_messages.couple_event({"type": "unanswered", "case_id": cid}) == Unanswered(cid)
    ended = {"type": "ended", "case_id": cid, "by": "couple", "outcome": "cancelled"}
    assert server_messages.couple_event(ended) == Ended(cid, "couple", "cancelled")
    assert isinstance(server_messages.couple_event({"type": "plan", "plan": PLAN}), PlanChanged)
    raised = server_messages.couple_event({"type": "raised_by", "case_id": cid, "name": "Alex"})
    assert raised == RaisedBy(cid, "Alex") and "Alex" not in repr(raised)
    assert server_messages.couple_event({"type": "pong"}) is None
    assert server_messages.couple_event({"type": "from_the_future", "x": 1}) is None


@pytest.mark.parametrize(
    "message",
    [
        {"type": "case"},
        {"type": "case", "case": {**CASE, "state": "lost"}},
        {"type": "case", "case": {**CASE, "level": 4}},
        {"type": "case", "case": {**CASE, "level": 1.0}},
        {"type": "case", "case": {**CASE, "waited_s": -1}},
        {"type": "case", "case": {**CASE, "case_id": "has space"}},
        {"type": "case", "case": {**CASE, "case_id": "x" * 65}},
        {"type": "case", "case": {**CASE, "location": "x" * 201}},
        {"type": "case", "case": {**CASE, "clinician": 7}},
        {"type": "case", "case": {**CASE, "requested_at": math.nan}},
        {"type": "ringing", "case_id": "c", "tier": 3, "count": 1},
        {"type": "ringing", "case_id": "c", "tier": 1, "count": -1},
        {"type": "ringing", "case_id": ["c"], "tier": 1, "count": 1},
        {"type": "escalated", "case_id": "c", "level": 0},
        {"type": "accepted", "case_id": "c", "clinician": "Dr Lee"},
        {
            "type": "accepted",
            "case_id": "c",
            "clinician": "Dr Lee",
            "ticket": {**TICKET, "server": "javascript:alert(1)"},
        },
        {
            "type": "accepted",
            "case_id": "c",
            "clinician": "Dr Lee",
            "ticket": {**TICKET, "token": ""},
        },
        {"type": "accepted", "case_id": "c", "clinician": "x" * 65, "ticket": TICKET},
        {"type": "ended", "case_id": "c", "by": "nobody", "outcome": "safe"},
        {"type": "ended", "case_id": "c", "by": ["couple"], "outcome": "safe"},
        {"type": "plan", "plan": None},
        {"type": "raised_by", "case_id": "c", "name": None},
        {"type": "error", "code": "Not A Code", "message": "x"},
        {"type": "error", "code": "x", "message": "x" * 1001},
    ],
)
def test_malformed_couple_messages_are_protocol_errors(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        server_messages.couple_event(json.loads(json.dumps(message)))


def test_errors_are_fatal_by_code_or_by_the_servers_word() -> None:
    assert server_messages.parse_error(
        {"type": "error", "code": "token_expired", "message": "m"}
    ) == (Refused("token_expired", "m"))
    assert server_messages.parse_error({"type": "error", "code": "join_timeout"}) == Refused(
        "join_timeout", ""
    )
    assert server_messages.parse_error(
        {"type": "error", "code": "rate_limited", "message": "m"}
    ) == (Declined("rate_limited", "m"))
    said = {"type": "error", "code": "rate_limited", "message": "m", "fatal": True}
    assert server_messages.parse_error(said) == Refused("rate_limited", "m")


# --- the clinician's messages --------------------------------------------------------------------


def test_every_oncall_message_becomes_its_event() -> None:
    cid = CASE["case_id"]
    assert server_messages.oncall_event({"type": "availability", "available": True}) == (
        AvailabilityChanged(True)
    )
    ring = server_messages.oncall_event(
        {"type": "ring", "case_id": cid, "tier": 1, "ms_since_request": 12.5, "case": CARD}
    )
    assert isinstance(ring, Ring) and ring.ms_since_request == 12.5
    accepted = server_messages.oncall_event(
        {"type": "accepted", "case": {**CARD, "plan": PLAN}, "ticket": TICKET}
    )
    assert isinstance(accepted, CaseAccepted) and accepted.case_id == cid
    assert accepted.card.plan is not None
    assert isinstance(server_messages.oncall_event({"type": "case", "case": CARD}), CaseUpdated)
    taken = {"type": "case_taken", "case_id": cid, "by": "Dr Kim"}
    assert server_messages.oncall_event(taken) == CaseTaken(cid, "Dr Kim")
    assert server_messages.oncall_event(
        {"type": "case_cancelled", "case_id": cid}
    ) == CaseCancelled(cid)
    assert server_messages.oncall_event({"type": "couple_cancelled", "case_id": cid}) == (
        CoupleCancelled(cid)
    )
    late = {"type": "error", "code": "case_taken", "message": "taken", "fatal": False}
    assert server_messages.oncall_event(late, accepting=cid) == CaseTaken(cid, None)
    assert server_messages.oncall_event(late) == Declined("case_taken", "taken")
    assert server_messages.oncall_event({"type": "pong"}) is None


@pytest.mark.parametrize(
    "message",
    [
        {"type": "availability", "available": 1},
        {"type": "ring", "case_id": "c", "tier": 1, "ms_since_request": -1, "case": CARD},
        {"type": "ring", "case_id": "c", "tier": 1, "ms_since_request": 1},
        {"type": "accepted", "case": CARD},
        {"type": "case_taken", "case_id": "c", "by": 3},
        {"type": "case", "case": {**CARD, "couple": None}},
    ],
)
def test_malformed_oncall_messages_are_protocol_errors(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        server_messages.oncall_event(message)
