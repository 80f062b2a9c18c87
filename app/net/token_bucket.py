"""A token bucket with an injected clock: how much of something may happen, at what rate.

The bucket holds up to `capacity` tokens and gains `rate` tokens a second; spending `cost`
tokens succeeds only while that many are there. So a burst of up to `capacity` passes at once
and, after that, `rate` a second on average. The session server limits each connection's
messages and bytes with two of them (app/server/rate_limit.py); the client bounds how many
malformed server messages it puts up with (app/call/engine.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable


class TokenBucket:
    """`capacity` tokens at most, `rate` more each second of `now()`; starts full."""

    def __init__(self, rate: float, capacity: float, *, now: Callable[[], float]) -> None:
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(f"rate must be a finite number >= 0, not {rate}")
        if not (math.isfinite(capacity) and capacity > 0):
            raise ValueError(f"capacity must be a finite number > 0, not {capacity}")
        self.rate = rate
        self.capacity = capacity
        self._now = now
        self._tokens = capacity
        self._at = now()

    @property
    def tokens(self) -> float:
        """The tokens there now."""
        self._refill()
        return self._tokens

    def allows(self, cost: float) -> bool:
        """Whether `cost` tokens are there now (nothing is spent)."""
        return self.tokens >= cost

    def take(self, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if they are there; whether they were."""
        if not self.allows(cost):
            return False
        self._tokens -= cost
        return True

    def _refill(self) -> None:
        now = self._now()
        # A clock that steps back (it should not: monotonic) gives nothing and takes nothing.
        elapsed = max(now - self._at, 0.0)
        self._at = now
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
