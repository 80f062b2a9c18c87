"""An in-memory emergency server behind the clients' `Connector` interface (docs/emergency.md).

Enough of the server for the clients' tests (and the desktop app's): hello with tokens named in
`tokens`, one case per couple, rings to available clinicians, accept with case_taken for the
others, cancel, end, ping. Escalation is driven by the test (`escalate`, `unanswered`), never
by time. `reachable = False` refuses connections, `hang = True` leaves them hanging,
`drop_all()` cuts every open one, and `push_raw` sends any text to every couple.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from app.emergency.events import OFFLINE_UNREACHABLE
from app.emergency.transport import ConnectFailed, Transport

PLAN = {"text": "1. Breathe.\n2. Call Sam.", "updated_at": 1_700_000_000.0}
SERVER = "http://fake.invalid:8443"


@dataclass
class Identity:
    side: str  # couple | oncall
    name: str
    room: str = "room-1"
    tier: int = 1


class FakeTransport:
    """The client's end of one in-memory connection."""

    def __init__(self, server: FakeEmergencyServer) -> None:
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.server = server
        self.closed = False
        self.identity: Identity | None = None
        self.available = False

    async def send(self, text: str) -> None:
        if self.closed:
            raise ConnectionError("closed")
        self.server.received.append(json.loads(text))
        await self.server.handle(self, json.loads(text))

    async def receive(self) -> str | None:
        if self.closed and self.inbox.empty():
            return None
        return await self.inbox.get()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.inbox.put_nowait(None)
            self.server.connections.discard(self)

    def push(self, message: dict[str, Any]) -> None:
        if not self.closed and not self.server.mute:
            self.inbox.put_nowait(json.dumps(message))


@dataclass
class FakeCase:
    case_id: str
    room: str
    requested_at: float
    location: str | None
    state: str = "ringing"
    level: int = 0
    clinician: str | None = None
    rung: set[FakeTransport] = field(default_factory=set)

    def body(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "state": self.state,
            "requested_at": self.requested_at,
            "waited_s": max(0.0, time.time() - self.requested_at),
            "level": self.level,
            "clinician": self.clinician,
            "location": self.location,
        }

    def card(self, names: list[str], plan: bool = False) -> dict[str, Any]:
        return {**self.body(), "couple": {"names": names}, "plan": PLAN if plan else None}


class FakeEmergencyServer:
    def __init__(self, tokens: dict[str, Identity] | None = None) -> None:
        self.tokens = tokens or {
            "alex": Identity("couple", "Alex"),
            "sam": Identity("couple", "Sam"),
            "lee": Identity("oncall", "Dr Lee", room="oncall"),
            "park": Identity("oncall", "Dr Park", room="oncall", tier=2),
        }
        self.connections: set[FakeTransport] = set()
        self.cases: dict[str, FakeCase] = {}
        self.received: list[dict[str, Any]] = []
        self.plan: dict[str, Any] | None = dict(PLAN)
        self.reachable = True
        self.hang = False
        self.mute = False  # accept messages but answer nothing (a silent network)
        self.heartbeat_s = 0.05
        self.connects = 0

    # --- the Connector ------------------------------------------------------------------------

    async def connect(self) -> Transport:
        self.connects += 1
        if self.hang:
            await asyncio.Event().wait()
        if not self.reachable:
            raise ConnectFailed(OFFLINE_UNREACHABLE)
        transport = FakeTransport(self)
        self.connections.add(transport)
        return transport

    # --- test controls ------------------------------------------------------------------------

    async def drop_all(self) -> None:
        for transport in list(self.connections):
            await transport.close()

    def couples(self, room: str = "room-1") -> list[FakeTransport]:
        return [
            t
            for t in self.connections
            if t.identity and t.identity.side == "couple" and t.identity.room == room
        ]

    def clinicians(self) -> list[FakeTransport]:
        return [t for t in self.connections if t.identity and t.identity.side == "oncall"]

    def push_raw(self, text: str) -> None:
        for transport in self.couples():
            transport.inbox.put_nowait(text)

    def push_couples(self, message: dict[str, Any], room: str = "room-1") -> None:
        for transport in self.couples(room):
            transport.push(message)

    def open_case(self, room: str = "room-1") -> FakeCase | None:
        return next(
            (
                c
                for c in self.cases.values()
                if c.room == room and c.state in ("ringing", "accepted", "unanswered")
            ),
            None,
        )

    def escalate(self, level: int) -> None:
        case = self.open_case()
        assert case is not None
        case.level = level
        self.push_couples({"type": "escalated", "case_id": case.case_id, "level": level})
        if level == 3:
            case.state = "unanswered"
            self.push_couples({"type": "unanswered", "case_id": case.case_id})
        self.push_couples({"type": "case", "case": case.body()})

    # --- the server ---------------------------------------------------------------------------

    async def handle(self, conn: FakeTransport, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if conn.identity is None:
            await self._hello(conn, message)
        elif kind == "ping":
            conn.push({"type": "pong"})
        elif kind == "emergency":
            self._emergency(conn, message)
        elif kind == "cancel":
            self._cancel(conn, message)
        elif kind == "availability":
            conn.available = bool(message["available"])
            conn.push({"type": "availability", "available": conn.available})
            if conn.available:
                for case in self.cases.values():
                    if case.state in ("ringing", "unanswered"):
                        self._ring(case, [conn])
        elif kind == "accept":
            self._accept(conn, message)
        elif kind == "connected":
            pass  # recorded in `received`; the server answers nothing
        elif kind == "end":
            self._end(message["case_id"], "clinician", message["outcome"])
        else:
            conn.push({"type": "error", "code": "bad_message", "message": "unknown"})

    async def _hello(self, conn: FakeTransport, message: dict[str, Any]) -> None:
        identity = self.tokens.get(message.get("token", ""))
        if identity is None:
            conn.push({"type": "error", "code": "token_invalid", "message": "Not a valid code."})
            await conn.close()
            return
        if identity.side != message.get("as"):
            conn.push({"type": "error", "code": "token_wrong_role", "message": "Wrong role."})
            await conn.close()
            return
        conn.identity = identity
        base = {"type": "hello_ok", "v": 1, "heartbeat_s": self.heartbeat_s, "as": identity.side}
        if identity.side == "couple":
            case = self.open_case(identity.room)
            body = case.body() if case else None
            conn.push({**base, "case": body, "plan": self.plan})
        else:
            cards = [
                c.card(self._names(c.room))
                for c in self.cases.values()
                if c.state in ("ringing", "unanswered")
            ]
            conn.push(
                {
                    **base,
                    "name": identity.name,
                    "tier": identity.tier,
                    "available": False,
                    "cases": cards,
                }
            )

    def _names(self, room: str) -> list[str]:
        return sorted(
            {i.name for i in self.tokens.values() if i.side == "couple" and i.room == room}
        )

    def _emergency(self, conn: FakeTransport, message: dict[str, Any]) -> None:
        assert conn.identity is not None
        room = conn.identity.room
        case = self.open_case(room)
        if case is not None:
            case.location = message.get("location", case.location)
            conn.push({"type": "case", "case": case.body()})
            return
        case = FakeCase(secrets.token_urlsafe(12), room, time.time(), message.get("location"))
        self.cases[case.case_id] = case
        conn.push({"type": "case", "case": case.body()})
        for other in self.couples(room):
            if other is not conn and other.identity and other.identity.name != conn.identity.name:
                other.push({"type": "case", "case": case.body()})
                other.push(
                    {"type": "raised_by", "case_id": case.case_id, "name": conn.identity.name}
                )
        self._ring(
            case,
            [
                c
                for c in self.clinicians()
                if c.available and c.identity is not None and c.identity.tier == 1
            ],
        )

    def _ring(self, case: FakeCase, clinicians: list[FakeTransport]) -> None:
        ms = (time.time() - case.requested_at) * 1000
        for conn in clinicians:
            case.rung.add(conn)
            assert conn.identity is not None
            conn.push(
                {
                    "type": "ring",
                    "case_id": case.case_id,
                    "tier": conn.identity.tier,
                    "ms_since_request": ms,
                    "case": case.card(self._names(case.room)),
                }
            )
        if clinicians:
            self.push_couples(
                {"type": "ringing", "case_id": case.case_id, "tier": 1, "count": len(clinicians)},
                case.room,
            )

    def _accept(self, conn: FakeTransport, message: dict[str, Any]) -> None:
        assert conn.identity is not None
        case = self.cases.get(message["case_id"])
        if case is None:
            conn.push({"type": "error", "code": "unknown_case", "message": "No such case."})
            return
        if case.state not in ("ringing", "unanswered"):
            conn.push({"type": "error", "code": "case_taken", "message": "Taken."})
            return
        case.state, case.clinician = "accepted", conn.identity.name
        room = f"emergency-{case.case_id}"
        conn.push(
            {
                "type": "accepted",
                "case": case.card(self._names(case.room), plan=True),
                "ticket": {"server": SERVER, "room": room, "token": "ticket-oncall"},
            }
        )
        for other in case.rung - {conn}:
            other.push({"type": "case_taken", "case_id": case.case_id, "by": conn.identity.name})
        self.push_couples(
            {
                "type": "accepted",
                "case_id": case.case_id,
                "clinician": conn.identity.name,
                "ticket": {"server": SERVER, "room": room, "token": "ticket-partner"},
            },
            case.room,
        )
        self.push_couples({"type": "case", "case": case.body()}, case.room)

    def _cancel(self, conn: FakeTransport, message: dict[str, Any]) -> None:
        case = self.cases.get(message["case_id"])
        if case is None or case.state not in ("ringing", "accepted", "unanswered"):
            conn.push({"type": "error", "code": "unknown_case", "message": "No such case."})
            return
        if case.state == "accepted":
            for clinician in self.clinicians():
                if clinician.identity and clinician.identity.name == case.clinician:
                    clinician.push({"type": "couple_cancelled", "case_id": case.case_id})
            return
        case.state = "cancelled"
        for clinician in case.rung:
            clinician.push({"type": "case_cancelled", "case_id": case.case_id})
        self.push_couples({"type": "case", "case": case.body()}, case.room)
        self.push_couples(
            {"type": "ended", "case_id": case.case_id, "by": "couple", "outcome": "cancelled"},
            case.room,
        )

    def _end(self, case_id: str, by: str, outcome: str) -> None:
        case = self.cases[case_id]
        case.state = "ended"
        ended = {"type": "ended", "case_id": case_id, "by": by, "outcome": outcome}
        self.push_couples({"type": "case", "case": case.body()}, case.room)
        self.push_couples(ended, case.room)
        for clinician in self.clinicians():
            if clinician.identity and clinician.identity.name == case.clinician:
                clinician.push(ended)


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    """Poll `condition()` until true, at most `timeout` seconds (then AssertionError)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(client: Any) -> Any:
    """Run `client.run()` as a task for the block; close it afterwards."""
    task = asyncio.ensure_future(client.run())
    try:
        yield task
    finally:
        await client.close()
        await asyncio.wait_for(task, 5.0)
