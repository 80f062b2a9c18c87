"""When to try again after a lost signaling socket or a dead peer link (Qt-free, no I/O).

LiveKit's schedule: the first retry at once (most drops are a blip), then quickly growing waits,
then a steady 7 s so a long outage costs little, and nothing after 10 minutes: a couple's
session has ended by then, and dial-in numbers have been on screen for most of it.
"""

from __future__ import annotations

from collections.abc import Sequence

DELAYS_S: tuple[float, ...] = (0.0, 0.3, 1.2, 2.7, 4.8)
EVERY_S = 7.0
GIVE_UP_AFTER_S = 600.0


class RetrySchedule:
    """`next_delay(now)` after each failure says how long to wait before the next attempt.

    The first call after construction or `reset()` marks the first failure; the give-up clock
    runs from there. Call `reset()` once the thing is back.
    """

    def __init__(
        self,
        delays: Sequence[float] = DELAYS_S,
        *,
        every_s: float = EVERY_S,
        give_up_after_s: float = GIVE_UP_AFTER_S,
    ) -> None:
        if any(d < 0 for d in delays) or every_s <= 0 or give_up_after_s <= 0:
            raise ValueError("retry delays must not be negative and the steady wait positive")
        self.delays = tuple(delays)
        self.every_s = every_s
        self.give_up_after_s = give_up_after_s
        self._attempt = 0
        self._first_failure_at: float | None = None

    @property
    def attempt(self) -> int:
        """How many attempts have been scheduled since the first failure (1 for the first)."""
        return self._attempt

    @property
    def first_failure_at(self) -> float | None:
        return self._first_failure_at

    def next_delay(self, now: float) -> float | None:
        """Seconds to wait before the next attempt, or None: give up (the next attempt would
        start 10 minutes or more after the first failure)."""
        if self._first_failure_at is None:
            self._first_failure_at = now
        index = self._attempt
        delay = self.delays[index] if index < len(self.delays) else self.every_s
        if now + delay - self._first_failure_at >= self.give_up_after_s:
            return None
        self._attempt += 1
        return delay

    def exhausted(self, now: float) -> bool:
        """Whether the time for retries since the first failure has run out."""
        if self._first_failure_at is None:
            return False
        return now - self._first_failure_at >= self.give_up_after_s

    def reset(self) -> None:
        """Back: the next failure starts the schedule (and the give-up clock) afresh."""
        self._attempt = 0
        self._first_failure_at = None
