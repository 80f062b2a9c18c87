"""Whether anything still arrives from one remote peer: a per-peer watchdog (Qt-free, no I/O).

aiortc notices a dead path only after ~30 s (ICE consent freshness); the call page must say
"Reconnecting" within about a second. The engine counts the bytes and decoded frames it gets
from each peer and hands the running totals to `observe()` every few hundred milliseconds; the
watchdog turns them into transitions, each said once: `Interrupted`, then `Restored`.

Bytes count on their own: Opus keeps sending through silence, so a quiet person is not an
interrupted one, and neither is someone whose camera is off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

NO_MEDIA = "no_media"
CONNECTION_FAILED = "connection_failed"


@dataclass(frozen=True)
class Interrupted:
    """Nothing came for the limit (`no_media`) or the peer connection failed."""

    reason: str  # NO_MEDIA | CONNECTION_FAILED
    since: float  # the last sign of life: interrupted_for() and ms_interrupted count from here


@dataclass(frozen=True)
class Restored:
    ms_interrupted: float  # from the last sign of life before the interruption to now


WatchdogEvent = Interrupted | Restored


class MediaWatchdog:
    """One per remote peer. Feed `observe()` often; act on what it returns (None: no change).

    Not armed until the first byte or frame arrives: before that the negotiation's own
    deadline decides, and a peer still connecting must not show as "Reconnecting".
    """

    def __init__(self, *, limit_s: float = 1.0) -> None:
        if limit_s <= 0:
            raise ValueError("the watchdog's limit must be positive")
        self.limit_s = limit_s
        self._bytes = 0
        self._frames = 0
        self._beat_at: float | None = None
        self._alive_at: float | None = None  # the last sign of life; None: not armed yet
        self._since: float | None = None  # the interruption's start; None: not interrupted
        self.reason: str | None = None  # why it is interrupted, while it is

    @property
    def armed(self) -> bool:
        return self._alive_at is not None

    @property
    def interrupted(self) -> bool:
        return self._since is not None

    def interrupted_for(self, now: float) -> float:
        """Seconds since the last sign of life while interrupted, else 0 (for "rebuild after
        3 s" and "show the dial-in numbers after 10 s")."""
        if self._since is None:
            return 0.0
        return max(0.0, now - self._since)

    def observe(
        self,
        now: float,
        bytes_received_total: int,
        frames_total: int,
        datachannel_beat_at: float | None = None,
    ) -> WatchdogEvent | None:
        """The running totals from this peer, and when its last data-channel heartbeat came."""
        flowed = _grew(bytes_received_total, self._bytes) or _grew(frames_total, self._frames)
        self._bytes, self._frames = bytes_received_total, frames_total
        beat: float | None = None  # a heartbeat newer than the last one seen
        if datachannel_beat_at is not None and (
            self._beat_at is None or datachannel_beat_at > self._beat_at
        ):
            beat = self._beat_at = datachannel_beat_at
        if self._alive_at is None:
            if flowed:
                self._alive_at = now  # armed; a heartbeat alone does not arm it
            return None
        if flowed:
            self._alive_at = max(self._alive_at, now)
            return self._restore(now) if self._since is not None else None
        if self._since is not None:
            # Only media ends an interruption: the tile must not say "back" while no sound and
            # no picture arrive, even if the data channel is talking again.
            return None
        if beat is not None:
            # A heartbeat keeps a peer that sends no media (no microphone, camera off) from
            # looking gone; it says when the peer last spoke, not when we looked.
            self._alive_at = max(self._alive_at, beat)
        if now - self._alive_at >= self.limit_s:
            return self._interrupt(NO_MEDIA, self._alive_at)
        return None

    def connection_failed(self, now: float) -> Interrupted | None:
        """The peer connection failed: interrupted at once (if armed and not already)."""
        if self._alive_at is None or self._since is not None:
            return None
        return self._interrupt(CONNECTION_FAILED, min(self._alive_at, now))

    def _interrupt(self, reason: str, since: float) -> Interrupted:
        self._since = since
        self.reason = reason
        log.info("peer media flowing -> interrupted (%s)", reason)
        return Interrupted(reason, since)

    def _restore(self, now: float) -> Restored:
        assert self._since is not None
        ms = max(0.0, now - self._since) * 1000.0
        self._since = None
        self.reason = None
        log.info("peer media interrupted -> flowing (after %.0f ms)", ms)
        return Restored(ms)


def _grew(total: int, last: int) -> bool:
    # A total below the last one is a rebuilt peer connection's counter, started again at zero:
    # anything on it at all is new.
    return total > last or 0 < total < last
