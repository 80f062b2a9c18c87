"""The emergency desk: cases, rings, escalation timers, records and pushes, tied together.

Every change to a case happens under its couple's lock, in one order: the machine takes the
step, the store commits its records (write-ahead), and only then is anyone told. Rings go out
in the handler of the request itself, not on a timer tick; timers only move the escalation
levels. A store failure is logged as an error and the emergency goes on: a person in crisis
is never refused because a disk is full.

Logs name a case by its random id and a couple by a short keyed hash; never a name, a token,
the location or a note.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.server.emergency.cases import CaseRateLimit, OpenCase, couple_key
from app.server.emergency.couples import Couples, accepted_for_couple
from app.server.emergency.escalation import (
    UNANSWERED_LEVEL,
    AcceptResult,
    CancelResult,
    CaseState,
    Escalation,
    EscalationError,
)
from app.server.emergency.roster import Link, Roster
from app.server.emergency.settings import EmergencySettings
from app.server.emergency.store import CaseStore, Plan, Record, Step, StoreError, utc_text
from app.server.emergency.tickets import call_ticket, new_case_id

log = logging.getLogger(__name__)

PLAN_POLL_S = 2.0
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
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._plans_seen = 0.0

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store and carry on with every open case (escalation from `requested_at`)."""
        await self.store.open()
        for row in await self.store.open_cases():
            case = OpenCase.from_row(row, self.settings.timings, self.now)
            self._add(case)
            log.info("case %s carried on after a restart (%s)", case.case_id, row.state)
        self._plans_seen = max(
            (p.updated_at for p in (await self.store.plans_since(0)).values()), default=0.0
        )
        self._spawn(self._watch_plans())

    async def stop(self) -> None:
        for task in list(self._tasks) + [c.timer for c in self.cases.values() if c.timer]:
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.store.close()

    def key(self, room: str) -> str:
        return couple_key(self.secret, room)

    # --- couples ------------------------------------------------------------------------------

    async def couple_hello(self, link: Link, key: str) -> tuple[dict[str, Any] | None, Plan | None]:
        """The couple's open case (or None) and its plan; names a new partner on the case."""
        self.couples.join(key, link)
        case = self.by_couple.get(key)
        if case is not None and case.add_name(link.name):
            async with self._lock(key):
                await self._commit(Step(case=case.row()))
        return (case.view() if case else None), await self.store.plan(key)

    def after_couple_hello(self, link: Link, key: str) -> None:
        """A partner coming back to an accepted case gets its ticket again."""
        case = self.by_couple.get(key)
        if case is not None and case.machine.state is CaseState.ACCEPTED:
            clinician = case.machine.clinician or ""
            link.push(accepted_for_couple(case.case_id, clinician, self._couple_ticket(case, link)))

    def couple_gone(self, link: Link, key: str) -> None:
        self.couples.leave(key, link)

    async def emergency(self, link: Link, key: str, location: str | None) -> None:
        async with self._lock(key):
            case = self.by_couple.get(key)
            if case is not None:
                await self._join_case(case, link, location)
                return
            now = self.now()
            if not self.limit.allow(key, now):
                raise DeskError(
                    "rate_limited", "too many emergency requests; call the crisis line now"
                )
            machine = Escalation(now, self.settings.timings, self.now)
            names = tuple(self.couples.names(key)) or (link.name,)
            case = OpenCase(new_case_id(), key, machine, location, names)
            rung = machine.ring(self._available())
            records = [
                Record(
                    now,
                    case.case_id,
                    "requested",
                    {"couple": key, "location_given": location is not None},
                )
            ]
            records += self._rung_records(case, rung)
            await self._commit(Step(records, case=case.row()))
            self._add(case)
            log.info("case %s requested by couple %s (%d rung)", case.case_id, key[:8], len(rung))
            self.couples.push(key, {"type": "case", "case": case.view()})
            self.couples.push_raised_by(key, link, case.case_id)
            self._push_rings(case, rung)

    async def cancel(self, link: Link, key: str, case_id: str) -> None:
        case = self._case_of_couple(key, case_id)
        async with self._lock(key):
            result = case.machine.cancel()
            if result is CancelResult.CLOSED:
                raise DeskError("unknown_case", "this case is already closed")
            accepted = result is CancelResult.TELL_CLINICIAN
            record = Record(
                self.now(), case_id, "cancelled", {"by": "couple", "accepted": accepted}
            )
            if accepted:
                await self._commit(Step([record]))
                self.roster.push(
                    case.machine.clinician or "", {"type": "couple_cancelled", "case_id": case_id}
                )
                link.push({"type": "case", "case": case.view()})
                return
            await self._commit(Step([record], closed=case_id))
            self._remove(case)
            log.info("case %s cancelled by the couple", case_id)
            self.couples.push(key, {"type": "case", "case": case.view()})
            ended = {"type": "ended", "case_id": case_id, "by": "couple", "outcome": "cancelled"}
            self.couples.push(key, ended)
            for name in case.machine.rung:
                self.roster.push(name, {"type": "case_cancelled", "case_id": case_id})

    # --- clinicians ---------------------------------------------------------------------------

    async def clinician_hello(self, link: Link) -> tuple[int, list[dict[str, Any]]]:
        """The clinician's tier and the open cases it may see: the ringing ones it was rung
        for, and the one it holds (with the plan). It starts away."""
        self.roster.join(link)
        cards = []
        for case in list(self.cases.values()):
            machine = case.machine
            if machine.state is CaseState.ACCEPTED and machine.clinician == link.name:
                cards.append(case.card(await self.store.plan(case.room_key)))
            elif machine.is_ringing and link.name in machine.rung:
                cards.append(case.card())
        return self.roster.tier(link.name), cards

    async def after_clinician_hello(self, link: Link) -> None:
        """A clinician coming back to the case it holds gets the card and its ticket again."""
        for case in list(self.cases.values()):
            if case.machine.state is CaseState.ACCEPTED and case.machine.clinician == link.name:
                link.push(await self._accepted_for_clinician(case, link))

    def clinician_gone(self, link: Link) -> None:
        if self.roster.leave(link):
            log.info("clinician %s away (connection gone)", self._tag(link.name))

    async def availability(self, link: Link, available: bool) -> None:
        became = self.roster.set_available(link, available)
        link.push({"type": "availability", "available": available})
        if not (became and available):
            return
        for case in list(self.cases.values()):
            if not case.machine.is_ringing:
                continue
            async with self._lock(case.room_key):
                if case.case_id not in self.cases:
                    continue
                tier = case.machine.ring_newcomer(link.name, self._available())
                if tier is None:
                    continue
                rung = {link.name: tier}
                await self._commit(Step(self._rung_records(case, rung)))
                self._push_rings(case, rung)

    async def accept(self, link: Link, case_id: str) -> None:
        case = self.cases.get(case_id)
        if case is None or link.name not in case.machine.rung:
            raise DeskError("unknown_case", "no such case for you")
        if not self.roster.is_available(link.name):
            raise DeskError("not_available", "set yourself available to accept a case")
        async with self._lock(case.room_key):
            result = case.machine.accept(link.name)
            if result is AcceptResult.TAKEN:
                taken_by = case.machine.clinician or ""
                raise DeskError("case_taken", f"this case was taken by {taken_by}")
            if result is not AcceptResult.ACCEPTED:
                raise DeskError("unknown_case", "this case is closed")
            now = self.now()
            await self._commit(
                Step([Record(now, case_id, "accepted", {"clinician": link.name})], case=case.row())
            )
            if case.timer is not None:
                case.timer.cancel()
            log.info(
                "case %s accepted by %s after %.1f s",
                case_id,
                self._tag(link.name),
                case.machine.waited_s(),
            )
            accepted = await self._accepted_for_clinician(case, link)
            self.roster.push(link.name, accepted)
            taken = {"type": "case_taken", "case_id": case_id, "by": link.name}
            for name in case.machine.rung:
                if name != link.name:
                    self.roster.push(name, taken)
            self.couples.push(case.room_key, {"type": "case", "case": case.view()})
            self.couples.push_accepted(
                case.room_key,
                case_id,
                link.name,
                lambda partner: self._couple_ticket(case, partner),
            )

    async def end(
        self, link: Link, case_id: str, outcome: str, follow_up_due: float | None, note: str
    ) -> None:
        case = self.cases.get(case_id)
        if case is None or case.machine.clinician != link.name:
            raise DeskError("unknown_case", "you do not hold this case")
        async with self._lock(case.room_key):
            try:
                due = case.machine.end(link.name, outcome, follow_up_due)
            except EscalationError as exc:
                raise DeskError("bad_message", str(exc)) from None
            detail = {
                "by": "clinician",
                "clinician": link.name,
                "outcome": outcome,
                "follow_up_due": utc_text(due),
                "note": note,
            }
            await self._commit(Step([Record(self.now(), case_id, "ended", detail)], closed=case_id))
            self._remove(case)
            log.info("case %s ended (%s)", case_id, outcome)
            ended = {
                "type": "ended",
                "case_id": case_id,
                "by": "clinician",
                "outcome": outcome,
                "follow_up_due": due,
            }
            self.couples.push(case.room_key, {"type": "case", "case": case.view()})
            self.couples.push(case.room_key, ended)
            self.roster.push(link.name, ended)

    async def connected(self, link: Link, key: str | None, case_id: str) -> None:
        """First media in the case's call, reported by either side: recorded once."""
        case = self.cases.get(case_id)
        mine = case is not None and (case.room_key == key or case.machine.clinician == link.name)
        if case is None or not mine:
            raise DeskError("unknown_case", "no such case for you")
        async with self._lock(case.room_key):
            if case.connected or case.machine.state is not CaseState.ACCEPTED:
                return
            case.connected = True
            side = "couple" if key is not None else "clinician"
            await self._commit(Step([Record(self.now(), case_id, "connected", {"by": side})]))

    # --- escalation ---------------------------------------------------------------------------

    async def _escalate(self, case: OpenCase) -> None:
        while (due := case.machine.next_due()) is not None:
            await asyncio.sleep(max(0.0, due - self.now()))
            async with self._lock(case.room_key):
                if case.case_id not in self.cases:
                    return
                levels = case.machine.advance()
                if not levels:
                    continue
                now = self.now()
                records = [Record(now, case.case_id, "escalated", {"level": lv}) for lv in levels]
                unanswered = UNANSWERED_LEVEL in levels
                if unanswered:
                    records.append(
                        Record(
                            now,
                            case.case_id,
                            "unanswered",
                            {"waited_s": round(case.machine.waited_s(), 1)},
                        )
                    )
                rung = case.machine.ring(self._available())
                records += self._rung_records(case, rung)
                await self._commit(Step(records, case=case.row()))
                log.info(
                    "case %s escalated to level %d (%d rung)", case.case_id, levels[-1], len(rung)
                )
                self.couples.push(case.room_key, {"type": "case", "case": case.view()})
                self.couples.push(
                    case.room_key,
                    {"type": "escalated", "case_id": case.case_id, "level": levels[-1]},
                )
                if unanswered:
                    self.couples.push(
                        case.room_key, {"type": "unanswered", "case_id": case.case_id}
                    )
                    if self.on_unanswered is not None:
                        self._spawn(self._call_hook(case))
                self._push_rings(case, rung)

    async def _call_hook(self, case: OpenCase) -> None:
        assert self.on_unanswered is not None
        status = await self.on_unanswered(case)
        await self._commit(Step([Record(self.now(), case.case_id, "webhook", {"status": status})]))

    # --- plans --------------------------------------------------------------------------------

    async def _watch_plans(self) -> None:
        """Push a plan the therapist changed (`tandem plan set`) to its couple's connections."""
        while True:
            await asyncio.sleep(PLAN_POLL_S)
            self.limit.prune(self.now())
            try:
                changed = await self.store.plans_since(self._plans_seen)
            except StoreError as exc:
                log.error("cannot read the safety plans: %s", exc)
                continue
            for key, plan in changed.items():
                self._plans_seen = max(self._plans_seen, plan.updated_at)
                self.couples.push(key, {"type": "plan", "plan": plan.wire()})
                case = self.by_couple.get(key)
                if case is not None and case.machine.state is CaseState.ACCEPTED:
                    card = {"type": "case", "case": case.card(plan)}
                    self.roster.push(case.machine.clinician or "", card)

    # --- helpers ------------------------------------------------------------------------------

    def _available(self) -> dict[str, int]:
        busy = {c.machine.clinician for c in self.cases.values() if c.machine.clinician}
        return self.roster.available(busy={name for name in busy if name})

    def _rung_records(self, case: OpenCase, rung: dict[str, int]) -> list[Record]:
        now = self.now()
        return [
            Record(now, case.case_id, "rung", {"clinician": name, "tier": tier})
            for name, tier in rung.items()
        ]

    def _push_rings(self, case: OpenCase, rung: dict[str, int]) -> None:
        """Ring `rung` now and tell the couple how many clinicians are being rung."""
        machine = case.machine
        ms = round(machine.waited_s() * 1000.0, 1)
        card = case.card()
        for name, tier in rung.items():
            self.roster.push(
                name,
                {
                    "type": "ring",
                    "case_id": case.case_id,
                    "tier": tier,
                    "ms_since_request": ms,
                    "case": card,
                },
            )
        available = self._available()
        count = sum(1 for name in machine.rung if name in available)
        self.couples.push(
            case.room_key,
            {
                "type": "ringing",
                "case_id": case.case_id,
                "tier": machine.ringing_tier(available),
                "count": count,
            },
        )

    async def _join_case(self, case: OpenCase, link: Link, location: str | None) -> None:
        """A second request for an open case joins it (and updates the location)."""
        changed = case.add_name(link.name)
        if location is not None and location != case.location:
            case.location, changed = location, True
        if changed:
            await self._commit(Step(case=case.row()))
        self.couples.push(case.room_key, {"type": "case", "case": case.view()})
        if case.machine.state is CaseState.ACCEPTED:
            clinician = case.machine.clinician or ""
            link.push(accepted_for_couple(case.case_id, clinician, self._couple_ticket(case, link)))
            plan = await self.store.plan(case.room_key)
            self.roster.push(clinician, {"type": "case", "case": case.card(plan)})

    async def _accepted_for_clinician(self, case: OpenCase, link: Link) -> dict[str, Any]:
        plan = await self.store.plan(case.room_key)
        ticket = call_ticket(
            self.secret,
            link.origin,
            case.case_id,
            role="oncall",
            name=link.name,
            standing_jti=link.jti,
            now=self.now(),
        )
        return {"type": "accepted", "case": case.card(plan), "ticket": ticket}

    def _couple_ticket(self, case: OpenCase, link: Link) -> dict[str, Any]:
        return call_ticket(
            self.secret,
            link.origin,
            case.case_id,
            role="partner",
            name=link.name,
            standing_jti=link.jti,
            now=self.now(),
        )

    def _case_of_couple(self, key: str, case_id: str) -> OpenCase:
        case = self.cases.get(case_id)
        if case is None or case.room_key != key:
            raise DeskError("unknown_case", "no such case for this couple")
        return case

    def _add(self, case: OpenCase) -> None:
        self.cases[case.case_id] = case
        self.by_couple[case.room_key] = case
        if case.machine.next_due() is not None:
            case.timer = asyncio.create_task(self._escalate(case))

    def _remove(self, case: OpenCase) -> None:
        self.cases.pop(case.case_id, None)
        if self.by_couple.get(case.room_key) is case:
            del self.by_couple[case.room_key]
        if case.timer is not None and case.timer is not asyncio.current_task():
            case.timer.cancel()

    async def _commit(self, step: Step) -> None:
        try:
            await self.store.write(step)
        except StoreError as exc:
            log.error("could not record a step of a case (the case goes on): %s", exc)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _tag(self, name: str) -> str:
        return couple_key(self.secret, "clinician:" + name)[:8]

    @contextlib.asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
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
