"""The emergency desk: the open cases, the roster and the couples of one server, and the few
rules every step follows.

Every change to a case happens under its couple's lock (`Desk.lock`), in one order: the
machine takes the step, the store commits its records (write-ahead), and only then is anyone
told. What a couple may do is in couple_side.py, what a clinician may do in clinician_side.py,
and the escalation timers and rings in ringer.py. A store failure is logged as an error and
the emergency goes on: a person in crisis is never refused because a disk is full.

Logs name a case by its random id, a couple or a clinician by a short keyed hash; never a
name, a token, the location or a note.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.server.emergency import ringer
from app.server.emergency.cases import CaseRateLimit, OpenCase, couple_key
from app.server.emergency.couples import Couples
from app.server.emergency.escalation import CaseState
from app.server.emergency.roster import Link, Roster
from app.server.emergency.settings import EmergencySettings
from app.server.emergency.store import CaseStore, Record, Step, StoreError
from app.server.emergency.tickets import call_ticket

log = logging.getLogger(__name__)

# Called when a case goes unanswered (the webhook); returns the status to record.
UnansweredHook = Callable[[OpenCase], Awaitable[str]]


class DeskError(Exception):
    """A refused request; `code` and `message` go to the client as a non-fatal error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Desk:
    def __init__(
        self,
        secret: str,
        settings: EmergencySettings,
        store: CaseStore,
        *,
        now: Callable[[], float] = time.time,
        on_unanswered: UnansweredHook | None = None,
    ) -> None:
        self.secret = secret
        self.settings = settings
        self.store = store
        self.now = now
        self.on_unanswered = on_unanswered
        self.roster = Roster(settings)
        self.couples = Couples()
        self.cases: dict[str, OpenCase] = {}
        self.by_couple: dict[str, OpenCase] = {}
        self.limit = CaseRateLimit()
        self.plans_seen = 0.0  # the newest plan's updated_at pushed so far
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the store and carry on with every open case (escalation from `requested_at`)."""
        await self.store.open()
        for row in await self.store.open_cases():
            case = OpenCase.from_row(row, self.settings.timings, self.now)
            self.add(case)
            log.info("case %s carried on after a restart (%s)", case.case_id, row.state)
        plans = await self.store.plans_since(0.0)
        self.plans_seen = max((plan.updated_at for plan in plans.values()), default=0.0)
        self.spawn(ringer.watch_plans(self))

    async def stop(self) -> None:
        tasks = list(self._tasks) + [c.timer for c in self.cases.values() if c.timer is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.store.close()

    def key(self, room: str) -> str:
        return couple_key(self.secret, room)

    def tag(self, name: str) -> str:
        """A clinician in logs: a short keyed hash of its name."""
        return couple_key(self.secret, "clinician:" + name)[:8]

    def available(self) -> dict[str, int]:
        """Clinicians to ring (name -> tier): available, and not holding a case."""
        busy = {c.machine.clinician for c in self.cases.values()}
        return self.roster.available(busy={name for name in busy if name})

    def case_for(self, case_id: str, *, couple: str | None = None) -> OpenCase:
        """An open case by id (of this couple, if given); DeskError `unknown_case` if none."""
        case = self.cases.get(case_id)
        if case is None or (couple is not None and case.room_key != couple):
            raise DeskError("unknown_case", "no such open case for you")
        return case

    def ticket(self, case: OpenCase, link: Link, role: str) -> dict[str, Any]:
        """The CallTicket of one person (its own name, a jti derived from its token's)."""
        return call_ticket(
            self.secret,
            link.origin,
            case.case_id,
            role=role,
            name=link.name,
            standing_jti=link.jti,
            now=self.now(),
        )

    def add(self, case: OpenCase) -> None:
        self.cases[case.case_id] = case
        self.by_couple[case.room_key] = case
        if case.machine.next_due() is not None:
            case.timer = asyncio.create_task(ringer.escalate(self, case))

    def remove(self, case: OpenCase) -> None:
        self.cases.pop(case.case_id, None)
        if self.by_couple.get(case.room_key) is case:
            del self.by_couple[case.room_key]
        self.stop_timer(case)

    @staticmethod
    def stop_timer(case: OpenCase) -> None:
        if case.timer is not None and case.timer is not asyncio.current_task():
            case.timer.cancel()
        case.timer = None

    async def connected(self, link: Link, couple: str | None, case_id: str) -> None:
        """The first media of the case's call, reported by either side: recorded once.
        `couple` is the key of a couple's connection, None for a clinician's."""
        case = self.case_for(case_id)
        theirs = (
            case.room_key == couple if couple is not None else (case.machine.clinician == link.name)
        )
        if not theirs:
            raise DeskError("unknown_case", "no such open case for you")
        async with self.lock(case.room_key):
            if case.connected or case.machine.state is not CaseState.ACCEPTED:
                return
            case.connected = True
            side = "clinician" if couple is None else "couple"
            await self.commit(Step([Record(self.now(), case_id, "connected", {"by": side})]))

    async def commit(self, step: Step) -> None:
        """Write `step` before anyone is told of it; a failure is logged, the case goes on."""
        try:
            await self.store.write(step)
        except StoreError as exc:
            log.error("could not record a step of a case (the case goes on): %s", exc)

    def spawn(self, coro: Awaitable[None]) -> None:
        """A background task of the desk, cancelled when it stops."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """One lock per couple, dropped when nobody holds or waits for it."""
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]
