"""The video ladder's last rung: audio only, per remote peer (Qt-free, no I/O).

When the link to one peer cannot carry even the smallest video, sending video only takes the
bits the voices need: audio only engages after a few seconds of heavy loss of what we send, a
round trip over a second, or the peer's bandwidth estimate for our video (its REMB) below the
smallest rung. Not the bits that left: those also fall when this machine is short of CPU or the
picture is still (app.call.video_profile has the measurement). It sits beside
`app.call.video_profile.VideoAdapter` (which picks the size of the one shared track) and decides
per peer whether that peer gets video at all.

Coming back is slow on purpose: a picture that returns and vanishes again is worse than a steady
voice, so video returns after 30 s clean, and the wait doubles each time video went away again
soon after coming back (at most 5 min). The person can override either way.
"""

from __future__ import annotations

import collections
import enum
import logging
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.call.events import PeerStats
from app.call.video_profile import LADDER, VideoProfile

log = logging.getLogger(__name__)

AUDIO_ONLY_RUNG = "audio_only"

# What the encoder is held to per rung, in kbit/s: the one table the sender reads. Keyed by the
# rung's str() ("640x360@15"); audio only sends no video at all.
RUNG_CAPS_KBPS: Mapping[str, float] = MappingProxyType(
    {
        "640x360@15": 600.0,
        "480x270@15": 350.0,
        "320x180@15": 200.0,
        "320x180@10": 130.0,
        AUDIO_ONLY_RUNG: 0.0,
    }
)
SMALLEST_VIDEO_KBPS = RUNG_CAPS_KBPS[str(LADDER[-1])]


def cap_kbps(profile: VideoProfile | None) -> float:
    """The video bitrate cap for a rung (None: audio only). A rung off the table (a camera's own
    top from `ladder_for`) gets the top rung's cap scaled by pixels per second."""
    if profile is None:
        return RUNG_CAPS_KBPS[AUDIO_ONLY_RUNG]
    known = RUNG_CAPS_KBPS.get(str(profile))
    if known is not None:
        return known
    top = LADDER[0]
    scale = (profile.width * profile.height * profile.fps) / (top.width * top.height * top.fps)
    return round(RUNG_CAPS_KBPS[str(top)] * scale, 1)


class MediaMode(enum.Enum):
    VIDEO = "video"  # the values are PeerStats.mode and MediaModeChanged.mode
    AUDIO_ONLY = "audio_only"


@dataclass(frozen=True)
class ModeChange:
    mode: MediaMode
    reason: str  # "loss" | "rtt" | "starved" | "clean" | "user"


@dataclass(frozen=True)
class ModeSettings:
    """Thresholds; the defaults suit a call, tests may inject others."""

    window_s: float = 3.0  # how long it must stay bad before audio only engages
    lossy_pct: float = 10.0  # outgoing loss at or above this is bad
    slow_rtt_ms: float = 1000.0  # a round trip above this is bad
    # The peer's estimate for our video on average over the window below this (camera on):
    # starved. Half the smallest rung's cap, as the video ladder's own starved share; no Opus
    # term, the estimate covers our video alone.
    starved_kbps: float = SMALLEST_VIDEO_KBPS * 0.5
    fall_memory_s: float = 10.0  # ... and only if it fell within this long (as the ladder's)
    clean_pct: float = 2.0  # a second is clean at or below this loss ...
    clean_rtt_ms: float = 500.0  # ... and a round trip at or below this (or none reported)
    clean_wait_s: float = 30.0  # clean this long before video returns
    max_wait_s: float = 300.0  # the doubled wait stops growing here
    flap_window_s: float = 60.0  # audio only again this soon after video returned: a flap


class MediaModePolicy:
    """One per remote peer: feed `update()` that peer's stats each second; apply what it returns.

    Each update covers the stretch since the previous one, so "bad for 3 s" is three bad
    one-second updates (four for the very first, which has no previous one to start from).
    """

    def __init__(self, settings: ModeSettings | None = None) -> None:
        self.settings = settings or ModeSettings()
        self.mode = MediaMode.VIDEO
        self.pinned = False  # "Stay on audio": only the person brings video back
        self.since: float | None = None  # when the current mode began (None: from the start)
        self._wait_s = self.settings.clean_wait_s
        self._last_at: float | None = None
        self._bad_since: float | None = None
        self._clean_since: float | None = None
        self._rates: collections.deque[tuple[float, float]] = collections.deque()
        self._losses: collections.deque[tuple[float, float]] = collections.deque()
        self._losses_since: float | None = None
        self._rates_since: float | None = None
        self._fell_at: float | None = None  # when the peer's estimate last fell
        self._last_kbps: float | None = None  # its estimate a second ago
        self._video_back_at: float | None = None  # video returned then: a flap if it goes again

    @property
    def wait_s(self) -> float:
        """How long it must stay clean before video returns, flaps counted."""
        return self._wait_s

    def update(self, now: float, stats: PeerStats, *, camera_on: bool = True) -> ModeChange | None:
        """One stats second for this peer. Starvation is judged on `stats.estimate_out_kbps`
        (no estimate yet: no evidence). With the camera off, black frames are tiny once encoded
        and the estimate, which rises with what arrives, says nothing."""
        start = self._last_at if self._last_at is not None else now
        self._last_at = now
        if self.mode is MediaMode.AUDIO_ONLY:
            return self._watch_audio(now, start, stats)
        held = self._video_back_at
        if held is not None and now - held >= self.settings.flap_window_s:
            self._video_back_at = None  # video held: the link is good again, forget the flaps
            self._wait_s = self.settings.clean_wait_s
        if self._lossy(now, start, stats.packet_loss_out_pct):
            return self._to_audio(now, "loss")
        if not self._slow(stats):
            self._bad_since = None
        else:
            self._bad_since = start if self._bad_since is None else self._bad_since
            if now - self._bad_since >= self.settings.window_s:
                return self._to_audio(now, "rtt")
        kbps = stats.estimate_out_kbps
        if not camera_on or kbps is None:  # black frames, or no REMB from this peer yet
            self._forget_rates()
            return None
        if self._starved(now, start, kbps):
            return self._to_audio(now, "starved")
        return None

    def no_evidence(self) -> None:
        """A stretch the figures say nothing about (nothing arrives from the peer, no receiver
        report, a connection just made): the streaks start again after it, so seconds from
        before it never join seconds after it into "bad for 3 s"."""
        self._last_at = None
        self._bad_since = self._clean_since = self._losses_since = None
        self._forget_rates()
        self._losses.clear()

    def try_video(self, now: float) -> ModeChange | None:
        """The person's "Try video again": video now; going bad again soon is a flap."""
        self.pinned = False
        if self.mode is MediaMode.VIDEO:
            return None
        self._video_back_at = now
        return self._set(now, MediaMode.VIDEO, "user")

    def stay_on_audio(self, now: float) -> ModeChange | None:
        """The person's "Stay on audio": audio only until they ask for video."""
        self.pinned = True
        self._video_back_at = None  # leaving video by choice is not a flap
        if self.mode is MediaMode.AUDIO_ONLY:
            return None
        return self._set(now, MediaMode.AUDIO_ONLY, "user")

    def _slow(self, stats: PeerStats) -> bool:
        return stats.rtt_ms is not None and stats.rtt_ms > self.settings.slow_rtt_ms

    def _lossy(self, now: float, start: float, loss: float | None) -> bool:
        """Outgoing loss at or above the threshold over the window, by the median of its
        seconds: one report's figure swings widely around the link's loss (measured: 5 to 21 %
        a second at 15 %), so "each second" engages late, and the mean lets one outlier (the
        report that covers an outage) decide alone."""
        if loss is None:  # no report this second: no evidence either way
            return False
        window = self.settings.window_s
        if self._losses_since is None:
            self._losses_since = start
        self._losses.append((now, loss))
        while self._losses[0][0] <= now - window:
            self._losses.popleft()
        if now - self._losses_since < window:
            return False
        return statistics.median(pct for _, pct in self._losses) >= self.settings.lossy_pct

    def _forget_rates(self) -> None:
        self._rates.clear()
        self._rates_since = self._fell_at = self._last_kbps = None

    def _starved(self, now: float, start: float, kbps: float) -> bool:
        """The estimate low on average over the window, and fallen lately: aiortc's estimator
        starts from the first seconds' throughput and only falls when it sees the link queue
        up, so a low one that never fell says how little was sent, not what the link carries
        (app.call.video_profile has the measurement)."""
        window = self.settings.window_s
        if self._rates_since is None:
            self._rates_since = start
        if self._last_kbps is not None and kbps < self._last_kbps:
            self._fell_at = now
        self._last_kbps = kbps
        self._rates.append((now, kbps))
        while self._rates[0][0] <= now - window:
            self._rates.popleft()
        if now - self._rates_since < window:
            return False
        if self._fell_at is None or now - self._fell_at > self.settings.fall_memory_s:
            return False
        return sum(r for _, r in self._rates) / len(self._rates) < self.settings.starved_kbps

    def _watch_audio(self, now: float, start: float, stats: PeerStats) -> ModeChange | None:
        if self.pinned:
            return None
        # No receiver report for a while (rtt_stale) is no evidence of a clean link.
        clean = (
            (stats.packet_loss_out_pct or 0.0) <= self.settings.clean_pct
            and not stats.rtt_stale
            and (stats.rtt_ms is None or stats.rtt_ms <= self.settings.clean_rtt_ms)
        )
        if not clean:
            self._clean_since = None
            return None
        self._clean_since = start if self._clean_since is None else self._clean_since
        if now - self._clean_since < self._wait_s:
            return None
        self._video_back_at = now
        return self._set(now, MediaMode.VIDEO, "clean")

    def _to_audio(self, now: float, reason: str) -> ModeChange:
        if self._video_back_at is not None:  # video came back only lately: a flap
            self._wait_s = min(self._wait_s * 2, self.settings.max_wait_s)
            self._video_back_at = None
        return self._set(now, MediaMode.AUDIO_ONLY, reason)

    def _set(self, now: float, mode: MediaMode, reason: str) -> ModeChange:
        log.info("media mode %s -> %s (%s)", self.mode.value, mode.value, reason)
        self.mode = mode
        self.since = now
        self._bad_since = self._clean_since = self._losses_since = None
        self._forget_rates()  # estimates from the other mode say nothing about this one
        self._losses.clear()
        return ModeChange(mode, reason)
