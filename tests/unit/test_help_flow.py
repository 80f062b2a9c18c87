"""The help screen's state machine (app.emergency.help_flow) and its words, with a fake clock."""

from __future__ import annotations

import pytest

from app.emergency.help_flow import (
    OFFLINE_AFTER_S,
    CrisisWords,
    HelpFlow,
    Phase,
    Press,
    clock_text,
)
from app.emergency.help_words import describe, partner_prompt

WORDS = CrisisWords(crisis_line="116 123", emergency_number="112")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def flow(clock: Clock) -> HelpFlow:
    return HelpFlow(WORDS, clock)


def phase_of(flow: HelpFlow) -> Phase:
    """The phase read afresh (an assert on `flow.phase` narrows it for the type checker)."""
    return flow.phase


def started(flow: HelpFlow) -> HelpFlow:
    assert flow.press() is Press.REQUEST
    return flow


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (7.9, "0:07"), (95, "1:35"), (3723, "1:02:03"), (-4, "0:00")],
)
def test_clock_text(seconds: float, text: str) -> None:
    assert clock_text(seconds) == text


def test_idle_says_where_the_numbers_are(flow: HelpFlow) -> None:
    view = describe(flow)
    assert view.phase is Phase.IDLE and not view.can_cancel and not flow.ticking


def test_a_press_shows_the_live_status_from_the_first_second(flow: HelpFlow, clock: Clock) -> None:
    started(flow)
    assert phase_of(flow) is Phase.CONNECTING and flow.ticking
    assert describe(flow).headline == "Calling the on-call clinician… 0:00"
    clock.t += 1.2
    assert not flow.tick()
    view = describe(flow)
    assert view.headline == "Calling the on-call clinician… 0:01"
    assert view.can_cancel and not view.lead_with_numbers
    assert "crisis line" in view.detail


def test_no_answer_in_time_is_offline_and_leads_with_the_numbers_and_plan(
    flow: HelpFlow, clock: Clock
) -> None:
    started(flow)
    clock.t += OFFLINE_AFTER_S
    assert flow.tick()
    assert not flow.tick()  # once
    view = describe(flow)
    assert view.phase is Phase.OFFLINE
    assert view.headline == "Tandem cannot reach your clinic. Call the crisis line now: 116 123."
    assert view.lead_with_numbers and view.show_plan and view.retrying and view.can_cancel
    assert "keeps trying in the background" in view.detail and "call 112" in view.detail
    assert OFFLINE_AFTER_S < 2.0  # the promise: the card within 2 s


def test_unreachable_at_once_is_offline_at_once(flow: HelpFlow) -> None:
    started(flow).unreachable()
    assert phase_of(flow) is Phase.OFFLINE
    flow.unreachable()
    assert phase_of(flow) is Phase.OFFLINE


def test_unreachable_while_idle_changes_nothing(flow: HelpFlow) -> None:
    flow.unreachable()
    assert phase_of(flow) is Phase.IDLE


def test_a_late_connection_takes_the_offline_request_on(flow: HelpFlow, clock: Clock) -> None:
    started(flow).unreachable()
    clock.t += 20
    flow.case("c1", "ringing", waited_s=0.5)
    assert phase_of(flow) is Phase.RINGING
    # The timer still counts from the click, not from the server's late start.
    assert describe(flow).headline.endswith("0:20")


def test_ringing_counts_the_clinicians(flow: HelpFlow) -> None:
    started(flow).ringing(3)
    assert phase_of(flow) is Phase.RINGING
    assert "3 on-call clinicians are being called now." in describe(flow).detail
    flow.ringing(1)
    assert "Your clinic's on-call clinician is being called now." in describe(flow).detail
    flow.ringing(0)
    assert "No on-call clinician is free this very moment" in describe(flow).detail


def test_escalation_words(flow: HelpFlow, clock: Clock) -> None:
    started(flow).case("c1", "ringing")
    before = describe(flow).moment
    clock.t += 5
    assert describe(flow).moment == before  # the timer ticks; the moment is the same
    clock.t += 26
    flow.escalated(1)
    view = describe(flow)
    assert view.moment != before and view.level == 1
    assert view.headline == "Calling the on-call clinician… 0:31"
    assert "backup clinician" in view.detail and not view.lead_with_numbers
    clock.t += 30
    flow.escalated(2)
    view = describe(flow)
    assert view.headline == "Still trying to reach a clinician… 1:01"
    assert "Please call the crisis line now: 116 123." in view.detail
    assert view.lead_with_numbers
    clock.t += 30
    flow.escalated(3)
    view = describe(flow)
    assert view.phase is Phase.UNANSWERED
    assert view.headline == "Call the crisis line now: 116 123. In immediate danger, call 112."
    assert view.show_plan and view.retrying and "Waiting 1:31" in view.detail


def test_unanswered_event_and_a_late_accept(flow: HelpFlow) -> None:
    started(flow).case("c1", "ringing")
    flow.unanswered()
    assert phase_of(flow) is Phase.UNANSWERED and flow.level == 3
    flow.case("c1", "ringing", level=3)  # still ringing everyone: stays unanswered
    assert phase_of(flow) is Phase.UNANSWERED
    flow.accepted("Dr Lee")
    view = describe(flow)
    assert view.phase is Phase.ACCEPTED and view.clinician == "Dr Lee"
    assert view.headline == "Dr Lee answered. The video call is opening…"
    assert not flow.ticking and view.can_cancel


def test_a_case_message_drives_the_phase(flow: HelpFlow) -> None:
    started(flow).case("c1", "unanswered", level=3)
    assert phase_of(flow) is Phase.UNANSWERED
    flow.case("other", "accepted", clinician="Dr X")  # not our case
    assert phase_of(flow) is Phase.UNANSWERED
    flow.case("c1", "accepted", clinician="Dr Lee")
    assert phase_of(flow) is Phase.ACCEPTED and flow.clinician == "Dr Lee"
    flow.case("c1", "ended")
    assert phase_of(flow) is Phase.ENDED
    flow.case("c1", "ringing")  # closed: nothing moves it back
    assert phase_of(flow) is Phase.ENDED


def test_a_case_at_level_three_while_ringing_is_unanswered(flow: HelpFlow) -> None:
    started(flow).case("c1", "ringing", level=3)
    assert phase_of(flow) is Phase.UNANSWERED


def test_a_cancelled_case_from_the_server(flow: HelpFlow) -> None:
    started(flow).case("c1", "cancelled")
    assert phase_of(flow) is Phase.CANCELLED


def test_an_accept_without_a_name_still_says_who(flow: HelpFlow) -> None:
    started(flow).accepted("  ")
    assert describe(flow).headline.startswith("The on-call clinician answered.")


def test_joining_a_partners_case_counts_from_their_click(flow: HelpFlow, clock: Clock) -> None:
    started(flow).case("c1", "ringing", waited_s=42)
    assert describe(flow).headline.endswith("0:42")


def test_pressing_again_joins_the_same_case(flow: HelpFlow) -> None:
    started(flow).case("c1", "ringing")
    assert flow.press() is Press.REQUEST
    assert flow.case_id == "c1" and flow.phase is Phase.RINGING


def test_cancel_returns_the_case_and_closes(flow: HelpFlow) -> None:
    assert flow.cancel() is None  # nothing open
    started(flow)
    assert flow.cancel() is None  # no case yet: only the pending request is dropped
    assert phase_of(flow) is Phase.CANCELLED
    started(flow).case("c2", "ringing")
    assert flow.cancel() == "c2"
    view = describe(flow)
    assert view.headline == "Your request for help is cancelled." and not view.can_cancel
    assert not flow.ticking
    # After a cancel, a press starts afresh.
    assert flow.press() is Press.REQUEST and flow.case_id is None


def test_ended_by_the_clinician_or_the_couple(flow: HelpFlow) -> None:
    started(flow).accepted("Dr Lee")
    flow.ended("clinician", "safe")
    assert phase_of(flow) is Phase.ENDED and flow.outcome == "safe"
    assert "follow up" in describe(flow).detail
    started(flow).ended("couple")
    assert phase_of(flow) is Phase.CANCELLED
    flow.ended("clinician")  # already closed
    assert phase_of(flow) is Phase.CANCELLED


def test_refused_join_code(flow: HelpFlow) -> None:
    flow.refused()
    assert phase_of(flow) is Phase.IDLE
    started(flow).refused()
    view = describe(flow)
    assert view.phase is Phase.REFUSED and view.lead_with_numbers and view.show_plan
    assert "did not accept the join code" in view.detail and not view.can_cancel


def test_declined_request(flow: HelpFlow) -> None:
    started(flow).declined()
    view = describe(flow)
    assert view.phase is Phase.DECLINED and view.headline.startswith("Call the crisis line")
    started(flow).case("c1", "ringing")
    flow.declined()  # a request that joined an open case: the case goes on
    assert phase_of(flow) is Phase.RINGING


def test_without_a_join_code_the_card_says_so(clock: Clock) -> None:
    flow = HelpFlow(WORDS, clock, has_code=False)
    assert flow.press() is Press.SHOW
    view = describe(flow)
    assert view.phase is Phase.NO_CODE and view.lead_with_numbers and view.show_plan
    assert "does not have your join code" in view.detail
    assert view.headline == "Call the crisis line now: 116 123."


def test_practice_mode_never_pretends(clock: Clock) -> None:
    flow = HelpFlow(WORDS, clock, practice_mode=True)
    assert flow.press() is Press.SHOW
    view = describe(flow)
    assert view.phase is Phase.PRACTICE and not view.can_cancel and not flow.ticking
    assert "no clinician is on call" in view.detail
    assert "Practice the help button" in view.detail
    assert "Calling" not in view.headline


def test_the_practice_run_goes_through_the_flow_and_says_it_is_practice(
    clock: Clock,
) -> None:
    flow = HelpFlow(WORDS, clock, practice_mode=True)
    assert flow.practise() is Press.REQUEST
    assert phase_of(flow) is Phase.CONNECTING and flow.practice_run
    view = describe(flow)
    assert view.practice_run and view.detail.startswith("Practice run: the on-call clinician is")
    assert flow.practise() is Press.REQUEST  # again: the same practice case
    flow.case("p1", "ringing")
    flow.accepted("Practice clinician")
    assert describe(flow).headline.startswith("Practice clinician answered.")
    # A real press in the middle of a practice run shows the real numbers, honestly.
    assert flow.press() is Press.SHOW
    assert phase_of(flow) is Phase.PRACTICE and not flow.practice_run


def test_a_real_press_is_not_joined_by_practising(clock: Clock) -> None:
    flow = HelpFlow(WORDS, clock)
    started(flow)
    assert flow.practise() is Press.SHOW and not flow.practice_run


def test_events_that_do_not_apply_are_ignored(flow: HelpFlow) -> None:
    flow.escalated(2)
    flow.unanswered()
    flow.accepted("Dr Lee")
    flow.ringing(2)
    flow.declined()
    flow.case("c1", "ringing")
    assert phase_of(flow) is Phase.IDLE and flow.tick() is False


def test_partner_prompt() -> None:
    assert partner_prompt("Alex") == "Alex asked for help — join now"
    assert partner_prompt(" ") == "Your partner asked for help — join now"
    assert partner_prompt(None) == "Your partner asked for help — join now"


@pytest.mark.parametrize(
    ("words", "unanswered", "offline"),
    [
        (
            CrisisWords(crisis_line="", emergency_number="112", clinic_phone="+49 30 1234"),
            "Call your clinic now: +49 30 1234. In immediate danger, call 112.",
            "Tandem cannot reach your clinic. Call your clinic now: +49 30 1234.",
        ),
        (
            CrisisWords(crisis_line="", emergency_number="112"),
            "Call 112 now.",
            "Tandem cannot reach your clinic. Call 112 now.",
        ),
    ],
)
def test_without_a_crisis_line_the_words_name_the_clinic_or_the_emergency_number(
    clock: Clock, words: CrisisWords, unanswered: str, offline: str
) -> None:
    """Item 8 of issue 10: no crisis line where the couple lives means none is named."""
    flow = HelpFlow(words, clock)
    started(flow).case("c1", "ringing")
    flow.escalated(1)
    assert "crisis line" not in describe(flow).detail
    flow.escalated(2)
    assert "crisis line" not in describe(flow).detail
    assert words.talk_number in describe(flow).detail
    flow.unanswered()
    assert describe(flow).headline == unanswered
    other = HelpFlow(words, clock)
    started(other).unreachable()
    view = describe(other)
    assert view.headline == offline
    assert "crisis line" not in view.headline + view.detail
