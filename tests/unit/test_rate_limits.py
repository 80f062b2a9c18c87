"""The token bucket (app/net/token_bucket.py) and the server's per-connection rate limits
(app/server/rate_limit.py), on an injected clock."""

from __future__ import annotations

import math

import pytest

from app.net.signaling_protocol import MAX_MESSAGE_BYTES
from app.net.token_bucket import TokenBucket
from app.server.rate_limit import (
    BYTE_BURST,
    MESSAGE_BURST,
    MESSAGES_PER_S,
    TELL_EVERY_S,
    RateLimits,
    SenderLimiter,
    Verdict,
)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_bucket_starts_full_and_lets_a_burst_through() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, 5, now=clock)
    assert bucket.tokens == 5
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.tokens == 0


def test_a_bucket_refills_at_its_rate_up_to_its_capacity() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, 5, now=clock)
    assert bucket.take(5)
    clock.t += 1.0
    assert bucket.tokens == 2.0
    assert bucket.allows(2) and not bucket.allows(2.5)
    clock.t += 100.0
    assert bucket.tokens == 5  # never more than it holds


def test_a_cost_takes_all_or_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, 10, now=clock)
    assert bucket.take(7)
    assert not bucket.take(4)  # 3 left: nothing taken
    assert bucket.tokens == 3
    assert bucket.take(3)


def test_a_clock_stepping_back_gives_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, 10, now=clock)
    assert bucket.take(10)
    clock.t -= 50.0
    assert bucket.tokens == 0
    clock.t += 1.0  # one second after the step back: one token
    assert bucket.tokens == 1


@pytest.mark.parametrize(
    ("rate", "capacity"), [(-1, 1), (math.nan, 1), (math.inf, 1), (1, 0), (1, math.nan)]
)
def test_a_bucket_refuses_nonsense(rate: float, capacity: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, capacity, now=Clock())


def test_a_bucket_with_no_rate_never_refills() -> None:
    clock = Clock()
    bucket = TokenBucket(0.0, 1, now=clock)
    assert bucket.take()
    clock.t += 1e6
    assert not bucket.take()


# --- the server's limits -----------------------------------------------------------------------


def test_the_limits_let_a_rejoin_through_and_the_largest_message() -> None:
    # A rejoin: join, 3 offers, 3 restarts, some chat lines sent again to each of 3 peers.
    assert MESSAGE_BURST >= 1 + 3 + 3 + 3 * 15
    assert BYTE_BURST >= 4 * MAX_MESSAGE_BYTES
    assert RateLimits().with_heartbeat(0.5).messages_per_s == MESSAGES_PER_S + 2


def test_a_sender_within_its_limits_passes() -> None:
    clock = Clock()
    limiter = SenderLimiter(RateLimits(messages_per_s=1, message_burst=3), now=clock)
    assert [limiter.admit(10) for _ in range(3)] == [Verdict.PASS] * 3
    assert limiter.refused == 0


def test_past_the_burst_the_sender_is_told_once_a_second() -> None:
    clock = Clock()
    limiter = SenderLimiter(RateLimits(messages_per_s=1, message_burst=2), now=clock)
    assert [limiter.admit(10) for _ in range(5)] == [
        Verdict.PASS,
        Verdict.PASS,
        Verdict.TELL,
        Verdict.DROP,
        Verdict.DROP,
    ]
    clock.t += TELL_EVERY_S / 2  # half a token: still over, and told a moment ago
    assert limiter.admit(10) is Verdict.DROP
    clock.t += TELL_EVERY_S / 2  # a token back: passes
    assert limiter.admit(10) is Verdict.PASS
    assert limiter.admit(10) is Verdict.TELL  # over again, and a second since it was told
    assert limiter.refused == 5


def test_bytes_are_limited_too_and_a_refused_message_costs_nothing() -> None:
    clock = Clock()
    limits = RateLimits(messages_per_s=100, message_burst=100, bytes_per_s=100, byte_burst=1000)
    limiter = SenderLimiter(limits, now=clock)
    assert limiter.admit(900) is Verdict.PASS
    assert limiter.admit(200) is Verdict.TELL  # 100 bytes left
    assert limiter.admit(100) is Verdict.PASS  # the refused one took none
    clock.t += 5.0
    assert limiter.admit(500) is Verdict.PASS


def test_a_frame_larger_than_the_byte_burst_passes_a_full_bucket() -> None:
    """So it is refused as too large, which says more than rate_limited."""
    limiter = SenderLimiter(RateLimits(byte_burst=1000), now=Clock())
    assert limiter.admit(10**6) is Verdict.PASS
    assert limiter.admit(1) is Verdict.TELL
