"""The case state machine and its escalation, minutes of it driven in milliseconds by a fake
clock (docs/emergency.md, "Escalation")."""

from __future__ import annotations

import math

import pytest

from app.server.emergency.escalation import (
    DEFAULT_FOLLOW_UP_S,
    MAX_FOLLOW_UP_S,
    AcceptResult,
    CancelResult,
    CaseState,
    Escalation,
    EscalationError,
    Timings,
)

T0 = 1_750_000_000.0
LEE, KIM, PARK = "Dr Lee", "Dr Kim", "Dr Park"  # Park is the backup tier
EVERYONE = {LEE: 1, KIM: 1, PARK: 2}


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def case(clock: FakeClock) -> Escalation:
    return Escalation(T0, Timings(), clock)


# Timings


def test_default_timings_are_30_60_90_seconds() -> None:
    timings = Timings()
    timings.check()
    assert timings.offsets() == (30.0, 60.0, 90.0)
    assert [timings.level_after(s) for s in (0, 29.9, 30, 59.9, 60, 90, 10_000)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        3,
    ]


@pytest.mark.parametrize(
    ("timings", "words"),
    [
        (Timings(0, 60, 90), "must be positive"),
        (Timings(30, math.inf, 90), "must be positive"),
        (Timings(30, -1, 90), "must be positive"),
        (Timings(60, 30, 90), "ring_again_s < everyone_s < unanswered_s"),
        (Timings(30, 90, 90), "ring_again_s < everyone_s < unanswered_s"),
    ],
)
def test_timings_out_of_order_or_not_positive_are_refused(timings: Timings, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        timings.check()


# Escalation levels


def test_levels_come_at_30_60_and_90_seconds_and_ringing_goes_on(
    case: Escalation, clock: FakeClock
) -> None:
    assert (case.state, case.level, case.next_due()) == (CaseState.RINGING, 0, T0 + 30)
    clock.now = T0 + 29.999
    assert case.advance() == []
    clock.now = T0 + 30
    assert case.advance() == [1]
    assert (case.state, case.level, case.next_due()) == (CaseState.RINGING, 1, T0 + 60)
    assert case.advance() == []  # nothing new at the same moment
    clock.now = T0 + 60
    assert case.advance() == [2]
    clock.now = T0 + 90
    assert case.advance() == [3]
    assert (case.state, case.level, case.next_due()) == (CaseState.UNANSWERED, 3, None)
    assert case.is_open and case.is_ringing  # unanswered still rings, and a late accept counts
    clock.now = T0 + 500
    assert case.advance() == []


def test_after_a_long_pause_every_level_passed_is_reported_once(
    case: Escalation, clock: FakeClock
) -> None:
    clock.now = T0 + 75  # e.g. the server restarted: escalation resumes from requested_at
    assert case.advance() == [1, 2]
    clock.now = T0 + 120
    assert case.advance() == [3]
    assert case.state is CaseState.UNANSWERED


def test_a_restored_case_carries_on_from_its_level(clock: FakeClock) -> None:
    clock.now = T0 + 95
    restored = Escalation(T0, Timings(), clock, state=CaseState.RINGING, level=2)
    assert restored.next_due() == T0 + 90
    assert restored.advance() == [3]
    held = Escalation(T0, Timings(), clock, state=CaseState.ACCEPTED, level=1, clinician=LEE)
    assert (held.next_due(), held.advance(), held.clinician) == (None, [], LEE)


def test_waited_s_never_goes_below_zero(case: Escalation, clock: FakeClock) -> None:
    clock.now = T0 - 5  # a clock stepped back
    assert case.waited_s() == 0.0
    clock.now = T0 + 12.5
    assert case.waited_s() == 12.5


# Who is rung


def test_at_the_request_tier_1_is_rung(case: Escalation) -> None:
    assert case.ring(EVERYONE) == {LEE: 1, KIM: 1}
    assert case.rung == {LEE: 1, KIM: 1}
    assert case.ringing_tier(EVERYONE) == 1


def test_with_no_tier_1_available_tier_2_is_rung_at_once(case: Escalation) -> None:
    assert case.ring({PARK: 2}) == {PARK: 2}
    assert case.ringing_tier({PARK: 2}) == 2


def test_with_nobody_available_nobody_is_rung(case: Escalation) -> None:
    assert case.ring({}) == {}
    assert case.ringing_tier({}) == 1


def test_from_level_1_every_tier_is_rung_again(case: Escalation, clock: FakeClock) -> None:
    case.ring(EVERYONE)
    clock.now = T0 + 30
    case.advance()
    assert case.ring(EVERYONE) == EVERYONE  # tier 1 again, and tier 2
    assert case.ringing_tier(EVERYONE) == 2
    assert case.ringing_tier({LEE: 1}) == 1  # no backup available: only the first line rings
    clock.now = T0 + 60
    case.advance()
    assert case.targets(EVERYONE) == EVERYONE


def test_a_clinician_who_becomes_available_is_rung_at_once_if_its_tier_is_rung(
    case: Escalation, clock: FakeClock
) -> None:
    case.ring({LEE: 1})
    assert case.ring_newcomer(KIM, {LEE: 1, KIM: 1}) == 1
    assert case.ring_newcomer(PARK, {LEE: 1, KIM: 1, PARK: 2}) is None  # backup not yet
    assert PARK not in case.rung
    clock.now = T0 + 30
    case.advance()
    assert case.ring_newcomer(PARK, EVERYONE) == 2
    assert case.rung == EVERYONE


def test_a_case_that_no_longer_rings_rings_nobody(case: Escalation) -> None:
    case.ring(EVERYONE)
    assert case.accept(LEE) is AcceptResult.ACCEPTED
    assert case.targets(EVERYONE) == {}
    assert case.ring_newcomer(PARK, EVERYONE) is None
    assert case.next_due() is None and case.advance() == []


# Accept, cancel, end


def test_the_first_accept_wins_and_later_ones_find_it_taken(case: Escalation) -> None:
    case.ring(EVERYONE)
    assert case.accept(KIM) is AcceptResult.ACCEPTED
    assert (case.state, case.clinician) == (CaseState.ACCEPTED, KIM)
    assert case.accept(LEE) is AcceptResult.TAKEN
    assert case.accept(KIM) is AcceptResult.TAKEN
    assert case.clinician == KIM


def test_only_a_rung_clinician_may_accept(case: Escalation) -> None:
    case.ring({LEE: 1})
    assert case.accept(PARK) is AcceptResult.NOT_RUNG
    assert case.state is CaseState.RINGING


def test_an_unanswered_case_can_still_be_accepted(case: Escalation, clock: FakeClock) -> None:
    clock.now = T0 + 90
    case.advance()
    case.ring({PARK: 2})
    assert case.accept(PARK) is AcceptResult.ACCEPTED
    assert (case.state, case.level) == (CaseState.ACCEPTED, 3)


def test_cancel_closes_a_ringing_or_unanswered_case(case: Escalation, clock: FakeClock) -> None:
    case.ring(EVERYONE)
    assert case.cancel() is CancelResult.CANCELLED
    assert case.state is CaseState.CANCELLED and not case.is_open
    assert case.cancel() is CancelResult.CLOSED
    assert case.accept(LEE) is AcceptResult.CLOSED
    later = Escalation(T0, Timings(), clock)
    clock.now = T0 + 100
    later.advance()
    assert later.cancel() is CancelResult.CANCELLED


def test_cancel_on_an_accepted_case_is_for_the_clinician_to_end(case: Escalation) -> None:
    case.ring(EVERYONE)
    case.accept(LEE)
    assert case.cancel() is CancelResult.TELL_CLINICIAN
    assert case.state is CaseState.ACCEPTED


def test_end_sets_the_follow_up_due_in_24_hours_by_default(
    case: Escalation, clock: FakeClock
) -> None:
    case.ring(EVERYONE)
    case.accept(LEE)
    clock.now = T0 + 600
    assert case.end(LEE, "safe") == T0 + 600 + DEFAULT_FOLLOW_UP_S
    assert case.state is CaseState.ENDED and not case.is_open
    assert case.accept(KIM) is AcceptResult.CLOSED
    assert case.cancel() is CancelResult.CLOSED


def test_end_takes_a_follow_up_within_7_days(case: Escalation, clock: FakeClock) -> None:
    case.ring(EVERYONE)
    case.accept(LEE)
    assert case.end(LEE, "referred", T0 + MAX_FOLLOW_UP_S) == T0 + MAX_FOLLOW_UP_S


@pytest.mark.parametrize("due", [T0, T0 - 1, T0 + MAX_FOLLOW_UP_S + 1, math.nan, math.inf])
def test_a_follow_up_in_the_past_or_beyond_7_days_is_refused(case: Escalation, due: float) -> None:
    case.ring(EVERYONE)
    case.accept(LEE)
    with pytest.raises(EscalationError, match="at most 7 days"):
        case.end(LEE, "safe", due)
    assert case.state is CaseState.ACCEPTED


def test_only_the_clinician_holding_the_case_ends_it_with_a_known_outcome(
    case: Escalation,
) -> None:
    case.ring(EVERYONE)
    with pytest.raises(EscalationError, match="holding the case"):
        case.end(LEE, "safe")  # still ringing
    case.accept(LEE)
    with pytest.raises(EscalationError, match="holding the case"):
        case.end(KIM, "safe")
    with pytest.raises(EscalationError, match="outcome must be one of"):
        case.end(LEE, "fine")
    assert case.state is CaseState.ACCEPTED
