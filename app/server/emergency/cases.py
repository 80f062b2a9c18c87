"""An open case as the desk holds it (machine, couple, location), its wire views, and the
per-couple limit on new cases.

Couples are named by `couple_key`: a keyed hash of the room id, the same in the records, the
open cases and the safety plans, that reveals nothing without the server's secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import deque
from collections.abc import Callable
from typing import Any

from app.server.emergency.escalation import CaseState, Escalation, Timings
from app.server.emergency.store import CaseRow, Plan

# At most this many new cases per couple in the window; beyond it a request joins the open case.
CASES_PER_WINDOW = 3
CASE_WINDOW_S = 600.0


def couple_key(secret: str, room: str) -> str:
    """hex(HMAC-SHA256(secret, "couple:" + room))[:32]: how records and plans name a couple."""
    digest = hmac.new(secret.encode("utf-8"), f"couple:{room}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


class OpenCase:
    """One couple's case while it is open: the escalation machine plus what the wire shows."""

    def __init__(
        self,
        case_id: str,
        room_key: str,
        machine: Escalation,
        location: str | None = None,
        names: tuple[str, ...] = (),
    ) -> None:
        self.case_id = case_id
        self.room_key = room_key
        self.machine = machine
        self.location = location
        self.names = names
        self.timer: asyncio.Task[None] | None = None
        self.connected = False  # the first media was reported (recorded once)

    @classmethod
    def from_row(cls, row: CaseRow, timings: Timings, now: Callable[[], float]) -> OpenCase:
        machine = Escalation(
            row.requested_at,
            timings,
            now,
            state=CaseState(row.state),
            level=row.level,
            clinician=row.clinician,
        )
        return cls(row.case_id, row.room_key, machine, row.location, row.names)

    def add_name(self, name: str) -> bool:
        """A partner's name seen for this couple; True when it is new."""
        if name in self.names:
            return False
        self.names = (*self.names, name)
        return True

    def row(self) -> CaseRow:
        m = self.machine
        return CaseRow(
            case_id=self.case_id,
            room_key=self.room_key,
            state=m.state.value,
            level=m.level,
            requested_at=m.requested_at,
            clinician=m.clinician,
            location=self.location,
            names=self.names,
        )

    def view(self) -> dict[str, Any]:
        """The `Case` object of docs/emergency.md (the location is cleared once closed)."""
        m = self.machine
        return {
            "case_id": self.case_id,
            "state": m.state.value,
            "requested_at": m.requested_at,
            "waited_s": round(m.waited_s(), 3),
            "level": m.level,
            "clinician": m.clinician,
            "location": self.location if m.is_open else None,
        }

    def card(self, plan: Plan | None = None) -> dict[str, Any]:
        """The clinician's `CaseCard`; the plan only for the one holding the case."""
        card = self.view()
        card["couple"] = {"names": list(self.names)}
        card["plan"] = plan.wire() if plan is not None else None
        return card


class CaseRateLimit:
    """At most CASES_PER_WINDOW new cases per couple in any CASE_WINDOW_S (a sliding window).

    Kept apart from the couples' connections, so reconnecting does not reset it."""

    def __init__(self, limit: int = CASES_PER_WINDOW, window_s: float = CASE_WINDOW_S) -> None:
        self._limit = limit
        self._window_s = window_s
        self._opened: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        """Whether `key` may open a new case now; if so, counts it."""
        self.prune(now)
        opened = self._opened.setdefault(key, deque())
        if len(opened) >= self._limit:
            return False
        opened.append(now)
        return True

    def prune(self, now: float) -> None:
        """Forget what fell out of the window (bounds memory to the couples of the last window)."""
        for key in list(self._opened):
            opened = self._opened[key]
            while opened and opened[0] <= now - self._window_s:
                opened.popleft()
            if not opened:
                del self._opened[key]
