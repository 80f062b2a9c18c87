"""What one event of the couple's emergency connection means for this app (Qt-free).

`react` moves the HelpFlow on and says what else the app must do: open or leave the case's
call, re-read the safety plan, show or hide the other partner's prompt. The desktop app's
controller only carries it out, so every rule here is tested without a display.

`ours`: the event belongs to the request the card shows (in practice mode only the practice
run's connection is; in clinic mode the couple's one connection always is). An event for an
open case while this app has no request open is the other partner's: it becomes the prompt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.emergency.events import (
    Accepted,
    CaseChanged,
    Connected,
    CoupleEvent,
    Declined,
    Ended,
    Escalated,
    Offline,
    PlanChanged,
    RaisedBy,
    Refused,
    Ringing,
    Unanswered,
)
from app.emergency.help_flow import HelpFlow
from app.emergency.help_words import partner_prompt
from app.emergency.models import Case

log = logging.getLogger(__name__)

OPEN_CASE_PROMPT = "A request for help is open for you and your partner — join now"


@dataclass(frozen=True)
class Reaction:
    open_call: bool = False  # a clinician accepted our case: its call opens
    case_closed: bool = False  # our case ended: its call ends too
    plan_changed: bool = False  # the safety plan kept on this computer may have changed
    prompt: str | None = None  # the partner prompt's new text ("" hides it; None: unchanged)


def accepted_prompt(clinician: str) -> str:
    who = clinician.strip() or "The on-call clinician"
    return f"{who} is with your partner — join now"


def react(flow: HelpFlow, event: CoupleEvent, *, ours: bool, prompt_shown: bool) -> Reaction:
    """Apply `event` to `flow` (when it is ours) and say what else follows."""
    asking = ours and flow.phase.open
    if isinstance(event, Connected):
        if event.case is None:
            return Reaction(plan_changed=True)
        return _case(flow, event.case, asking, prompt_shown, plan_changed=True, hello=True)
    if isinstance(event, PlanChanged):
        return Reaction(plan_changed=True)
    if isinstance(event, RaisedBy):
        return Reaction() if flow.phase.open else Reaction(prompt=partner_prompt(event.name))
    if isinstance(event, CaseChanged):
        return _case(flow, event.case, asking, prompt_shown)
    if isinstance(event, Accepted):
        if asking:
            flow.accepted(event.clinician)
            return Reaction(open_call=True)
        return Reaction(prompt=accepted_prompt(event.clinician)) if prompt_shown else Reaction()
    if isinstance(event, Ended):
        if ours:
            flow.ended(event.by, event.outcome)
        return Reaction(case_closed=ours, prompt="")
    if ours:
        _progress(flow, event)
    return Reaction()


def _case(
    flow: HelpFlow,
    case: Case,
    asking: bool,
    prompt_shown: bool,
    *,
    plan_changed: bool = False,
    hello: bool = False,
) -> Reaction:
    if asking:
        flow.case(case.case_id, case.state, case.level, case.clinician, case.waited_s)
        return Reaction(plan_changed=plan_changed)
    if not case.open:
        return Reaction(plan_changed=plan_changed, prompt="")
    if hello and not prompt_shown and not flow.phase.open:
        # The app (re)connected while a case is open: the other partner's, or one this
        # computer raised before it restarted. Either way, one click joins it.
        return Reaction(plan_changed=plan_changed, prompt=OPEN_CASE_PROMPT)
    return Reaction(plan_changed=plan_changed)


def _progress(flow: HelpFlow, event: CoupleEvent) -> None:
    if isinstance(event, Offline):
        flow.unreachable()
    elif isinstance(event, Refused):
        log.warning("the clinic refused the join code for emergency connect: %s", event.code)
        flow.refused()
    elif isinstance(event, Declined):
        if event.code == "rate_limited":
            flow.declined()
        else:
            log.info("the emergency server declined a request: %s", event.code)
    elif isinstance(event, Ringing):
        flow.ringing(event.count)
    elif isinstance(event, Escalated):
        flow.escalated(event.level)
    elif isinstance(event, Unanswered):
        flow.unanswered()
