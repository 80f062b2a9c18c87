"""How much one connection may send the session server, and what happens past it.

A real call sends little. Once: `join`. Steadily: a `ping` every heartbeat_s (1 s by default).
Per peer (a room holds at most 3 others), now and then: an offer or an answer when a link is
made or rebuilt, a `restart` or two while one is rebuilt (0, 0.3, 1.2 s apart at first), chat
lines a person types and their acknowledgements. The busiest moment is coming back after an
outage: `join`, an offer or a `restart` to each peer, the chat lines typed meanwhile sent again
to each of them: some tens of messages within a second. So:

- MESSAGES_PER_S = 20 a second, on average: several times a busy call, and on top of it one a
  heartbeat for the pings (a server with a short heartbeat gets more).
- MESSAGE_BURST = 60 at once: a rejoin's burst (3 offers, 3 restarts, up to 50 chat lines and
  acks) with room to spare.
- BYTES_PER_S = 64 KiB a second: an SDP offer with all its candidates is 3-10 KiB.
- BYTE_BURST = 256 KiB at once: four messages of the largest size (64 KiB), or every offer of
  a rejoin many times over.

Past a limit, a message is dropped unread and the sender hears a non-fatal `rate_limited`
error (at most once a second, so the errors cannot pile up for a sender that does not read
them). Nothing else changes: the connection, its place in the room and everyone else's
messages are as they were. Each connection has its own allowance, so one participant's burst
costs no one else anything (docs/protocol.md, "Rate limits").
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace

from app.net.signaling_protocol import MAX_MESSAGE_BYTES
from app.net.token_bucket import TokenBucket

MESSAGES_PER_S = 20.0
MESSAGE_BURST = 60
BYTES_PER_S = 64 * 1024
BYTE_BURST = 256 * 1024
assert BYTE_BURST >= MAX_MESSAGE_BYTES  # the largest message a client may send can pass
# How often a sender over its limit is told so: once per second of refusals at most.
TELL_EVERY_S = 1.0


@dataclass(frozen=True)
class RateLimits:
    messages_per_s: float = MESSAGES_PER_S
    message_burst: float = MESSAGE_BURST
    bytes_per_s: float = BYTES_PER_S
    byte_burst: float = BYTE_BURST

    def with_heartbeat(self, heartbeat_s: float) -> RateLimits:
        """These limits plus the pings a client sends at the server's heartbeat."""
        return replace(self, messages_per_s=self.messages_per_s + 1.0 / heartbeat_s)


class Verdict(enum.Enum):
    PASS = "pass"  # within the limits: handle it
    TELL = "tell"  # over a limit: drop it, and send the sender `rate_limited`
    DROP = "drop"  # over a limit, and the sender was told within TELL_EVERY_S: drop it


class SenderLimiter:
    """One connection's allowance: a bucket of messages and one of bytes."""

    def __init__(self, limits: RateLimits, *, now: Callable[[], float]) -> None:
        self._now = now
        self._messages = TokenBucket(limits.messages_per_s, limits.message_burst, now=now)
        self._bytes = TokenBucket(limits.bytes_per_s, limits.byte_burst, now=now)
        self._told_at: float | None = None
        self.refused = 0  # messages dropped, for the log when the connection ends

    def admit(self, size: int) -> Verdict:
        """The verdict on one more message of `size` bytes. A frame larger than the byte burst
        passes on a full bucket (and is then refused as too large, which says more)."""
        size = min(size, int(self._bytes.capacity))
        if self._messages.allows(1) and self._bytes.allows(size):
            self._messages.take(1)
            self._bytes.take(size)
            return Verdict.PASS
        self.refused += 1
        now = self._now()
        if self._told_at is not None and now - self._told_at < TELL_EVERY_S:
            return Verdict.DROP
        self._told_at = now
        return Verdict.TELL
