"""What each event of the couple's connection does to the help screen (help_events)."""

from __future__ import annotations

import pytest

from app.emergency.events import (
    Accepted,
    CaseChanged,
    Connected,
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
from app.emergency.help_events import OPEN_CASE_PROMPT, Reaction, accepted_prompt, react
from app.emergency.help_flow import CrisisWords, HelpFlow, Phase
from app.emergency.models import CallTicket, Case, Plan

TICKET = CallTicket("http://127.0.0.1:1", "emergency-c1", "t")
PLAN = Plan("1. Breathe.", 1.0)


def case(state: str = "ringing", level: int = 0, clinician: str | None = None) -> Case:
    return Case("c1", state, 1.0, 3.0, level, clinician, None)


def flow(pressed: bool = True) -> HelpFlow:
    made = HelpFlow(CrisisWords(), lambda: 100.0)
    if pressed:
        made.press()
    return made


def phase_of(f: HelpFlow) -> Phase:
    return f.phase


def test_connected_without_a_case_refreshes_the_plan() -> None:
    assert react(flow(), Connected(PLAN, None), ours=True, prompt_shown=False) == Reaction(
        plan_changed=True
    )


def test_connected_with_our_open_request_follows_the_case() -> None:
    f = flow()
    reaction = react(
        f, Connected(PLAN, case("accepted", clinician="Dr Lee")), ours=True, prompt_shown=False
    )
    assert reaction == Reaction(plan_changed=True)
    assert phase_of(f) is Phase.ACCEPTED and f.clinician == "Dr Lee"


def test_connected_while_idle_with_an_open_case_prompts_once() -> None:
    idle = flow(pressed=False)
    reaction = react(idle, Connected(PLAN, case()), ours=True, prompt_shown=False)
    assert reaction.prompt == OPEN_CASE_PROMPT and phase_of(idle) is Phase.IDLE
    shown = react(idle, Connected(PLAN, case()), ours=True, prompt_shown=True)
    assert shown.prompt is None  # the prompt already there (e.g. "Alex asked…") stays


def test_a_closed_case_hides_the_prompt() -> None:
    idle = flow(pressed=False)
    assert react(idle, CaseChanged(case("ended")), ours=True, prompt_shown=True).prompt == ""
    assert react(idle, CaseChanged(case("ringing")), ours=True, prompt_shown=True) == Reaction()


def test_the_plan_changed() -> None:
    assert react(flow(), PlanChanged(PLAN), ours=True, prompt_shown=False).plan_changed


def test_raised_by_prompts_only_when_this_app_asks_nothing() -> None:
    idle = flow(pressed=False)
    assert react(idle, RaisedBy("c1", "Alex"), ours=True, prompt_shown=False).prompt == (
        "Alex asked for help — join now"
    )
    assert react(flow(), RaisedBy("c1", "Alex"), ours=True, prompt_shown=False) == Reaction()


def test_case_changed_moves_our_flow() -> None:
    f = flow()
    react(f, CaseChanged(case("unanswered", level=3)), ours=True, prompt_shown=False)
    assert phase_of(f) is Phase.UNANSWERED


def test_accepted_opens_our_call_or_updates_the_partner_prompt() -> None:
    f = flow()
    assert react(f, Accepted("c1", "Dr Lee", TICKET), ours=True, prompt_shown=False) == Reaction(
        open_call=True
    )
    assert phase_of(f) is Phase.ACCEPTED
    idle = flow(pressed=False)
    assert react(idle, Accepted("c1", "Dr Lee", TICKET), ours=True, prompt_shown=True).prompt == (
        "Dr Lee is with your partner — join now"
    )
    assert react(idle, Accepted("c1", "Dr Lee", TICKET), ours=True, prompt_shown=False) == (
        Reaction()
    )
    assert accepted_prompt(" ") == "The on-call clinician is with your partner — join now"


def test_ended_closes_our_case_and_hides_the_prompt() -> None:
    f = flow()
    reaction = react(f, Ended("c1", "clinician", "safe"), ours=True, prompt_shown=False)
    assert reaction == Reaction(case_closed=True, prompt="")
    assert phase_of(f) is Phase.ENDED
    other = flow()
    assert react(other, Ended("c1", "clinician", "safe"), ours=False, prompt_shown=True) == (
        Reaction(prompt="")
    )
    assert phase_of(other) is Phase.CONNECTING


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Offline("unreachable", 0.5), Phase.OFFLINE),
        (Refused("token_expired", "Expired."), Phase.REFUSED),
        (Declined("rate_limited", "Too many."), Phase.DECLINED),
        (Declined("bad_message", "Huh."), Phase.CONNECTING),
        (Ringing("c1", 1, 2), Phase.RINGING),
        (Escalated("c1", 2), Phase.RINGING),
        (Unanswered("c1"), Phase.UNANSWERED),
    ],
)
@pytest.mark.allow_log_warnings("app.emergency.help_events")
def test_progress_events(event: object, expected: Phase) -> None:
    f = flow()
    assert react(f, event, ours=True, prompt_shown=False) == Reaction()  # type: ignore[arg-type]
    assert phase_of(f) is expected


def test_progress_of_another_connection_is_not_ours() -> None:
    f = flow()
    react(f, Offline("unreachable", 0.5), ours=False, prompt_shown=False)
    assert phase_of(f) is Phase.CONNECTING
