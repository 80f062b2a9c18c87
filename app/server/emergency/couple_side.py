"""What a couple's connection may do: watch its case, raise the alarm (or join the open case),
and cancel ("I'm safe now"). A couple only ever sees and touches its own case."""

from __future__ import annotations

import logging
from typing import Any

from app.server.emergency.cases import OpenCase
from app.server.emergency.couples import accepted_for_couple
from app.server.emergency.desk import Desk, DeskError
from app.server.emergency.escalation import CancelResult, CaseState, Escalation
from app.server.emergency.ringer import push_rings, rung_records
from app.server.emergency.roster import Link
from app.server.emergency.store import Plan, Record, Step
from app.server.emergency.tickets import new_case_id

log = logging.getLogger(__name__)


async def hello(desk: Desk, link: Link, key: str) -> tuple[dict[str, Any] | None, Plan | None]:
    """The couple's open case (or None) and its plan; a partner new to the case is named."""
    desk.couples.join(key, link)
    case = desk.by_couple.get(key)
    if case is not None:
        async with desk.lock(key):
            if case.add_name(link.name):
                await desk.commit(Step(case=case.row()))
    return (case.view() if case else None), await desk.store.plan(key)


def after_hello(desk: Desk, link: Link, key: str) -> None:
    """A partner coming back to an accepted case gets its ticket again."""
    case = desk.by_couple.get(key)
    if case is not None and case.machine.state is CaseState.ACCEPTED:
        _send_ticket(desk, case, link)


def gone(desk: Desk, link: Link, key: str) -> None:
    desk.couples.leave(key, link)


async def emergency(desk: Desk, link: Link, key: str, location: str | None) -> None:
    """Open the couple's case and ring at once, or join the case already open."""
    async with desk.lock(key):
        case = desk.by_couple.get(key)
        if case is not None:
            await _join(desk, case, link, location)
            return
        now = desk.now()
        if not desk.limit.allow(key, now):
            raise DeskError("rate_limited", "too many emergency requests; call the crisis line")
        machine = Escalation(now, desk.settings.timings, desk.now)
        names = tuple(desk.couples.names(key)) or (link.name,)
        case = OpenCase(new_case_id(), key, machine, location, names)
        rung = machine.ring(desk.available())
        detail = {"couple": key, "location_given": location is not None}
        records = [Record(now, case.case_id, "requested", detail), *rung_records(desk, case, rung)]
        await desk.commit(Step(records, case=case.row()))
        desk.add(case)
        log.info("case %s requested by couple %s (%d rung)", case.case_id, key[:8], len(rung))
        desk.couples.push(key, {"type": "case", "case": case.view()})
        desk.couples.push_raised_by(key, link, case.case_id)
        push_rings(desk, case, rung)


async def cancel(desk: Desk, link: Link, key: str, case_id: str) -> None:
    """A ringing case closes; on an accepted one the clinician is told (and ends it)."""
    case = desk.case_for(case_id, couple=key)
    async with desk.lock(key):
        result = case.machine.cancel()
        if result is CancelResult.CLOSED:
            raise DeskError("unknown_case", "this case is already closed")
        accepted = result is CancelResult.TELL_CLINICIAN
        detail = {"by": "couple", "accepted": accepted}
        record = Record(desk.now(), case_id, "cancelled", detail)
        if accepted:
            await desk.commit(Step([record]))
            notice = {"type": "couple_cancelled", "case_id": case_id}
            desk.roster.push(case.machine.clinician or "", notice)
            link.push({"type": "case", "case": case.view()})
            return
        await desk.commit(Step([record], closed=case_id))
        desk.remove(case)
        log.info("case %s cancelled by the couple", case_id)
        desk.couples.push(key, {"type": "case", "case": case.view()})
        ended = {"type": "ended", "case_id": case_id, "by": "couple", "outcome": "cancelled"}
        desk.couples.push(key, ended)
        for name in case.machine.rung:
            desk.roster.push(name, {"type": "case_cancelled", "case_id": case_id})


async def _join(desk: Desk, case: OpenCase, link: Link, location: str | None) -> None:
    """A second request for the open case joins it (and updates the location)."""
    changed = case.add_name(link.name)
    if location is not None and location != case.location:
        case.location, changed = location, True
    if changed:
        await desk.commit(Step(case=case.row()))
    desk.couples.push(case.room_key, {"type": "case", "case": case.view()})
    if case.machine.state is CaseState.ACCEPTED:
        _send_ticket(desk, case, link)
        if changed:
            plan = await desk.store.plan(case.room_key)
            desk.roster.push(
                case.machine.clinician or "", {"type": "case", "case": case.card(plan)}
            )


def _send_ticket(desk: Desk, case: OpenCase, link: Link) -> None:
    clinician = case.machine.clinician or ""
    ticket = desk.ticket(case, link, "partner")
    link.push(accepted_for_couple(case.case_id, clinician, ticket))
