"""Where cases, their records and the safety plans are kept: the `CaseStore` interface.

A write is one `Step`: the records of what happened plus the open case's row as it is now (or
its removal once closed), applied together. The desk awaits a step's write before it tells
anyone, so nothing is acknowledged that a restart could lose. `SqliteCaseStore`
(app/server/emergency/sqlite_store.py) is the real one; `MemoryCaseStore` serves practice mode
and tests; a PostgreSQL store could implement the same few methods.

Privacy: records name a couple only by a keyed hash of its room id (`room_key`), never carry
the location text, a token, a chat line or an SDP.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

RECORD_KINDS = frozenset(
    {
        "requested",
        "rung",
        "accepted",
        "escalated",
        "connected",
        "cancelled",
        "unanswered",
        "webhook",
        "ended",
    }
)


def utc_text(at: float) -> str:
    """A unix time as ISO 8601 UTC with milliseconds (`2025-01-31T03:04:05.678Z`): sortable."""
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Record:
    """One step of one case, as the audit shows it. `detail` holds no free text but the note."""

    at: float  # unix seconds (stored as UTC text)
    case_id: str
    kind: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in RECORD_KINDS:
            raise ValueError(f"unknown record kind {self.kind!r}")

    @property
    def at_utc(self) -> str:
        return utc_text(self.at)


@dataclass(frozen=True)
class CaseRow:
    """An open case as it is kept so that a restarted server carries on with it."""

    case_id: str
    room_key: str
    state: str
    level: int
    requested_at: float
    clinician: str | None
    location: str | None
    names: tuple[str, ...]  # the partners' display names seen for this couple


@dataclass(frozen=True)
class Plan:
    text: str
    updated_at: float

    def wire(self) -> dict[str, Any]:
        return {"text": self.text, "updated_at": self.updated_at}


@dataclass(frozen=True)
class Step:
    """What one write applies at once: records, and the case's row (kept, or removed)."""

    records: Sequence[Record] = ()
    case: CaseRow | None = None  # insert or replace this open case
    closed: str | None = None  # remove this case id from the open cases


class CaseStore(Protocol):
    async def open(self) -> None:
        """Create or migrate the storage; raises StoreError when it cannot."""

    async def close(self) -> None: ...

    async def write(self, step: Step) -> None:
        """Apply `step` durably; returns once it is committed (raises StoreError if not)."""

    async def open_cases(self) -> list[CaseRow]: ...

    async def records(self, since: float | None = None, case_id: str | None = None) -> list[Record]:
        """Records in the order they were written, from `since` (unix s) and of one case."""
        ...

    async def plan(self, room_key: str) -> Plan | None: ...

    async def set_plan(self, room_key: str, plan: Plan) -> None: ...

    async def plans_since(self, updated_after: float) -> dict[str, Plan]:
        """The plans (room_key -> plan) changed after `updated_after`."""
        ...


class StoreError(Exception):
    """The store cannot be opened or written; the message says what and where."""


class MemoryCaseStore:
    """A CaseStore in this process's memory (practice mode, tests): lost on exit."""

    def __init__(self) -> None:
        self._records: list[Record] = []
        self._cases: dict[str, CaseRow] = {}
        self._plans: dict[str, Plan] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def write(self, step: Step) -> None:
        self._records.extend(step.records)
        if step.case is not None:
            self._cases[step.case.case_id] = step.case
        if step.closed is not None:
            self._cases.pop(step.closed, None)

    async def open_cases(self) -> list[CaseRow]:
        return list(self._cases.values())

    async def records(self, since: float | None = None, case_id: str | None = None) -> list[Record]:
        return [
            r
            for r in self._records
            if (since is None or r.at >= since) and (case_id is None or r.case_id == case_id)
        ]

    async def plan(self, room_key: str) -> Plan | None:
        return self._plans.get(room_key)

    async def set_plan(self, room_key: str, plan: Plan) -> None:
        self._plans[room_key] = plan

    async def plans_since(self, updated_after: float) -> dict[str, Plan]:
        return {key: p for key, p in self._plans.items() if p.updated_at > updated_after}
