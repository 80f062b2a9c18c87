"""Rings and escalation: who is rung now, the timer that moves a case up its levels, the
webhook when it goes unanswered, and the safety plans pushed when a therapist changes one.

Rings go out from the handler of the step that causes them (a request, a clinician becoming
available, a new level), never on a periodic tick, so the first ring leaves within
milliseconds of the request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from app.server.emergency.cases import OpenCase
from app.server.emergency.escalation import UNANSWERED_LEVEL, CaseState
from app.server.emergency.store import Record, Step, StoreError

if TYPE_CHECKING:
    from app.server.emergency.desk import Desk

log = logging.getLogger(__name__)

PLAN_POLL_S = 2.0


def rung_records(desk: Desk, case: OpenCase, rung: dict[str, int]) -> list[Record]:
    now = desk.now()
    return [
        Record(now, case.case_id, "rung", {"clinician": name, "tier": tier})
        for name, tier in rung.items()
    ]


def push_rings(desk: Desk, case: OpenCase, rung: dict[str, int]) -> None:
    """Ring `rung` now, and tell the couple how many clinicians are being rung."""
    machine = case.machine
    ms = round(machine.waited_s() * 1000.0, 1)
    card = case.card()
    for name, tier in rung.items():
        ring = {
            "type": "ring",
            "case_id": case.case_id,
            "tier": tier,
            "ms_since_request": ms,
            "case": card,
        }
        desk.roster.push(name, ring)
    available = desk.available()
    ringing = {
        "type": "ringing",
        "case_id": case.case_id,
        "tier": machine.ringing_tier(available),
        "count": sum(1 for name in machine.rung if name in available),
    }
    desk.couples.push(case.room_key, ringing)


async def escalate(desk: Desk, case: OpenCase) -> None:
    """The case's timer: each level at its time, with its records, pushes and rings."""
    while (due := case.machine.next_due()) is not None:
        await asyncio.sleep(max(0.0, due - desk.now()))
        async with desk.lock(case.room_key):
            if case.case_id not in desk.cases:
                return
            levels = case.machine.advance()
            if not levels:
                continue
            now = desk.now()
            records = [Record(now, case.case_id, "escalated", {"level": lv}) for lv in levels]
            unanswered = UNANSWERED_LEVEL in levels
            if unanswered:
                waited = round(case.machine.waited_s(), 1)
                records.append(Record(now, case.case_id, "unanswered", {"waited_s": waited}))
            rung = case.machine.ring(desk.available())
            await desk.commit(Step([*records, *rung_records(desk, case, rung)], case=case.row()))
            log.info("case %s at level %d (%d rung)", case.case_id, levels[-1], len(rung))
            key = case.room_key
            desk.couples.push(key, {"type": "case", "case": case.view()})
            desk.couples.push(
                key, {"type": "escalated", "case_id": case.case_id, "level": levels[-1]}
            )
            if unanswered:
                desk.couples.push(key, {"type": "unanswered", "case_id": case.case_id})
                if desk.on_unanswered is not None:
                    desk.spawn(_call_hook(desk, case))
            push_rings(desk, case, rung)


async def _call_hook(desk: Desk, case: OpenCase) -> None:
    assert desk.on_unanswered is not None
    status = await desk.on_unanswered(case)
    await desk.commit(Step([Record(desk.now(), case.case_id, "webhook", {"status": status})]))


async def watch_plans(desk: Desk) -> None:
    """Push a plan the therapist changed (`tandem plan set`) to its couple's connections and
    to the clinician holding the couple's case; forget old rate-limit entries on the way."""
    while True:
        await asyncio.sleep(PLAN_POLL_S)
        desk.limit.prune(desk.now())
        try:
            changed = await desk.store.plans_since(desk.plans_seen)
        except StoreError as exc:
            log.error("cannot read the safety plans: %s", exc)
            continue
        for key, plan in changed.items():
            desk.plans_seen = max(desk.plans_seen, plan.updated_at)
            desk.couples.push(key, {"type": "plan", "plan": plan.wire()})
            case = desk.by_couple.get(key)
            if case is not None and case.machine.state is CaseState.ACCEPTED:
                desk.roster.push(
                    case.machine.clinician or "", {"type": "case", "case": case.card(plan)}
                )
