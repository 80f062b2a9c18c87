"""The retry schedule on a fake clock: LiveKit's waits, the steady 7 s, giving up at 10 min."""

from __future__ import annotations

import pytest

from app.call.retry import DELAYS_S, RetrySchedule


def run_until_given_up(schedule: RetrySchedule, start: float = 0.0) -> list[float]:
    """Every attempt fails at once: the times the attempts start, until the schedule gives up."""
    now, starts = start, []
    while (delay := schedule.next_delay(now)) is not None:
        now += delay
        starts.append(now)
    return starts


def test_the_first_waits_are_livekits() -> None:
    schedule = RetrySchedule()
    assert [schedule.next_delay(0.0) for _ in range(7)] == [0.0, 0.3, 1.2, 2.7, 4.8, 7.0, 7.0]
    assert DELAYS_S == (0.0, 0.3, 1.2, 2.7, 4.8)


def test_the_attempt_counts_from_one() -> None:
    schedule = RetrySchedule()
    assert schedule.attempt == 0
    schedule.next_delay(0.0)
    assert schedule.attempt == 1
    schedule.next_delay(0.0)
    assert schedule.attempt == 2


def test_attempts_run_every_7_s_until_10_minutes_after_the_first_failure() -> None:
    starts = run_until_given_up(RetrySchedule(), start=100.0)
    assert starts[:5] == pytest.approx([100.0, 100.3, 101.5, 104.2, 109.0])
    assert all(b - a == pytest.approx(7.0) for a, b in zip(starts[5:], starts[6:], strict=False))
    assert starts[-1] == pytest.approx(697.0)  # 109 + 7 * 84; 704 would be past 100 + 600
    assert len(starts) == 5 + 84


def test_the_give_up_clock_runs_from_the_first_failure_not_the_last() -> None:
    schedule = RetrySchedule()
    assert schedule.next_delay(50.0) == 0.0
    assert schedule.first_failure_at == 50.0
    assert schedule.next_delay(300.0) == 0.3  # slow attempts: the clock still runs from 50
    assert not schedule.exhausted(649.9)
    assert schedule.exhausted(650.0)
    assert schedule.next_delay(649.0) is None  # 649 + 1.2 is past 650


def test_no_attempt_starts_exactly_at_the_deadline() -> None:
    schedule = RetrySchedule(give_up_after_s=10.0)
    schedule.next_delay(0.0)
    assert schedule.next_delay(9.7) is None  # 9.7 + 0.3 = 10.0
    assert schedule.attempt == 1  # a refused attempt is not counted


def test_not_exhausted_before_any_failure() -> None:
    schedule = RetrySchedule()
    assert not schedule.exhausted(1e9)
    assert schedule.first_failure_at is None


def test_reset_starts_the_waits_and_the_clock_afresh() -> None:
    schedule = RetrySchedule()
    run_until_given_up(schedule)
    assert schedule.exhausted(600.0)
    schedule.reset()
    assert schedule.attempt == 0
    assert not schedule.exhausted(5000.0)
    assert schedule.next_delay(5000.0) == 0.0
    assert schedule.next_delay(5000.0) == 0.3
    assert schedule.exhausted(5600.0)


def test_a_reset_during_the_back_off_goes_back_to_the_quick_retries() -> None:
    schedule = RetrySchedule()
    for _ in range(8):
        schedule.next_delay(10.0)
    assert schedule.next_delay(60.0) == 7.0
    schedule.reset()  # back briefly, then lost again
    assert schedule.next_delay(61.0) == 0.0


def test_other_waits_can_be_injected() -> None:
    schedule = RetrySchedule((1.0,), every_s=2.0, give_up_after_s=6.0)
    assert run_until_given_up(schedule) == [1.0, 3.0, 5.0]


@pytest.mark.parametrize(
    ("delays", "every_s", "give_up"), [((-0.1,), 7.0, 600.0), ((0.0,), 0.0, 600.0), ((), 7.0, 0)]
)
def test_nonsense_waits_are_refused(
    delays: tuple[float, ...], every_s: float, give_up: float
) -> None:
    with pytest.raises(ValueError, match="retry delays"):
        RetrySchedule(delays, every_s=every_s, give_up_after_s=give_up)
