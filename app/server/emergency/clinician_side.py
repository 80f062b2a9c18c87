"""What an on-call clinician's connection may do: see the cases it is rung for, set itself
available or away, accept a case (the first accept wins), end it with an outcome, and report
the first media of the call (desk.py records it)."""

from __future__ import annotations

import logging
from typing import Any

from app.server.emergency.cases import OpenCase
from app.server.emergency.desk import Desk, DeskError
from app.server.emergency.escalation import AcceptResult, CaseState, EscalationError
from app.server.emergency.ringer import push_rings, rung_records
from app.server.emergency.roster import Link
from app.server.emergency.store import Record, Step, utc_text

log = logging.getLogger(__name__)


def _holds(case: OpenCase, name: str) -> bool:
    return case.machine.state is CaseState.ACCEPTED and case.machine.clinician == name


async def hello(desk: Desk, link: Link) -> tuple[int, list[dict[str, Any]]]:
    """The clinician's tier and the open cases it may see: the ringing ones it was rung for,
    and the one it holds (with the plan). It starts away."""
    desk.roster.join(link)
    cards = []
    for case in list(desk.cases.values()):
        if _holds(case, link.name):
            cards.append(case.card(await desk.store.plan(case.room_key)))
        elif case.machine.is_ringing and link.name in case.machine.rung:
            cards.append(case.card())
    return desk.roster.tier(link.name), cards


async def after_hello(desk: Desk, link: Link) -> None:
    """A clinician coming back to the case it holds gets the card and its ticket again."""
    for case in list(desk.cases.values()):
        if _holds(case, link.name):
            link.push(await _accepted(desk, case, link))


def gone(desk: Desk, link: Link) -> None:
    if desk.roster.leave(link):
        log.info("clinician %s away (connection gone)", desk.tag(link.name))


async def availability(desk: Desk, link: Link, available: bool) -> None:
    """Available or away; a clinician becoming available is rung at once for ringing cases."""
    became = desk.roster.set_available(link, available)
    link.push({"type": "availability", "available": available})
    if not (became and available):
        return
    log.info("clinician %s available", desk.tag(link.name))
    for case in list(desk.cases.values()):
        if not case.machine.is_ringing:
            continue
        async with desk.lock(case.room_key):
            if case.case_id not in desk.cases:
                continue
            tier = case.machine.ring_newcomer(link.name, desk.available())
            if tier is None:
                continue
            rung = {link.name: tier}
            await desk.commit(Step(rung_records(desk, case, rung)))
            push_rings(desk, case, rung)


async def accept(desk: Desk, link: Link, case_id: str) -> None:
    case = desk.case_for(case_id)
    if link.name not in case.machine.rung:
        raise DeskError("unknown_case", "no such open case for you")
    if not desk.roster.is_available(link.name):
        raise DeskError("not_available", "set yourself available to accept a case")
    async with desk.lock(case.room_key):
        result = case.machine.accept(link.name)
        if result is AcceptResult.TAKEN:
            raise DeskError("case_taken", f"this case was taken by {case.machine.clinician}")
        if result is not AcceptResult.ACCEPTED:
            raise DeskError("unknown_case", "this case is closed")
        record = Record(desk.now(), case_id, "accepted", {"clinician": link.name})
        await desk.commit(Step([record], case=case.row()))
        desk.stop_timer(case)
        waited = case.machine.waited_s()
        log.info("case %s accepted by %s after %.1f s", case_id, desk.tag(link.name), waited)
        desk.roster.push(link.name, await _accepted(desk, case, link))
        taken = {"type": "case_taken", "case_id": case_id, "by": link.name}
        for name in case.machine.rung:
            if name != link.name:
                desk.roster.push(name, taken)
        desk.couples.push(case.room_key, {"type": "case", "case": case.view()})
        desk.couples.push_accepted(
            case.room_key, case_id, link.name, lambda partner: desk.ticket(case, partner, "partner")
        )


async def end(
    desk: Desk, link: Link, case_id: str, outcome: str, follow_up_due: float | None, note: str
) -> None:
    case = desk.case_for(case_id)
    if case.machine.clinician != link.name:
        raise DeskError("unknown_case", "you do not hold this case")
    async with desk.lock(case.room_key):
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
        await desk.commit(Step([Record(desk.now(), case_id, "ended", detail)], closed=case_id))
        desk.remove(case)
        log.info("case %s ended (%s)", case_id, outcome)
        ended = {
            "type": "ended",
            "case_id": case_id,
            "by": "clinician",
            "outcome": outcome,
            "follow_up_due": due,
        }
        desk.couples.push(case.room_key, {"type": "case", "case": case.view()})
        desk.couples.push(case.room_key, ended)
        desk.roster.push(link.name, ended)


async def _accepted(desk: Desk, case: OpenCase, link: Link) -> dict[str, Any]:
    plan = await desk.store.plan(case.room_key)
    ticket = desk.ticket(case, link, "oncall")
    return {"type": "accepted", "case": case.card(plan), "ticket": ticket}
